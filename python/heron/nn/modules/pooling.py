"""Pooling layers: MaxPool, AvgPool, LPPool, AdaptiveMaxPool, AdaptiveAvgPool (1d/2d/3d) and
MaxUnpool, with torch's constructor arguments, stored attributes and repr. Each layer calls
its functional op in heron.nn.functional, named by the class attribute ``_op``."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from .utils import _pair, _single, _triple


class _MaxPoolNd(Module):
    """Max pooling with torch's arguments; ``return_indices`` makes forward return (values,
    indices) for MaxUnpool."""

    _op = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._op(input, self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode,
                        return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    _op = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    _op = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    _op = staticmethod(F.max_pool3d)


class _MaxUnpoolNd(Module):
    """The inverse of max pooling: forward(input, indices, output_size=None) puts each value
    back at its index, zeros elsewhere."""

    _op = None
    _as_tuple = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = self._as_tuple(kernel_size)
        self.stride = self._as_tuple(stride if stride is not None else kernel_size)
        self.padding = self._as_tuple(padding)

    def forward(self, input, indices, output_size=None):
        return self._op(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    _op, _as_tuple = staticmethod(F.max_unpool1d), staticmethod(_single)


class MaxUnpool2d(_MaxUnpoolNd):
    _op, _as_tuple = staticmethod(F.max_unpool2d), staticmethod(_pair)


class MaxUnpool3d(_MaxUnpoolNd):
    _op, _as_tuple = staticmethod(F.max_unpool3d), staticmethod(_triple)


class _AvgPoolNd(Module):
    """Average pooling's stored arguments and repr."""

    def __init__(self, kernel_size, stride, padding, ceil_mode, count_include_pad):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling; as torch, it stores its sizes as 1-tuples and has no divisor_override."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(_single(kernel_size), _single(stride if stride is not None else kernel_size),
                         _single(padding), ceil_mode, count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class _AvgPoolWithDivisor(_AvgPoolNd):
    """2-D and 3-D average pooling: arguments stored as given, and ``divisor_override``."""

    _op = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__(kernel_size, stride if stride is not None else kernel_size, padding, ceil_mode,
                         count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input):
        return self._op(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                        self.divisor_override)


class AvgPool2d(_AvgPoolWithDivisor):
    _op = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolWithDivisor):
    _op = staticmethod(F.avg_pool3d)


class _LPPoolNd(Module):
    """Power-average pooling: (sum of x^p over each window)^(1/p), with p = ``norm_type``."""

    _op = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._op(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    _op = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    _op = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    _op = staticmethod(F.lp_pool3d)


class _AdaptiveMaxPoolNd(Module):
    """Max over a grid of ``output_size`` windows tiling the input (None keeps a dim's size)."""

    _op = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return self._op(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    _op = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    _op = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    _op = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    """Mean over a grid of ``output_size`` windows tiling the input (None keeps a dim's size)."""

    _op = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._op(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    _op = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    _op = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    _op = staticmethod(F.adaptive_avg_pool3d)
