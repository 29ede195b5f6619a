"""Convolutions for heron.nn.functional: conv1d, conv2d, conv_transpose1d, conv_transpose2d,
unfold (im2col) and fold (col2im), with torch's arguments, output shapes and exception types.

Every convolution is validated and normalised here, then runs one of two 2-D cores (a 1-D
convolution is a 2-D one of height 1):

    _conv2d_core(input, weight, bias, stride, padding, dilation, groups)
    _conv_transpose2d_core(input, weight, bias, stride, padding, output_padding, dilation, groups)

on batched 4-D tensors with explicit symmetric zero padding. The cores run the composites
``_conv2d_composite`` and ``_conv_transpose2d_composite``, written in heron ops (one gather for
im2col, one batched GEMM over the groups, one index_add for col2im): they are the
specification of, and the test reference for, a fused kernel placed in front of them.
"""
from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

import heron

from ..ops import conv as _fused
from . import functional as F

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


# ---------------------------------------------------------------------------- argument parsing
def _as_ints(op, name, value):
    """``value`` (an int or a sequence of ints) as a tuple; TypeError, as torch's argument
    parser raises, for anything else."""
    items = (value,) if isinstance(value, numbers.Integral) else value
    if (not isinstance(items, (tuple, list, heron.Size))
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items)):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    return tuple(int(v) for v in items)


def _conv_param(op, name, value, nd):
    """A per-spatial-dim convolution parameter: one int for every dim, or one per dim."""
    values = _as_ints(op, name, value)
    if len(values) == 1:
        return values * nd
    if len(values) != nd:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} values to match the "
                           f"convolution dimensions, but got {name}={list(values)}")
    return values


def _fold_param(op, name, value):
    """An unfold/fold parameter: one int for both spatial dims, or a pair."""
    values = _as_ints(op, name, value)
    if len(values) == 1:
        return values * 2
    if len(values) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(values)}")
    return values


def _lift_1d(values, fill):
    """A 1-D parameter as the 2-D one of a height-1 convolution."""
    return (fill,) + tuple(values)


def _dim_names(nd):
    return ("height", "width") if nd == 2 else ("width",)


def _describe(name, values):
    """torch's way of printing per-dim values in messages: 'stride_height: 2 stride_width: 1'."""
    return " ".join(f"{name}_{dim}: {v}" for dim, v in zip(_dim_names(len(values)), values))


# ---------------------------------------------------------------------------- checks shared by all convolutions
def _check_tensors(op, input, weight, bias):
    F._require_tensor(op, "input", 1, input)
    F._require_tensor(op, "weight", 2, weight)
    F._require_tensor(op, "bias", 3, bias, optional=True)


def _check_input_dims(op, nd, input):
    """Whether ``input`` has a batch dim; RuntimeError unless it is (N, C, *spatial) or (C, *spatial)."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of "
                           f"size: {list(input.shape)}")
    return input.ndim == nd + 2


def _check_weight_dims(input, weight):
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != input.ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                           f"{list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                           f"{list(input.shape)} instead")


def _check_groups(op, groups):
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    return int(groups)


def _check_positive(stride, dilation):
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")


def _check_non_negative(name, values):
    if any(p < 0 for p in values):
        raise RuntimeError(f"negative {name} is not supported")


def _check_dtypes(op, input, weight, bias):
    """Input, weight and bias share one floating dtype (heron's GEMM has no integer path)."""
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same")
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and bias type ({bias.dtype}) should be the same")
    _require_floating(op, input)


def _require_floating(op, input):
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{op}: inputs of type {input.dtype} are not supported by heron "
                                  "(floating-point only)")


def _check_weight_groups(weight, groups):
    if weight.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got "
                           f"weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {list(weight.shape)} instead")
    if any(k <= 0 for k in weight.shape[2:]):
        raise RuntimeError(f"kernel size should be greater than zero, but got {_describe('kernel', weight.shape[2:])}")


def _check_bias(bias, expected, what):
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != expected):
        raise RuntimeError(f"Given {what}, expected bias to be 1-dimensional with {expected} elements, but got bias "
                           f"of size {list(bias.shape)} instead")


def _check_spatial_not_empty(input):
    if any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: "
                           f"{list(input.shape)}")


def _common_checks(op, nd, input, weight, bias, stride, dilation, groups):
    """The checks conv and conv_transpose share. Returns (batched input, whether the caller's
    input was batched, stride, dilation, groups) with the parameters as nd-tuples."""
    _check_tensors(op, input, weight, bias)
    batched = _check_input_dims(op, nd, input)
    input = input if batched else input.unsqueeze(0)
    _check_weight_dims(input, weight)
    stride = _conv_param(op, "stride", stride, nd)
    dilation = _conv_param(op, "dilation", dilation, nd)
    groups = _check_groups(op, groups)
    _check_positive(stride, dilation)
    _check_dtypes(op, input, weight, bias)
    _check_weight_groups(weight, groups)
    return input, batched, stride, dilation, groups


# ---------------------------------------------------------------------------- output sizes
def _conv_output_size(in_size, kernel, stride, padding, dilation):
    return tuple((i + 2 * p - d * (k - 1) - 1) // s + 1
                 for i, k, s, p, d in zip(in_size, kernel, stride, padding, dilation))


def _conv_transpose_output_size(in_size, kernel, stride, padding, output_padding, dilation):
    return tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for i, k, s, p, op, d in zip(in_size, kernel, stride, padding, output_padding, dilation))


# ---------------------------------------------------------------------------- conv
def _same_padding(input, kernel, dilation):
    """(input, symmetric padding) for padding='same'. When a dim's total padding d * (k - 1)
    is odd, torch pads its odd extra element on the right: done here with F.pad, so that the
    core only ever sees symmetric padding."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    left = tuple(t // 2 for t in total)
    extra = [t - 2 * p for t, p in zip(total, left)]
    if any(extra):
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy "
                      "of the input be created", stacklevel=5)
        pad = []
        for e in reversed(extra):  # F.pad lists the last dim first: (left, right) per dim
            pad += [0, e]
        input = F.pad(input, pad)
    return input, left


def _resolve_padding(op, input, weight, padding, stride, dilation, nd):
    """(input, symmetric padding nd-tuple) from an int, a tuple, 'valid' or 'same'."""
    if not isinstance(padding, str):
        padding = _conv_param(op, "padding", padding, nd)
        _check_non_negative("padding", padding)
        return input, padding
    if padding == "valid":
        return input, (0,) * nd
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    return _same_padding(input, tuple(weight.shape[2:]), dilation)


def _check_conv_shapes(input, weight, bias, groups, padding, dilation):
    channels = weight.shape[1] * groups
    if input.shape[1] != channels:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {channels} channels, but got {input.shape[1]} channels "
                           "instead")
    _check_bias(bias, weight.shape[0], f"weight of size {list(weight.shape)}")
    padded = [i + 2 * p for i, p in zip(input.shape[2:], padding)]
    extent = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
    if any(i < k for i, k in zip(padded, extent)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, extent))}). Kernel size can't be greater than actual input size")
    _check_spatial_not_empty(input)


def _convolution(op, nd, input, weight, bias, stride, padding, dilation, groups):
    """conv1d/conv2d: checks and normalises the arguments, then runs the 2-D core."""
    input, batched, stride, dilation, groups = _common_checks(op, nd, input, weight, bias, stride, dilation, groups)
    input, padding = _resolve_padding(op, input, weight, padding, stride, dilation, nd)
    _check_conv_shapes(input, weight, bias, groups, padding, dilation)
    if nd == 1:
        out = _conv2d_core(input.unsqueeze(2), weight.unsqueeze(2), bias, _lift_1d(stride, 1), _lift_1d(padding, 0),
                           _lift_1d(dilation, 1), groups).squeeze(2)
    else:
        out = _conv2d_core(input, weight, bias, stride, padding, dilation, groups)
    return out if batched else out.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C_in, L) or (C_in, L) ``input`` with ``weight``
    (C_out, C_in / groups, k); ``padding`` is an int, a 1-tuple, 'valid' or 'same'."""
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C_in, H, W) or (C_in, H, W) ``input`` with ``weight``
    (C_out, C_in / groups, kH, kW); ``padding`` is an int, a pair, 'valid' or 'same'."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------------------- conv_transpose
def _check_conv_transpose_shapes(input, weight, bias, groups, stride, padding, output_padding, dilation):
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[0]} channels, but got {input.shape[1]} channels "
                           f"instead")
    _check_bias(bias, weight.shape[1] * groups, f"transposed=1, weight of size {list(weight.shape)}")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"{_describe('output_padding', output_padding)} {_describe('stride', stride)} "
                           f"{_describe('dilation', dilation)}")
    _check_spatial_not_empty(input)
    out_size = _conv_transpose_output_size(input.shape[2:], weight.shape[2:], stride, padding, output_padding, dilation)
    if any(o < 1 for o in out_size):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, input.shape[2:]))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, out_size))}). Output size is too small")


def _convolution_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """conv_transpose1d/2d: checks and normalises the arguments, then runs the 2-D core."""
    input, batched, stride, dilation, groups = _common_checks(op, nd, input, weight, bias, stride, dilation, groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    padding = _conv_param(op, "padding", padding, nd)
    output_padding = _conv_param(op, "output_padding", output_padding, nd)
    _check_non_negative("padding", padding)
    _check_non_negative("output_padding", output_padding)
    _check_conv_transpose_shapes(input, weight, bias, groups, stride, padding, output_padding, dilation)
    if nd == 1:
        out = _conv_transpose2d_core(input.unsqueeze(2), weight.unsqueeze(2), bias, _lift_1d(stride, 1),
                                     _lift_1d(padding, 0), _lift_1d(output_padding, 0), _lift_1d(dilation, 1),
                                     groups).squeeze(2)
    else:
        out = _conv_transpose2d_core(input, weight, bias, stride, padding, output_padding, dilation, groups)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The adjoint of conv1d (a "deconvolution") on (N, C_in, L) or (C_in, L) ``input`` with
    ``weight`` (C_in, C_out / groups, k); output length (L - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    return _convolution_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The adjoint of conv2d (a "deconvolution") on (N, C_in, H, W) or (C_in, H, W) ``input``
    with ``weight`` (C_in, C_out / groups, kH, kW)."""
    return _convolution_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


# ---------------------------------------------------------------------------- the cores
def _conv2d_core(input, weight, bias, stride, padding, dilation, groups):
    """conv2d of validated arguments: ``input`` (N, C, H, W), ``weight`` (C_out, C / groups,
    kH, kW), ``bias`` (C_out,) or None, and (height, width) int pairs, ``padding`` being
    symmetric zero padding. The plug-in point of a fused kernel."""
    if _fused.fused_conv_applies(input, weight, bias):
        return _fused.fused_conv2d(input, weight, bias, stride, padding, dilation, groups,
                                   functools.partial(_conv2d_twin, options=(stride, padding, dilation, groups)))
    return _conv2d_composite(input, weight, bias, stride, padding, dilation, groups)


def _conv2d_twin(input, weight, bias, options):
    return _conv2d_composite(input, weight, bias, *options)


def _conv_transpose2d_core(input, weight, bias, stride, padding, output_padding, dilation, groups):
    """conv_transpose2d of validated arguments: ``input`` (N, C, H, W), ``weight`` (C,
    C_out / groups, kH, kW), ``bias`` (C_out,) or None, and (height, width) int pairs. The
    plug-in point of a fused kernel."""
    if _fused.fused_conv_applies(input, weight, bias):
        out_size = _conv_transpose_output_size(input.shape[2:], weight.shape[2:], stride, padding, output_padding,
                                               dilation)
        options = (stride, padding, output_padding, dilation, groups)
        return _fused.fused_conv_transpose2d(input, weight, bias, out_size, stride, padding, dilation, groups,
                                             functools.partial(_conv_transpose2d_twin, options=options))
    return _conv_transpose2d_composite(input, weight, bias, stride, padding, output_padding, dilation, groups)


def _conv_transpose2d_twin(input, weight, bias, options):
    return _conv_transpose2d_composite(input, weight, bias, *options)


def _add_channel_bias(out, bias):
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def _conv2d_composite(input, weight, bias, stride, padding, dilation, groups):
    """Reference conv2d from heron ops: im2col patches (N, groups, C/groups * kH * kW, L) and
    one GEMM with each group's (C_out / groups, C/groups * kH * kW) weight, broadcast over N."""
    n = input.shape[0]
    out_channels, group_channels, kh, kw = weight.shape
    out_size = _conv_output_size(input.shape[2:], (kh, kw), stride, padding, dilation)
    patches = _im2col(input, (kh, kw), stride, padding, dilation, out_size)
    patches = patches.reshape(n, groups, group_channels * kh * kw, out_size[0] * out_size[1])
    out = heron.matmul(weight.reshape(groups, out_channels // groups, group_channels * kh * kw), patches)
    return _add_channel_bias(out.reshape(n, out_channels, *out_size), bias)


def _conv_transpose2d_composite(input, weight, bias, stride, padding, output_padding, dilation, groups):
    """Reference conv_transpose2d from heron ops, the adjoint of _conv2d_composite: each
    group's transposed-weight GEMM spreads every input pixel into a kH x kW patch of output
    channels, and col2im sums the overlapping patches into the output."""
    n, in_channels, h, w = input.shape
    _, group_out_channels, kh, kw = weight.shape
    group_channels = in_channels // groups
    patch = group_out_channels * kh * kw
    group_weight = weight.reshape(groups, group_channels, patch).transpose(1, 2)
    cols = heron.matmul(group_weight, input.reshape(n, groups, group_channels, h * w))
    out_size = _conv_transpose_output_size((h, w), (kh, kw), stride, padding, output_padding, dilation)
    out = _col2im(cols.reshape(n, groups * patch, h * w), out_size, (kh, kw), stride, padding, dilation, (h, w))
    return _add_channel_bias(out, bias)


# ---------------------------------------------------------------------------- im2col and col2im
def _tap_positions(blocks, kernel, stride, padding, dilation):
    """(kernel, blocks) array: the input coordinate each kernel tap of each block reads along one dim."""
    return np.arange(kernel)[:, None] * dilation + np.arange(blocks)[None, :] * stride - padding


@functools.lru_cache(maxsize=256)
def _patch_index(image_size, blocks, kernel, stride, padding, dilation):
    """int64 index of length kH * kW * blocks_h * blocks_w, ordered (kh, kw, block row, block
    column): the flat position row * W + col of the image pixel each tap reads, or H * W (the
    zero slot appended after the image) for a tap in the zero padding. Computed once per shape."""
    (h, w) = image_size
    rows = _tap_positions(blocks[0], kernel[0], stride[0], padding[0], dilation[0])[:, None, :, None]
    cols = _tap_positions(blocks[1], kernel[1], stride[1], padding[1], dilation[1])[None, :, None, :]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return heron.tensor(np.where(inside, rows * w + cols, h * w).reshape(-1), dtype=heron.int64)


def _im2col(input, kernel, stride, padding, dilation, blocks):
    """(N, C, H, W) -> (N, C * kH * kW, blocks_h * blocks_w): every block's receptive field as
    a column, rows in weight order (c, kh, kw). One gather from the image with a zero slot
    appended, so zero padding costs no padded copy; its gradient is col2im (an index_add)."""
    n, c, h, w = input.shape
    index = _patch_index((h, w), tuple(blocks), tuple(kernel), tuple(stride), tuple(padding), tuple(dilation))
    flat = heron.cat([input.reshape(n, c, h * w), input.new_zeros(n, c, 1)], dim=2)
    return heron.index_select(flat, 2, index).reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])


def _col2im(cols, image_size, kernel, stride, padding, dilation, blocks):
    """The adjoint of _im2col: (N, C * kH * kW, blocks_h * blocks_w) -> (N, C, H, W), each
    column's values added onto the pixels its block reads (taps in the padding land in the
    dropped zero slot)."""
    n = cols.shape[0]
    h, w = image_size
    c = cols.shape[1] // (kernel[0] * kernel[1])
    index = _patch_index((h, w), tuple(blocks), tuple(kernel), tuple(stride), tuple(padding), tuple(dilation))
    canvas = cols.new_zeros(n, c, h * w + 1)
    summed = heron.index_add(canvas, 2, index, cols.reshape(n, c, index.shape[0]))
    return summed.narrow(2, 0, h * w).reshape(n, c, h, w)


# ---------------------------------------------------------------------------- unfold and fold
def _fold_params(op, kernel_size, dilation, padding, stride):
    """unfold/fold's kernel_size, dilation, padding and stride as pairs, checked as torch does."""
    kernel = _fold_param(op, "kernel_size", kernel_size)
    dilation = _fold_param(op, "dilation", dilation)
    padding = _fold_param(op, "padding", padding)
    stride = _fold_param(op, "stride", stride)
    for name, values, short in (("kernel size", kernel, "kernel"), ("stride", stride, "stride"),
                                ("dilation", dilation, "dilation")):
        if any(v <= 0 for v in values):
            raise RuntimeError(f"{name} should be greater than zero, but got {_describe(short, values)}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"padding should be non-negative, but got {_describe('pad', padding)}")
    return kernel, dilation, padding, stride


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) or (C, H, W) -> (N, C * kH * kW, L), the sliding blocks of
    ``input`` as columns (L blocks, row-major)."""
    F._require_tensor("unfold", "input", 1, input)
    if input.ndim < 3:  # torch fails reading the input's dim 2
        raise IndexError(f"unfold: Dimension out of range: expected a 3-D or 4-D input, got input of size "
                         f"{list(input.shape)}")
    kernel, dilation, padding, stride = _fold_params("unfold", kernel_size, dilation, padding, stride)
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    if input.ndim > 4 or any(s == 0 for s in x.shape[1:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    _require_floating("unfold", x)
    blocks = _conv_output_size(x.shape[2:], kernel, stride, padding, dilation)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding blocks "
                           f"as {blocks}, but its components must be at least one.")
    cols = _im2col(x, kernel, stride, padding, dilation, blocks)
    return cols if batched else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C * kH * kW, L) or (C * kH * kW, L) -> (N, C, H, W) with (H, W) =
    ``output_size``, summing the values that overlapping blocks put on the same pixel."""
    F._require_tensor("fold", "input", 1, input)
    out_size = _fold_param("fold", "output_size", output_size)
    kernel, dilation, padding, stride = _fold_params("fold", kernel_size, dilation, padding, stride)
    if input.ndim not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    batched = input.ndim == 3
    cols = input if batched else input.unsqueeze(0)
    taps = kernel[0] * kernel[1]
    if cols.shape[1] % taps:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={cols.shape[1]} and kernel_size={kernel}.")
    blocks = tuple(max(b, 0) for b in _conv_output_size(out_size, kernel, stride, padding, dilation))
    if blocks[0] * blocks[1] != cols.shape[2]:
        raise RuntimeError(f"Given output_size={out_size}, kernel_size={kernel}, dilation={dilation}, "
                           f"padding={padding}, stride={stride}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, "
                           f"but got input.size(2)={cols.shape[2]}.")
    _require_floating("fold", cols)
    out = _col2im(cols, out_size, kernel, stride, padding, dilation, blocks)
    return out if batched else out.squeeze(0)
