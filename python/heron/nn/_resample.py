"""heron.nn.functional's resampling: interpolate (and the deprecated upsample names),
pixel_shuffle and pixel_unshuffle, as composites of heron ops with torch's arguments, output
sizes and exception types.

Every interpolation mode but 'area' is separable: along each spatial dim, an output position
is a weighted sum of a few input positions ("taps": 1 for nearest, 2 for linear, 4 for
cubic). The taps' positions and weights are computed on the host with torch's formulas, in
torch's precision (float32 index arithmetic for nearest; the input's accumulation type for the
others), and applied with one ``index_select`` per tap. 'area' is adaptive average pooling.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

import heron

from . import _pooling

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact", "lanczos")
_SPATIAL_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}  # modes tied to a rank
_CUBIC_A = -0.75  # torch's bicubic convolution coefficient


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resizes the spatial dims of (N, C, *spatial) to ``size`` or by ``scale_factor``, as
    torch.nn.functional.interpolate: 'nearest', 'nearest-exact', 'linear' (3-D input),
    'bilinear' and 'bicubic' (4-D), 'trilinear' (5-D), with ``align_corners`` for the
    interpolating modes, and 'area' (adaptive average pooling). With a ``scale_factor`` the
    source positions use it (unless ``recompute_scale_factor``), the size is floor(in * s).
    ``antialias`` and 'lanczos' are not supported (NotImplementedError)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dims = input.ndim - 2
    output_size, scales = _size_or_scales(input, size, scale_factor, dims)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or (mode == "area" and output_size is None):
        output_size, scales = [math.floor(input.shape[2 + i] * s) for i, s in enumerate(scales)], None
    _check_mode(input, mode, align_corners, antialias)
    if mode == "area":  # the size is always given here
        return _pooling._adaptive_avg_pool(dims, input, output_size)
    if output_size is None:
        output_size = [int(input.shape[2 + i] * s) for i, s in enumerate(scales)]
    _check_sizes(input, output_size)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported by heron for {input.dtype} input")
    out = input
    for i in range(dims):
        scale = None if scales is None else scales[i]
        out = _apply_taps(out, 2 + i, _taps(mode, input.shape[2 + i], output_size[i], scale, align_corners,
                                            _index_dtype(input.dtype)))
    return out


def _size_or_scales(input, size, scale_factor, dims):
    """(output size, None) or (None, scale factors), one per spatial dim, with torch's checks."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        size = _per_spatial_dim(size, input, "output", "output size of", "output size in (o1, o2, ...,oK)")
        if not all(_is_integer(s) for s in size):
            raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, int], "
                            f"but got size with types {[type(s) for s in size]}")
        return [operator.index(s) for s in size], None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = _per_spatial_dim(scale_factor, input, "scale_factor", "scale_factor of shape",
                              "scale_factor in (s1, s2, ...,sK)")
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scales):
        raise TypeError(f"interpolate(): scale_factor must be a float or a sequence of floats, got {scale_factor}")
    return None, [float(s) for s in scales]


def _per_spatial_dim(value, input, name, described_as, layout):
    """A scalar repeated for each spatial dim, or a sequence of one value per spatial dim."""
    dims = input.ndim - 2
    if not isinstance(value, (list, tuple)):
        return [value] * dims
    if len(value) != dims:
        raise ValueError(f"Input and {name} must have the same number of spatial dimensions, but got input with "
                         f"spatial dimensions of {list(input.shape[2:])} and {described_as} {value}. Please provide "
                         f"input tensor in (N, C, d1, d2, ...,dK) format and {layout} format.")
    return list(value)


def _is_integer(value):
    if isinstance(value, heron.Tensor):
        return not value.is_floating_point()
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_mode(input, mode, align_corners, antialias):
    """torch's checks of the mode against the input's rank and the options, in its order."""
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    if mode == "lanczos" and input.ndim == 4:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    dims = input.ndim - 2
    if mode in _SPATIAL_DIMS and dims in (1, 2, 3) and _SPATIAL_DIMS[mode] != dims:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_SPATIAL_DIMS[mode] + 2}D input")
    if mode not in _MODES or dims not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if antialias or mode == "lanczos":
        raise NotImplementedError(f"interpolate: antialias=True (mode '{mode}') is not supported by heron")


def _check_sizes(input, output_size):
    sizes = list(input.shape[2:])
    if min(sizes + list(output_size)) <= 0:
        names = ("D", "H", "W")[3 - len(sizes):]
        described = lambda values: ", ".join(f"{n}: {v}" for n, v in zip(names, values))  # noqa: E731
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({described(sizes)}) "
                           f"output ({described(output_size)})")


def _index_dtype(dtype):
    """torch's accumulation type for the source positions and weights of the input's dtype."""
    return np.float64 if dtype is heron.float64 else np.float32


# ---------------------------------------------------------------------------- taps
def _taps(mode, in_size, out_size, scale, align_corners, real):
    """[(input position, weight or None)] per tap: every output position along one dim is
    sum(weight * input[position]). ``scale``: the user's scale factor or None; ``real``: the
    NumPy type torch computes positions in."""
    if mode in ("nearest", "nearest-exact"):
        return [(_nearest_positions(mode, in_size, out_size, scale), None)]
    ratio = _source_ratio(in_size, out_size, scale, align_corners, real)
    source = ratio * np.arange(out_size, dtype=real)
    if not align_corners:
        source = ratio * (np.arange(out_size, dtype=real) + real(0.5)) - real(0.5)
        if mode != "bicubic":
            source = np.maximum(source, real(0))
    # torch's guard_index_and_lambda: floorf of the position, the fraction clamped to [0, 1]
    index = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), in_size - 1)
    fraction = np.clip(source - index.astype(real), real(0), real(1))
    if mode == "bicubic":
        return [(np.clip(index - 1 + j, 0, in_size - 1), w) for j, w in enumerate(_cubic_weights(fraction))]
    return [(index, real(1) - fraction), (index + (index < in_size - 1), fraction)]


def _nearest_positions(mode, in_size, out_size, scale):
    """torch's nearest_idx / nearest_exact_idx, in float32."""
    out = np.arange(out_size)
    if mode == "nearest" and out_size == in_size:
        return out
    if mode == "nearest" and out_size == 2 * in_size:
        return out >> 1
    ratio = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(in_size) / np.float32(out_size)
    if mode == "nearest":
        source = out.astype(np.float32) * ratio
    else:  # nearest-exact: pixel centres, (o + 0.5) * ratio in double rounded to float
        source = ((out + 0.5) * np.float64(ratio)).astype(np.float32)
    return np.minimum(np.floor(source).astype(np.int64), in_size - 1)


def _source_ratio(in_size, out_size, scale, align_corners, real):
    """torch's area_pixel_compute_scale: input positions per output position."""
    if align_corners:
        return real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
    if scale is not None and scale > 0:
        return real(1.0 / scale)
    return real(in_size) / real(out_size)


def _cubic_weights(t):
    """The 4 weights of the cubic convolution (A = -0.75) at fractions ``t``."""
    a = t.dtype.type(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _apply_taps(x, dim, taps):
    out = None
    for position, weight in taps:
        term = heron.index_select(x, dim, heron.tensor(position, dtype=heron.int64))
        if weight is not None:
            shape = [1] * x.ndim
            shape[dim] = len(weight)
            term = term * heron.tensor(weight.reshape(shape), dtype=x.dtype)
        out = term if out is None else out + term
    return out


# ---------------------------------------------------------------------------- deprecated names
def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (warns, as torch)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(..., mode='nearest') (warns, as torch)."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(..., mode='bilinear', align_corners=True) (warns, as torch)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------- pixel shuffle
def _check_shuffle_factor(op, name, factor, input):
    if not _is_integer(factor):
        raise TypeError(f"{op}(): argument '{name}' (position 2) must be int, not {type(factor).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           "dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {factor}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block."""
    r = _check_shuffle_factor("pixel_shuffle", "upscale_factor", upscale_factor, input)
    *lead, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    n = len(lead)
    blocks = input.reshape(*lead, channels // (r * r), r, r, height, width)
    out = blocks.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return out.reshape(*lead, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    r = _check_shuffle_factor("pixel_unshuffle", "downscale_factor", downscale_factor, input)
    *lead, channels, height, width = input.shape
    for name, size, dim in (("height", height, -2), ("width", width, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({dim})={size} is not divisible by {r}")
    n = len(lead)
    blocks = input.reshape(*lead, channels, height // r, r, width // r, r)
    out = blocks.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return out.reshape(*lead, channels * r * r, height // r, width // r)
