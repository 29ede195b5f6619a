"""NumPy float64 references of the pooling and resampling ops, written as directly as the
definitions (a loop over output positions, separable index arithmetic): the op database and
the tests compare heron's composites with them."""
from __future__ import annotations

import itertools
import math

import numpy as np


def _ntuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's pooling output size: a ceil_mode window may not start in the right padding."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    return out - 1 if ceil_mode and (out - 1) * stride >= size + padding else out


def _windows(spatial, kernel, stride, padding, dilation, ceil_mode):
    """For every output position: the in-bounds input coordinates of its window, in scan
    order, and its size clipped to the padded input (avg_pool's count_include_pad divisor)."""
    outs = [pool_output_size(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding, dilation)]
    for position in itertools.product(*map(range, outs)):
        starts = [o * s - p for o, s, p in zip(position, stride, padding)]
        axes = [[st + j * d for j in range(k)] for st, k, d in zip(starts, kernel, dilation)]
        inside = [c for c in itertools.product(*axes) if all(0 <= x < n for x, n in zip(c, spatial))]
        padded = math.prod(min(st + k, n + p) - st for st, k, n, p in zip(starts, kernel, spatial, padding))
        yield position, inside, padded


def max_pool(x, n, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over the last ``n`` dims: the first maximum of each window in scan order
    and (with ``return_indices``) its flat position in the plane."""
    kernel = _ntuple(kernel_size, n)
    stride, padding, dilation = _ntuple(stride or kernel, n), _ntuple(padding, n), _ntuple(dilation, n)
    spatial = x.shape[-n:]
    outs = [pool_output_size(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding, dilation)]
    values = np.zeros(x.shape[:-n] + tuple(outs), dtype=x.dtype)
    indices = np.zeros(values.shape, dtype=np.int64)
    for position, inside, _ in _windows(spatial, kernel, stride, padding, dilation, ceil_mode):
        window = np.stack([x[(...,) + c] for c in inside], -1)
        best = window.argmax(-1)
        values[(...,) + position] = window.max(-1)
        indices[(...,) + position] = np.ravel_multi_index(np.array(inside).T, spatial)[best]
    return (values, indices) if return_indices else values


def avg_pool(x, n, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Average pooling over the last ``n`` dims, with torch's divisor rules."""
    kernel = _ntuple(kernel_size, n)
    stride, padding = _ntuple(stride or kernel, n), _ntuple(padding, n)
    spatial = x.shape[-n:]
    outs = [pool_output_size(*args, 1, ceil_mode) for args in zip(spatial, kernel, stride, padding)]
    out = np.zeros(x.shape[:-n] + tuple(outs))
    for position, inside, padded in _windows(spatial, kernel, stride, padding, (1,) * n, ceil_mode):
        total = sum(x[(...,) + c] for c in inside)
        out[(...,) + position] = total / (divisor_override or (padded if count_include_pad else len(inside)))
    return out


def adaptive_pool(x, output_size, reduce):
    """``reduce`` (np.mean, np.max) over windows [floor(i L / o), ceil((i + 1) L / o)) per dim."""
    n = len(output_size)
    spatial = x.shape[-n:]
    out = np.zeros(x.shape[:-n] + tuple(output_size))
    for position in itertools.product(*map(range, output_size)):
        key = tuple(slice(i * s // o, -(-(i + 1) * s // o)) for i, s, o in zip(position, spatial, output_size))
        block = x[(...,) + key]
        block = block.reshape(block.shape[:-n] + (math.prod(block.shape[-n:]),))
        out[(...,) + position] = reduce(block, axis=-1)
    return out


def interpolate(x, size, mode="nearest", align_corners=None):
    """'nearest' and the linear modes to ``size``, one spatial dim at a time."""
    out = x
    for axis, (n, m) in enumerate(zip(x.shape[2:], _ntuple(size, x.ndim - 2)), start=2):
        if mode == "nearest":
            out = np.take(out, np.minimum(np.floor(np.arange(m) * (n / m)).astype(int), n - 1), axis)
            continue
        if align_corners:
            source = np.arange(m) * ((n - 1) / (m - 1) if m > 1 else 0.0)
        else:
            source = np.maximum((np.arange(m) + 0.5) * (n / m) - 0.5, 0.0)
        low = np.minimum(np.floor(source).astype(int), n - 1)
        high = np.minimum(low + 1, n - 1)
        weight = (source - low).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
        out = np.take(out, low, axis) * (1 - weight) + np.take(out, high, axis) * weight
    return out
