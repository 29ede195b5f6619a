"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, with torch's
constructor arguments, checks, initialisation, parameter names and repr."""
from __future__ import annotations

from .. import functional as F
from .linear import _reset_weight_and_bias
from .module import Module, _register_new_parameter
from .utils import _pair, _reverse_repeat_tuple, _single

_PADDING_STRINGS = {"same", "valid"}
_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _check_conv_options(in_channels, out_channels, stride, padding, groups, padding_mode):
    """torch's constructor checks, with its ValueErrors."""
    if groups <= 0:
        raise ValueError("groups must be a positive integer")
    if in_channels % groups != 0:
        raise ValueError("in_channels must be divisible by groups")
    if out_channels % groups != 0:
        raise ValueError("out_channels must be divisible by groups")
    if isinstance(padding, str):
        if padding not in _PADDING_STRINGS:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {_PADDING_STRINGS}")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode='{padding_mode}'")


def _explicit_padding(padding, kernel_size, dilation):
    """F.pad's (left, right) list, last dim first, for a padding_mode other than zeros. For
    'same' the left side gets half the total d * (k - 1) and the right side the rest."""
    if not isinstance(padding, str):
        return _reverse_repeat_tuple(padding, 2)
    pad = [0, 0] * len(kernel_size)
    if padding == "same":
        for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
            total = d * (k - 1)
            pad[2 * i], pad[2 * i + 1] = total // 2, total - total // 2
    return pad


class _ConvNd(Module):
    """The state and initialisation of every convolution layer. ``weight`` is (out_channels,
    in_channels / groups, *kernel_size), or (in_channels, out_channels / groups,
    *kernel_size) when ``transposed``; both start as kaiming_uniform_(a=sqrt(5)) and the bias
    as U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in torch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed, output_padding,
                 groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        _check_conv_options(in_channels, out_channels, stride, padding, groups, padding_mode)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = _explicit_padding(padding, kernel_size, dilation)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        _register_new_parameter(self, "weight", shape, device, dtype)
        _register_new_parameter(self, "bias", (out_channels,), device, dtype, enabled=bias)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class _Conv(_ConvNd):
    """A forward convolution; ``_functional`` is F.conv1d or F.conv2d and ``_ntuple`` the
    matching argument expander. A padding_mode other than zeros pads with F.pad first."""

    _functional = None
    _ntuple = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        expand = type(self)._ntuple
        super().__init__(in_channels, out_channels, expand(kernel_size), expand(stride),
                         padding if isinstance(padding, str) else expand(padding), expand(dilation), False, expand(0),
                         groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = type(self)._functional
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, type(self)._ntuple(0), self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L) inputs, as torch.nn.Conv1d."""

    _functional = staticmethod(F.conv1d)
    _ntuple = staticmethod(_single)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) inputs, as torch.nn.Conv2d."""

    _functional = staticmethod(F.conv2d)
    _ntuple = staticmethod(_pair)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution (zero padding only, as in torch); ``forward(input,
    output_size)`` picks the output_padding that gives ``output_size``."""

    _functional = None
    _ntuple = None
    _spatial_dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        expand = type(self)._ntuple
        super().__init__(in_channels, out_channels, expand(kernel_size), expand(stride), expand(padding),
                         expand(dilation), True, expand(output_padding), groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding to use: the constructor's, or the one that makes the output
        ``output_size`` (its spatial dims, optionally preceded by the batch and channel dims)."""
        if output_size is None:
            return self.output_padding
        nd = self._spatial_dims
        leading = 2 if input.ndim == nd + 2 else 1
        output_size = list(output_size)
        if len(output_size) == leading + nd:
            output_size = output_size[leading:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.ndim}D input, output_size must have {nd} or "
                             f"{leading + nd} elements (got {len(output_size)})")
        min_sizes = [(input.shape[leading + d] - 1) * self.stride[d] - 2 * self.padding[d]
                     + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(nd)]
        max_sizes = [m + s - 1 for m, s in zip(min_sizes, self.stride)]
        for size, low, high in zip(output_size, min_sizes, max_sizes):
            if size < low or size > high:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {min_sizes} "
                                 f"to {max_sizes} (for an input of {input.shape[leading:]})")
        return tuple(size - low for size, low in zip(output_size, min_sizes))

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":
            raise ValueError(f"Only `zeros` padding mode is supported for {self.__class__.__name__}")
        output_padding = self._output_padding(input, output_size)
        return type(self)._functional(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                      self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) or (C_in, L) inputs, as torch.nn.ConvTranspose1d."""

    _functional = staticmethod(F.conv_transpose1d)
    _ntuple = staticmethod(_single)
    _spatial_dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) or (C_in, H, W) inputs, as torch.nn.ConvTranspose2d."""

    _functional = staticmethod(F.conv_transpose2d)
    _ntuple = staticmethod(_pair)
    _spatial_dims = 2
