"""heron.nn.utils: gradient clipping and parameter/vector conversion, as in torch.nn.utils."""
