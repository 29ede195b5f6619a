"""Switches for graph recording: no_grad, enable_grad, set_grad_enabled, inference_mode."""
from __future__ import annotations

import functools

_enabled = True


def is_grad_enabled() -> bool:
    return _enabled


def _set(mode: bool) -> bool:
    global _enabled
    prev, _enabled = _enabled, bool(mode)
    return prev


class _Mode:
    """Context manager and decorator that sets grad mode for its body."""

    _mode = True

    def __enter__(self):
        self._prev = _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_Mode):
    """Records no graph inside: results do not require grad."""

    _mode = False


class enable_grad(_Mode):
    _mode = True


class set_grad_enabled(_Mode):
    """``set_grad_enabled(False)`` works as a call (takes effect at once), a context manager or a decorator."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = _set(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        _set(self._prev)
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_Mode):
    """Like no_grad (heron has no separate inference tensors)."""

    def __init__(self, mode: bool = True):
        self._mode = not mode

    def __call__(self, fn):
        mode = not self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    return False
