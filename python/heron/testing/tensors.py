"""Making test tensors, converting them to NumPy and torch, and comparing results.

Everything here is deterministic given a ``numpy.random.Generator``: test inputs never come
from heron's own random stream, so a failing case can be rebuilt from its seed.
"""
from __future__ import annotations

import numpy as np

import heron
from heron import Tensor

FLOATS = (heron.float32, heron.float64, heron.float16, heron.bfloat16)
INTS = (heron.uint8, heron.int8, heron.int16, heron.int32, heron.int64)
ALL_DTYPES = (heron.bool,) + INTS + FLOATS

# Per-dtype (rtol, atol) for comparing a heron result with a float64 reference. Keyed by the
# dtype of the heron result: the rounding of the output dominates. Integers and bool compare
# exactly.
TOLERANCES = {
    heron.float64: (1e-7, 1e-7),
    heron.float32: (1.3e-5, 1e-5),
    heron.float16: (2e-3, 1e-3),
    heron.bfloat16: (1.6e-2, 1e-2),
}

# Layouts a sample tensor can have. Non-contiguous layouts keep the values and shape but give
# the tensor other strides: "transposed" swaps the last two dims of a contiguous base,
# "strided" takes every second element of the last dim, "expanded" broadcasts dim 0 (stride 0).
LAYOUTS = ("contiguous", "transposed", "strided", "expanded")


def tolerance(dtype, overrides=None):
    """(rtol, atol) for results of ``dtype``; ``overrides`` maps dtypes to (rtol, atol)."""
    if overrides and dtype in overrides:
        return overrides[dtype]
    return TOLERANCES.get(dtype, (0.0, 0.0))


def _values(shape, dtype, rng, low, high, integers, exclude_zero):
    """NumPy values for a tensor of ``dtype`` (float64 for floats, int64 for ints, bool)."""
    if dtype is heron.bool:
        return rng.random(shape) < 0.5
    if not dtype.is_floating_point:
        lo = 0 if not dtype.is_signed else (-9 if low is None else int(low))
        lo = max(lo, 0) if not dtype.is_signed else lo
        hi = 10 if high is None else int(high)
        v = rng.integers(lo, hi, size=shape, dtype=np.int64)
        if exclude_zero:
            v = np.where(v == 0, 1, v)
        return v
    lo = -4.0 if low is None else float(low)
    hi = 4.0 if high is None else float(high)
    if integers:
        v = rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1, size=shape).astype(np.float64)
    else:
        v = rng.uniform(lo, hi, size=shape)
    if exclude_zero:
        v = np.where(np.abs(v) < 1e-3 if not integers else v == 0, 1.0, v)
    return v


def from_values(values, dtype) -> Tensor:
    """A contiguous heron tensor of ``dtype`` holding NumPy ``values``."""
    values = np.asarray(values)
    if dtype is heron.bfloat16:
        return heron.tensor(values.astype(np.float32), dtype=heron.float32).to(heron.bfloat16)
    return heron.tensor(values.astype(dtype.to_numpy()), dtype=dtype)


def round_to(values, dtype) -> np.ndarray:
    """float64 ``values`` rounded to a floating ``dtype`` (and back to float64)."""
    values = np.asarray(values, dtype=np.float64)
    if dtype is heron.float64:
        return values
    if dtype is heron.bfloat16:
        return to_numpy(from_values(values, heron.bfloat16))
    return values.astype(dtype.to_numpy()).astype(np.float64)


def make_tensor(shape, dtype, rng, *, low=None, high=None, layout="contiguous", requires_grad=False,
                integers=False, exclude_zero=False) -> Tensor:
    """A leaf tensor of ``shape``/``dtype`` with values drawn from ``rng`` in [low, high).

    ``layout`` picks the strides (see LAYOUTS); a non-contiguous result is a detached view of
    a larger base, so it is still a leaf and can require grad.
    """
    shape = tuple(shape)
    nd = len(shape)
    if layout == "transposed" and nd < 2:
        layout = "strided" if nd else "contiguous"
    if layout in ("strided", "expanded") and nd < 1:
        layout = "contiguous"
    if layout == "transposed":
        base_shape = shape[:-2] + (shape[-1], shape[-2])
    elif layout == "strided":
        base_shape = shape[:-1] + (2 * shape[-1],)
    elif layout == "expanded":
        base_shape = (1,) + shape[1:]
    elif layout == "contiguous":
        base_shape = shape
    else:
        raise ValueError(f"unknown layout {layout!r}")
    base = from_values(_values(base_shape, dtype, rng, low, high, integers, exclude_zero), dtype)
    if layout == "transposed":
        t = base.transpose(-1, -2)
    elif layout == "strided":
        t = base[..., ::2]
    elif layout == "expanded":
        t = base.expand(shape)
    else:
        t = base
    t = t.detach()
    assert tuple(t.shape) == shape
    if requires_grad:
        t.requires_grad_(True)
    return t


def to_numpy(t) -> np.ndarray:
    """A float64 (floats), int64 (integers) or bool NumPy copy of a heron tensor's values."""
    if not isinstance(t, Tensor):
        return np.asarray(t)
    t = t.detach()
    if t.dtype is heron.bfloat16:
        t = t.float()
    a = np.array(t.numpy(), copy=True)
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    return a


def torch_dtype(dtype):
    import torch

    return getattr(torch, dtype._name)


def heron_dtype(torch_dt):
    return getattr(heron, str(torch_dt).replace("torch.", ""))


def to_torch(t, requires_grad=False):
    """A torch tensor with the dtype, shape and values of a heron tensor (not sharing memory)."""
    import torch

    t = t.detach()
    if t.dtype is heron.bfloat16:
        out = torch.from_numpy(np.array(t.float().numpy(), copy=True)).to(torch.bfloat16)
    else:
        out = torch.from_numpy(np.array(t.numpy(), copy=True))
    if requires_grad:
        out.requires_grad_(True)
    return out


def map_structure(obj, fn, is_leaf=lambda o: isinstance(o, Tensor)):
    """Applies ``fn`` to every leaf (a Tensor by default) inside nested tuples, lists and dicts;
    keeps everything else."""
    if is_leaf(obj):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(map_structure(o, fn, is_leaf) for o in obj)
    if isinstance(obj, list):
        return [map_structure(o, fn, is_leaf) for o in obj]
    if isinstance(obj, dict):
        return {k: map_structure(v, fn, is_leaf) for k, v in obj.items()}
    return obj


def tensors_in(obj):
    """The heron tensors inside ``obj``, in traversal order."""
    found = []
    map_structure(obj, lambda t: found.append(t) or t)
    return found


def to_torch_structure(obj, requires_grad=False):
    """Converts heron tensors and dtypes inside ``obj`` to torch ones."""
    import torch

    def conv(o):
        if isinstance(o, Tensor):
            return to_torch(o, requires_grad=requires_grad and o.dtype.is_floating_point)
        return torch_dtype(o)

    return map_structure(obj, conv, is_leaf=lambda o: isinstance(o, (Tensor, heron.dtype)))


def to_numpy_structure(obj):
    """Converts heron tensors inside ``obj`` to NumPy arrays (see to_numpy)."""
    return map_structure(obj, to_numpy)


def flatten_outputs(out):
    """A list of the results of an op: tensors, arrays or numbers, nested sequences flattened."""
    if isinstance(out, (list, tuple)):
        flat = []
        for o in out:
            flat.extend(flatten_outputs(o))
        return flat
    return [out]


def torch_to_numpy(t) -> np.ndarray:
    import torch

    if not isinstance(t, torch.Tensor):
        return np.asarray(t)
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.float()
    a = np.array(t.numpy(), copy=True)
    return a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64) if a.dtype.kind in "iu" else a


def assert_close(actual, expected, *, rtol=0.0, atol=0.0, equal_nan=True, check_shape=True, msg=""):
    """Asserts a heron tensor (or array/number) matches ``expected`` elementwise.

    Shapes must agree exactly; NaNs must sit in the same places; infinities must match.
    """
    a = to_numpy(actual) if isinstance(actual, Tensor) else np.asarray(actual)
    e = np.asarray(expected)
    if check_shape and a.shape != e.shape:
        raise AssertionError(f"{msg}shape mismatch: got {a.shape}, expected {e.shape}")
    a, e = np.broadcast_arrays(a, e)
    if a.dtype == np.bool_ or e.dtype == np.bool_:
        if a.dtype != e.dtype and not (a.dtype.kind in "biu" and e.dtype.kind in "biu"):
            a, e = a.astype(np.float64), e.astype(np.float64)
        else:
            bad = a.astype(np.int64) != e.astype(np.int64)
            if bad.any():
                raise AssertionError(f"{msg}{int(bad.sum())} of {bad.size} values differ\nactual: {a}\nexpected: {e}")
            return
    a = a.astype(np.float64)
    e = e.astype(np.float64)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if equal_nan and (nan_a != nan_e).any():
        raise AssertionError(f"{msg}NaN positions differ\nactual: {a}\nexpected: {e}")
    ok = nan_a & nan_e if equal_nan else np.zeros(a.shape, bool)
    with np.errstate(invalid="ignore", over="ignore"):
        same_inf = np.isinf(a) & np.isinf(e) & (a == e)
        close = np.abs(a - e) <= atol + rtol * np.abs(e)
    bad = ~(ok | same_inf | close)
    if bad.any():
        idx = np.argwhere(bad)[0]
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(bad, np.abs(a - e), 0).max()
        raise AssertionError(
            f"{msg}{int(bad.sum())} of {bad.size} values differ (rtol={rtol}, atol={atol}); max abs diff {diff:.3g}; "
            f"first at {tuple(int(i) for i in idx)}: got {a[tuple(idx)]!r}, expected {e[tuple(idx)]!r}"
        )
