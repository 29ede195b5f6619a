"""heron.nn.functional's padding and pooling, as composites of heron ops with torch's
signatures, output shapes, indices and exception types.

Padding: 'constant' writes the input into a canvas of the fill value (one copy; its gradient
is the opposite padding of the output's gradient); 'reflect', 'replicate' and 'circular' are
one ``index_select`` per padded dim with the source position of every output position.

Pooling works on planes (B, *spatial), B = N * C. Regular windows are a strided view of the
input padded with -inf (max) or 0 (average). A max picks, per window, the flat input position
of its maximum; the values are then gathered from the input at those positions, so that the
gradient reaches the maxima exactly as torch's (and the positions are torch's indices).
Averages sum the strided view. Adaptive windows (irregular starts) are gathered by position
for the max, and summed as one small matmul per spatial dim for the average.
"""
from __future__ import annotations

import operator

import numpy as np

import heron
from ..ops import pooling as _fused_pool

from ..autograd import Function

__all__ = [
    "pad",
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
]


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
    if not isinstance(input, heron.Tensor):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
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


# ---------------------------------------------------------------------------- pooling: arguments and shapes
def _int_tuple(value, n, op, name):
    """``value`` (an int, or a sequence of 1 or ``n`` ints) as ``n`` ints, with torch's errors."""
    if isinstance(value, (tuple, list)):
        if len(value) not in (1, n):
            raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of {n} ints")
        values = list(value) * (n if len(value) == 1 else 1)
    else:
        values = [value] * n
    for v in values:
        if not hasattr(v, "__index__"):
            raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(v).__name__}")
    return tuple(operator.index(v) for v in values)


def _planes(input, n, op, too_few_dims=RuntimeError, nonempty_dims=None):
    """``input`` (N, C, *spatial) or (C, *spatial) with ``n`` spatial dims, as (B, *spatial)
    planes, and the leading shape that the result takes back. Only the batch may be empty
    (``nonempty_dims``: how many trailing dims must be non-empty, if not all but the batch).
    torch's avg_pool2d raises IndexError for too few dims."""
    if not isinstance(input, heron.Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.ndim <= n:
        raise too_few_dims(f"{op}: Expected {n + 1}D or {n + 2}D (batch mode) tensor, but got: {list(input.shape)}")
    nonempty_dims = n + 1 if nonempty_dims is None else nonempty_dims
    if input.ndim > n + 2 or any(s == 0 for s in input.shape[max(input.ndim - nonempty_dims, 0):]):
        raise RuntimeError(f"{op}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got: {list(input.shape)}")
    lead = tuple(input.shape[:-n])
    return input.reshape(_prod(lead), *input.shape[-n:]), lead


def _require_dtype(op, input, integers=()):
    """torch's NotImplementedError for the dtypes a pooling op has no kernel for: all but
    floating point ones and the ``integers`` listed."""
    if not (input.dtype.is_floating_point or input.dtype in integers):
        from .functional import _torch_type_name

        raise NotImplementedError(f"\"{op}\" not implemented for '{_torch_type_name(input.dtype)}'")


_INTEGERS = (heron.uint8, heron.int8, heron.int16, heron.int32, heron.int64)


def _pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's pooling_output_shape: with ``ceil_mode`` a last, partial window is kept unless
    it would start in the right padding."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class _Windows:
    """The sliding windows of a pooling call over planes of ``sizes``, one entry per spatial
    dim, after torch's checks of the arguments."""

    def __init__(self, op, sizes, kernel, stride, padding, dilation, ceil_mode):
        if 0 in stride:
            raise RuntimeError("stride should not be zero")
        if min(kernel) <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size: {kernel}")
        if min(stride) < 0:
            raise RuntimeError(f"stride should be greater than zero, but got stride: {stride}")
        if min(dilation) <= 0:
            raise RuntimeError(f"dilation should be greater than zero, but got dilation: {dilation}")
        if min(padding) < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {min(padding)}")
        for k, p, d in zip(kernel, padding, dilation):
            if p > k // 2:
                raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                                   f"kernel_size={k} and dilation={d}")
        self.sizes, self.kernel, self.stride, self.padding, self.dilation = sizes, kernel, stride, padding, dilation
        self.out = tuple(_pool_output_size(*args, ceil_mode) for args in zip(sizes, kernel, stride, padding, dilation))
        if min(self.out) < 1:
            raise RuntimeError(f"{op}: Given input size: ({'x'.join(map(str, sizes))}). Calculated output size: "
                               f"({'x'.join(map(str, self.out))}). Output size is too small")

    def coordinates(self, i):
        """(out, kernel) input coordinate of every window element along spatial dim ``i``."""
        return (np.arange(self.out[i])[:, None] * self.stride[i] - self.padding[i]
                + np.arange(self.kernel[i])[None, :] * self.dilation[i])

    def pad_widths(self):
        """F.pad widths that make every window lie inside the input: the padding on the left,
        and on the right what the last window needs (negative: the input's unused end)."""
        widths = []
        for i in reversed(range(len(self.sizes))):
            span = (self.out[i] - 1) * self.stride[i] + self.dilation[i] * (self.kernel[i] - 1) + 1
            widths += [self.padding[i], span - self.sizes[i] - self.padding[i]]
        return widths

    def view(self, planes, fill):
        """(B, *out, *kernel) strided view of the planes padded with ``fill``."""
        widths = self.pad_widths()
        if any(widths):
            planes = pad(planes, widths, value=fill)
        if not (planes.is_contiguous() and planes.storage_offset() == 0):
            planes = planes.clone()  # as_strided's backward needs a dense tensor
        strides = planes.stride()
        n = len(self.sizes)
        size = (planes.shape[0],) + self.out + self.kernel
        stride = ((strides[0],) + tuple(strides[1 + i] * self.stride[i] for i in range(n))
                  + tuple(strides[1 + i] * self.dilation[i] for i in range(n)))
        return planes.as_strided(size, stride)

    def positions(self):
        """(P, K) flat input position of every window element (see ``_window_grid``). Elements
        in the padding hold their window's first input position: the index torch reports
        when the window's maximum is -inf."""
        coordinates = [self.coordinates(i) for i in range(len(self.sizes))]
        flat = _window_grid([c * _plane_stride(self.sizes, i) for i, c in enumerate(coordinates)], np.add)
        inside = _window_grid([(c >= 0) & (c < size) for c, size in zip(coordinates, self.sizes)], np.logical_and)
        first = flat[np.arange(len(flat)), inside.argmax(1)]
        return np.where(inside, flat, first[:, None])


def _plane_stride(sizes, i):
    return int(np.prod(sizes[i + 1:], dtype=np.int64))


def _window_grid(per_dim, combine):
    """Combines one (out_i, k_i) array per spatial dim into a (P, K) array, P = prod(out_i)
    output positions by K = prod(k_i) window elements, both in row-major (scan) order."""
    n = len(per_dim)
    grid = None
    for i, values in enumerate(per_dim):
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = values.shape
        grid = values.reshape(shape) if grid is None else combine(grid, values.reshape(shape))
    outs, kernel = [v.shape[0] for v in per_dim], [v.shape[1] for v in per_dim]
    return np.broadcast_to(grid, outs + kernel).reshape(int(np.prod(outs)), int(np.prod(kernel)))


def _adaptive_bounds(size, out):
    """[start, end) of each of the ``out`` windows of adaptive pooling over ``size``."""
    index = np.arange(out)
    return (index * size) // out, -((-(index + 1) * size) // out)


def _adaptive_positions(sizes, outs):
    """(P, K) flat input positions of adaptive pooling's windows, K the largest window; a
    shorter window repeats its last element (which changes neither its max nor its index)."""
    per_dim = []
    for i, (size, out) in enumerate(zip(sizes, outs)):
        start, end = _adaptive_bounds(size, out)
        longest = int((end - start).max()) if out else 1
        coordinates = np.minimum(start[:, None] + np.arange(longest)[None, :], end[:, None] - 1)
        per_dim.append(coordinates * _plane_stride(sizes, i))
    return _window_grid(per_dim, np.add)


def _stride_or_kernel(stride, kernel, n, op):
    """torch's default stride (None or an empty sequence) is the kernel size."""
    if stride is None or (isinstance(stride, (tuple, list)) and not stride):
        return kernel
    return _int_tuple(stride, n, op, "stride")


def _prod(values):
    return int(np.prod(values, dtype=np.int64))


# ---------------------------------------------------------------------------- max pooling
def _lowest(dtype):
    """The fill of max pooling's padding: below (or equal to) every value of ``dtype``."""
    return -np.inf if dtype.is_floating_point else int(np.iinfo(dtype._name).min)


def _max_over_windows(planes, windows, positions):
    """(max of each window, its flat position in the plane) for ``windows`` (B, P, K) of the
    (B, ...) ``planes`` and their (P, K) flat ``positions``. The maxima are gathered from the
    planes at those positions, so that the gradient flows to them as in torch (ties: the
    first in scan order; NaN: the last NaN, as torch's kernels)."""
    batch = planes.shape[0]
    with heron.no_grad():
        values, chosen = windows.max(-1)
        chosen = _last_nan_wins(windows, values, chosen)
        table = heron.tensor(positions, dtype=heron.int64).unsqueeze(0).expand(batch, *positions.shape)
        index = heron.gather(table, 2, chosen.unsqueeze(-1)).squeeze(-1)
    return heron.gather(planes.reshape(batch, _prod(planes.shape[1:])), 1, index), index


def _last_nan_wins(windows, values, chosen):
    if not windows.dtype.is_floating_point:
        return chosen
    nan = heron.isnan(values)
    if not bool(nan.any()):
        return chosen
    last_nan = windows.shape[-1] - 1 - heron.argmax(heron.isnan(windows).flip(-1).to(heron.uint8), -1)
    return heron.where(nan, last_nan, chosen)


def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode):
    """(values, indices) of max pooling over the last ``n`` dims."""
    op = f"max_pool{n}d"
    planes, lead = _planes(input, n, op)
    _require_dtype(op, input, _INTEGERS if n > 1 else ())  # torch's max_pool1d has no integer kernel
    kernel = _int_tuple(kernel_size, n, op, "kernel_size")
    windows = _Windows(op, tuple(planes.shape[1:]), kernel, _stride_or_kernel(stride, kernel, n, op),
                       _int_tuple(padding, n, op, "padding"), _int_tuple(dilation, n, op, "dilation"), ceil_mode)
    if n == 2 and _fused_pool.fused_pool_applies(input):
        out, index = _fused_pool.fused_max_pool2d(
            planes.unsqueeze(1), kernel, windows.stride, windows.padding, windows.dilation, windows.out,
            lambda x: _max_pool_composite(x.squeeze(1), windows, input.dtype)[0].reshape(-1, 1, *windows.out))
    else:
        out, index = _max_pool_composite(planes, windows, input.dtype)
    return out.reshape(lead + windows.out), index.reshape(lead + windows.out)


def _max_pool_composite(planes, windows, dtype):
    """Reference max pooling of (B, *spatial) planes from heron ops (the fused kernel's twin):
    (values, flat positions), each (B, prod(out))."""
    with heron.no_grad():
        values = windows.view(planes.detach(), _lowest(dtype))
        values = values.reshape(planes.shape[0], _prod(windows.out), _prod(windows.kernel))
    return _max_over_windows(planes, values, windows.positions())


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Max over windows of the last dim of (N, C, L) or (C, L), and each max's position in L."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Max over windows of the last 2 dims of (N, C, H, W) or (C, H, W), and each max's flat
    position in its H x W plane (what max_unpool2d takes)."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """Max over windows of the last 3 dims of (N, C, D, H, W) or (C, D, H, W), and each max's
    flat position in its D x H x W volume."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over L; (values, indices) with ``return_indices``. ``padding`` (at most half
    the kernel) counts as -inf; ``ceil_mode`` keeps a last partial window."""
    result = _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode)
    return result if return_indices else result[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over H and W; (values, indices) with ``return_indices``."""
    result = _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode)
    return result if return_indices else result[0]


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over D, H and W; (values, indices) with ``return_indices``."""
    result = _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode)
    return result if return_indices else result[0]


# ---------------------------------------------------------------------------- average pooling
def _avg_divisors(windows, count_include_pad, divisor_override):
    """The divisor of each window's sum, shaped as the output: its size clipped to the padded
    input (``count_include_pad``) or to the input, unless ``divisor_override``."""
    if divisor_override is not None:
        return np.full(windows.out, divisor_override, dtype=np.int64)
    divisor = np.ones((), dtype=np.int64)
    for _, _, count in _avg_axes(windows, count_include_pad):
        divisor = np.multiply.outer(divisor, count)
    return divisor


def _avg_axes(windows, count_include_pad):
    """Per spatial dim, avg pooling's windows: (starts, ends) clipped to the input and each
    window's size along that dim, clipped to the padded input (``count_include_pad``) or to
    the input. The divisors are products of these sizes, and the fused kernel takes them so."""
    axes = []
    for size, out, kernel, stride, padding in zip(windows.sizes, windows.out, windows.kernel, windows.stride,
                                                  windows.padding):
        start = np.arange(out) * stride - padding
        end = np.minimum(start + kernel, size + padding)
        clipped_start, clipped_end = np.maximum(start, 0), np.minimum(end, size)
        count = end - start if count_include_pad else clipped_end - clipped_start
        axes.append((clipped_start, np.maximum(clipped_end, clipped_start), count))
    return axes


def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    op = f"avg_pool{n}d"
    planes, lead = _planes(input, n, op, too_few_dims=IndexError if n == 2 else RuntimeError)
    _require_dtype(op, input, (heron.int64,))
    kernel = _int_tuple(kernel_size, n, op, "kernel_size")
    windows = _Windows(op, tuple(planes.shape[1:]), kernel, _stride_or_kernel(stride, kernel, n, op),
                       _int_tuple(padding, n, op, "padding"), (1,) * n, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    divisor = _avg_divisors(windows, count_include_pad, divisor_override)

    def composite(planes):
        sums = windows.view(planes, 0).sum(tuple(range(-n, 0)))
        if input.dtype.is_floating_point:
            return sums / heron.tensor(divisor, dtype=input.dtype)
        return heron.div(sums, heron.tensor(divisor), rounding_mode="trunc").to(input.dtype)  # truncated, as torch

    if n == 2 and _fused_pool.fused_pool_applies(input):
        axes = _avg_axes(windows, count_include_pad)
        if divisor_override is not None:  # the whole divisor on the rows, 1 on the columns
            axes[0] = axes[0][:2] + (np.full(windows.out[0], divisor_override),)
            axes[1] = axes[1][:2] + (np.ones(windows.out[1]),)
        out = _fused_pool.fused_avg_pool2d(planes, *axes, composite)
    else:
        out = composite(planes)
    return out.reshape(lead + windows.out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of the last dim of (N, C, L) or (C, L); the zero ``padding`` counts in
    the mean with ``count_include_pad``."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of the last 2 dims; ``divisor_override`` replaces each window's size."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows of the last 3 dims; ``divisor_override`` replaces each window's size."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


# ---------------------------------------------------------------------------- adaptive pooling
def _adaptive_output_size(output_size, input, n, op):
    """``output_size`` as ``n`` ints; None entries keep the input's size (2-D and 3-D ops)."""
    if isinstance(output_size, (tuple, list)):
        if n == 1 and None in output_size:
            raise TypeError(f"{op}(): argument 'output_size' must be tuple of ints, but found element of type NoneType")
        if n > 1 and input.ndim <= len(output_size):  # torch's _list_with_default
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        if len(output_size) != n:
            raise RuntimeError(f"{op}: output_size must be {n}")
        sizes = tuple(input.shape[input.ndim - n + i] if s is None and n > 1 else s for i, s in enumerate(output_size))
    else:
        sizes = (output_size,) * n
    for s in sizes:
        if not hasattr(s, "__index__"):
            raise TypeError(f"{op}(): argument 'output_size' must be tuple of ints, not {type(s).__name__}")
    sizes = tuple(operator.index(s) for s in sizes)
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but received {sizes}")
    return sizes


def _adaptive_sum_matrix(size, out):
    """(size, out) matrix whose column j is 1 on window j of adaptive pooling."""
    start, end = _adaptive_bounds(size, out)
    index = np.arange(size)[:, None]
    return ((index >= start[None, :]) & (index < end[None, :])).astype(np.float64)


def _adaptive_avg_pool(n, input, output_size):
    """Window sums as one matmul per spatial dim (windows are separable), then / window sizes."""
    op = f"adaptive_avg_pool{n}d"
    planes, lead = _planes(input, n, op, nonempty_dims=n if n < 3 else None)  # as torch: empty channels but in 3-D
    _require_dtype(op, input)
    outs = _adaptive_output_size(output_size, input, n, op)
    if n == 2 and _fused_pool.fused_pool_applies(input) and min(outs) > 0:
        axes = []
        for size, size_out in zip(planes.shape[1:], outs):
            start, end = _adaptive_bounds(size, size_out)
            axes.append((start, end, end - start))
        out = _fused_pool.fused_avg_pool2d(planes, *axes, lambda x: _adaptive_avg_composite(x, outs, input.dtype))
        return out.reshape(lead + outs)
    return _adaptive_avg_composite(planes, outs, input.dtype).reshape(lead + outs)


def _adaptive_avg_composite(planes, outs, dtype):
    """Adaptive average pooling of (P, *spatial) planes from heron ops (the fused kernel's twin)."""
    out, counts = planes, np.ones((), dtype=np.int64)
    for i, (size, size_out) in enumerate(zip(planes.shape[1:], outs)):
        window_sums = heron.tensor(_adaptive_sum_matrix(size, size_out), dtype=dtype)
        rows = out.movedim(1 + i, -1)  # one 2-D GEMM over every row of every plane
        out = heron.matmul(rows.reshape(-1, size), window_sums).reshape(*rows.shape[:-1], size_out).movedim(-1, 1 + i)
        start, end = _adaptive_bounds(size, size_out)
        counts = np.multiply.outer(counts, end - start)
    return out / heron.tensor(counts, dtype=dtype)


def _adaptive_max_pool(n, input, output_size):
    op = f"adaptive_max_pool{n}d"
    planes, lead = _planes(input, n, op)
    _require_dtype(op, input)
    outs = _adaptive_output_size(output_size, input, n, op)
    positions = _adaptive_positions(tuple(planes.shape[1:]), outs)
    with heron.no_grad():
        flat = planes.detach().reshape(planes.shape[0], _prod(planes.shape[1:]))
        windows = heron.index_select(flat, 1, heron.tensor(positions.reshape(-1), dtype=heron.int64))
    out, index = _max_over_windows(planes, windows.reshape(planes.shape[0], *positions.shape), positions)
    return out.reshape(lead + outs), index.reshape(lead + outs)


def adaptive_avg_pool1d(input, output_size):
    """Means over ``output_size`` windows that tile the last dim (starts floor(i L / out), ends
    ceil((i + 1) L / out))."""
    return _adaptive_avg_pool(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Means over an output_size grid of windows tiling H x W (None keeps that dim's size)."""
    return _adaptive_avg_pool(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Means over an output_size grid of windows tiling D x H x W (None keeps that size)."""
    return _adaptive_avg_pool(3, input, output_size)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max_pool(1, input, output_size)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max_pool(2, input, output_size)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max_pool(3, input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Maxima over the windows of adaptive_avg_pool1d; (values, indices) with ``return_indices``."""
    result = _adaptive_max_pool(1, input, output_size)
    return result if return_indices else result[0]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maxima over the windows of adaptive_avg_pool2d; (values, flat indices) with ``return_indices``."""
    result = _adaptive_max_pool(2, input, output_size)
    return result if return_indices else result[0]


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Maxima over the windows of adaptive_avg_pool3d; (values, flat indices) with ``return_indices``."""
    result = _adaptive_max_pool(3, input, output_size)
    return result if return_indices else result[0]


# ---------------------------------------------------------------------------- unpooling and power-average pooling
def _unpool_output_size(input, kernel, stride, padding, output_size):
    """torch's _unpool_output_size: the default size, or ``output_size`` (optionally with the
    batch and channel dims) within one stride of it."""
    n = len(kernel)
    default = [(input.shape[input.ndim - n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        sizes = default
    else:
        sizes = list(output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                             f"length of '{len(sizes)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < sizes[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {low} and {high})')
    for d, s in enumerate(sizes):
        if s < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={s}")
    return tuple(int(s) for s in sizes)


def _max_unpool(n, input, indices, kernel_size, stride, padding, output_size):
    """Zeros of the unpooled size with each input value written at its flat index."""
    op = f"max_unpool{n}d"
    kernel = _int_tuple(kernel_size, n, op, "kernel_size")
    sizes = _unpool_output_size(input, kernel, _stride_or_kernel(stride, kernel, n, op),
                                _int_tuple(padding, n, op, "padding"), output_size)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Input to max_unpooling{n}d should be a {n + 1}d or {n + 2}d Tensor, but got a tensor "
                           f"with {input.ndim} dimensions.")
    if indices.dtype is not heron.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype._name}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    _require_dtype(op, input)
    lead, volume = tuple(input.shape[:-n]), _prod(sizes)
    flat_index = indices.reshape(-1, _prod(input.shape[-n:]))
    if flat_index.numel():
        bad = flat_index[(flat_index < 0) | (flat_index >= volume)]
        if bad.numel():
            raise RuntimeError(f"Found an invalid max index: {int(bad[0])} (output volumes are of size "
                               f"{'x'.join(map(str, sizes))}")
    canvas = heron.zeros(flat_index.shape[0], volume, dtype=input.dtype)
    out = heron.scatter(canvas, 1, flat_index, input.reshape(flat_index.shape))
    return out.reshape(lead + sizes)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool1d: each value put back at its index, zeros elsewhere."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d: each value put back at its flat index in its plane."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool3d: each value put back at its flat index in its volume."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def _lp_pool(n, input, norm_type, kernel_size, stride, ceil_mode):
    """torch's formula: (sum over the window of x^p)^(1/p) as an average times the window
    size, with sign(s) * relu(|s|) so that a zero sum has a zero gradient."""
    max_pool, avg_pool = {1: (max_pool1d, avg_pool1d), 2: (max_pool2d, avg_pool2d), 3: (max_pool3d, avg_pool3d)}[n]
    if norm_type == np.inf:
        return max_pool(heron.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -np.inf:
        return -max_pool(-heron.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    kernel = _int_tuple(kernel_size, n, f"lp_pool{n}d", "kernel_size")
    out = avg_pool(heron.pow(input, norm_type), kernel_size, stride, 0, ceil_mode)
    return (heron.sign(out) * heron.relu(heron.abs(out)) * _prod(kernel)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over L: (sum of x^p over each window)^(1/p)."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over H and W: (sum of x^p over each window)^(1/p)."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over D, H and W: (sum of x^p over each window)^(1/p)."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)
