"""Runnable examples: ``python -m heron.examples.<name>``."""
