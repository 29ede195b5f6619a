"""heron.nn.functional's padding and pooling, as composites of heron ops with torch's
signatures, output shapes, indices and exception types.

Padding: 'constant' writes the input into a canvas of the fill value (one copy; its gradient
is the opposite padding of the output's gradient); 'reflect', 'replicate' and 'circular' are
one ``index_select`` per padded dim with the source position of every output position.
"""
from __future__ import annotations

import operator

import numpy as np

import heron

from ..autograd import Function

__all__ = ["pad"]


# ---------------------------------------------------------------------------- padding
_NON_CONSTANT_PAD_HELP = ("Supported combinations for non-constant padding:\n"
                          "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                          "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                          "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
_SPATIAL_NAMES = ("W", "H", "D")  # the padded dims from the last one, as torch's messages name them


def pad(input, pad, mode="constant", value=None):
    """Pads (or, with negative widths, crops) the last ``len(pad) // 2`` dims of ``input``:
    ``pad = (last_left, last_right, second_last_left, ...)``, as torch.nn.functional.pad.

    'constant' fills with ``value`` (0 by default) and pads any dims; 'reflect' mirrors
    without repeating the edge, 'replicate' repeats the edge and 'circular' wraps around;
    these three pad the last 1, 2 or 3 dims of a tensor with one or two more dims (a batch
    and a channel dim, the batch optional).
    """
    widths = _pad_widths(pad)
    if not isinstance(mode, str):
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not {type(mode).__name__}")
    if len(widths) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(widths) > 2 * input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(widths)} and input of dimension {input.ndim}")
    if mode == "constant":
        value = 0 if value is None else value
        _check_fill_value(value, input.dtype)
        return _ConstantPad.apply(input, widths, value)
    if mode not in _SOURCE_POSITIONS:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant_pad(input, widths, mode)
    out = input
    for i in range(len(widths) // 2):
        dim = input.ndim - 1 - i
        source = _SOURCE_POSITIONS[mode](input.shape[dim], widths[2 * i], widths[2 * i + 1])
        out = heron.index_select(out, dim, heron.tensor(source, dtype=heron.int64))
    return out


def _pad_widths(pad):
    """``pad`` as a list of ints; torch's TypeError for anything but a sequence of integers."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not {type(pad).__name__}")
    try:
        return [operator.index(w) for w in pad]
    except TypeError:
        position, bad = next((i, w) for i, w in enumerate(pad) if not hasattr(w, "__index__"))
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                        f"{type(bad).__name__} at pos {position}") from None


def _check_fill_value(value, dtype):
    if not dtype.is_floating_point and dtype is not heron.bool:
        limits = np.iinfo(dtype._name)
        if not limits.min <= value <= limits.max:
            raise RuntimeError(f"value cannot be converted to type {dtype._name} without overflow")


def _pad_window(shape, widths):
    """(output shape, the input's region kept, where it lands in the output) of constant
    padding by ``widths`` (torch's pad order: last dim first)."""
    out_shape, source, target = list(shape), [slice(None)] * len(shape), [slice(None)] * len(shape)
    for i in range(len(widths) // 2):
        dim, left, right = len(shape) - 1 - i, widths[2 * i], widths[2 * i + 1]
        kept = shape[dim] - max(-left, 0) - max(-right, 0)
        if kept < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        source[dim] = slice(max(-left, 0), max(-left, 0) + kept)
        target[dim] = slice(max(left, 0), max(left, 0) + kept)
        out_shape[dim] = kept + max(left, 0) + max(right, 0)
    return out_shape, tuple(source), tuple(target)


class _ConstantPad(Function):
    """The input (cropped where a width is negative) written into a canvas of ``value``. The
    gradient is the opposite padding of the output's gradient, with zeros."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        out_shape, source, target = _pad_window(tuple(x.shape), widths)
        out = heron.full(out_shape, value, dtype=x.dtype)
        out[target] = x[source]
        return out

    @staticmethod
    def backward(ctx, g):
        return _ConstantPad.apply(g, [-w for w in ctx.widths], 0), None, None


def _reflect(size, left, right):
    """Mirror at the edges without repeating them: -1 -> 1, size -> size - 2."""
    positions = np.arange(-left, size + right)
    return np.where(positions < 0, -positions, np.where(positions >= size, 2 * (size - 1) - positions, positions))


def _replicate(size, left, right):
    return np.clip(np.arange(-left, size + right), 0, size - 1)


def _circular(size, left, right):
    """Wraps around what is left after cropping (torch crops first, then pads)."""
    start = max(-left, 0)
    kept = size - start - max(-right, 0)
    return start + np.mod(np.arange(-max(left, 0), kept + max(right, 0)), max(kept, 1))  # kept > 0 unless empty


# mode -> the input position of every output position along a dim of ``size`` padded by (left, right)
_SOURCE_POSITIONS = {"reflect": _reflect, "replicate": _replicate, "circular": _circular}
_KERNEL_NAMES = {"reflect": "reflection_pad", "replicate": "replication_pad"}


def _check_non_constant_pad(input, widths, mode):
    """torch's checks for reflect/replicate/circular padding, with its exception types."""
    padded = len(widths) // 2
    if input.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(f"Padding size {len(widths)} is not supported for {input.ndim}D input tensor.\n"
                                  + _NON_CONSTANT_PAD_HELP)
    if mode == "circular":
        _check_circular_pad(input, widths)
        return
    batched = input.ndim == padded + 2
    if any(s == 0 for s in input.shape[1 if batched else 0:]):
        raise RuntimeError(f"Expected {padded + 1}D or {padded + 2}D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(input.shape)}")
    if input.dtype is heron.bool:
        raise NotImplementedError(f"\"{_KERNEL_NAMES[mode]}{padded}d\" not implemented for 'Bool'")
    for i in range(padded):
        dim, left, right = input.ndim - 1 - i, widths[2 * i], widths[2 * i + 1]
        size = input.shape[dim]
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) at dimension {dim} of input "
                               f"{list(input.shape)}")
        if size + left + right < 1:
            name = _SPATIAL_NAMES[i]
            raise RuntimeError(f"input ({name}: {size}) is too small. Calculated output {name}: {size + left + right}")


def _check_circular_pad(input, widths):
    for i in range(len(widths) // 2):
        size, left, right = input.shape[input.ndim - 1 - i], widths[2 * i], widths[2 * i + 1]
        if left > size or right > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        out_size, kept = size + left + right, size + min(left, 0) + min(right, 0)
        if out_size < 0 or (kept <= 0 < out_size):  # torch reads outside the input in the latter case
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
