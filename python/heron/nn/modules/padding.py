"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad (1d,
2d, 3d), each F.pad with its mode, with torch's constructor arguments and repr. ``padding``
is an int (every side) or a tuple (left, right[, top, bottom[, front, back]])."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from .utils import _ntuple


class _PadNd(Module):
    """F.pad(input, padding, mode) over the last ``_dims`` dims."""

    mode = None
    _dims = None

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(2 * self._dims)(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    _dims = 3


class _ZeroPad:
    """Constant padding with zeros (its repr shows only the padding)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    pass


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    pass


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    pass


class ReflectionPad1d(_PadNd):
    mode, _dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    mode, _dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    mode, _dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    mode, _dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    mode, _dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    mode, _dims = "replicate", 3


class _CircularPadNd(_PadNd):
    """Circular padding; as torch, the layer accepts only (batched or not) inputs of its rank."""

    mode = "circular"

    def forward(self, input):
        if input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input (got {input.ndim}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    _dims = 1


class CircularPad2d(_CircularPadNd):
    _dims = 2


class CircularPad3d(_CircularPadNd):
    _dims = 3
