"""Reductions (sum, mean, prod, max/min, argmax, var/std, logsumexp, norm, all/any), softmax
and cumulative sums, with their backward rules."""
from __future__ import annotations

import builtins
import math

from .. import _C
from .._dtype import as_dtype
from .._tensor import Tensor
from ..autograd.function import Function
from ._util import ValuesIndices, dims_arg, grad_needed, wrap
from . import elementwise as ew

_R = _C.REDUCE


def _normalized_dims(x, dims):
    nd = x.ndim
    n = builtins.max(nd, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        out.append(d % n if nd else 0)
    return sorted(set(out)) if dims else list(range(nd))


def _expand_back(g, x_shape, dims, keepdim):
    """Broadcasts a reduced gradient back over the reduced dims of an input of shape x_shape."""
    if not keepdim and len(x_shape):
        shape = list(x_shape)
        for d in dims:
            shape[d] = 1
        g = g.reshape(shape)
    return g.expand(x_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim, ctx.in_dtype = x.shape, _normalized_dims(x, dims), keepdim, x.dtype
        return wrap(_C.reduce(_R["sum"], x._a, dims, keepdim, dtype))

    @staticmethod
    def backward(ctx, g):
        return ew.cast(_expand_back(g, ctx.shape, ctx.dims, ctx.keepdim), ctx.in_dtype), None, None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    dims = dims_arg(dim, input.ndim)
    code = None if dtype is None else as_dtype(dtype)._code
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        dims = []
    if grad_needed(input):
        return Sum.apply(input, dims, keepdim, code)
    return wrap(_C.reduce(_R["sum"], input._a, dims, keepdim, code))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return sum(ew.where(ew.isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {input.dtype._name}"
        )
    dims = _normalized_dims(input, dims_arg(dim, input.ndim))
    count = 1
    for d in dims:
        count *= input.shape[d] if input.ndim else 1
    s = sum(input, dim, keepdim)
    return s / count if count else s * math.nan


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    valid = ew.logical_not(ew.isnan(input))
    return nansum(input, dim, keepdim, dtype=dtype) / sum(valid, dim, keepdim)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        y = wrap(_C.reduce(_R["prod"], x._a, dims, keepdim, dtype))
        ctx.dims, ctx.keepdim = _normalized_dims(x, dims), keepdim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        g = _expand_back(g, x.shape, ctx.dims, ctx.keepdim)
        y = _expand_back(y, x.shape, ctx.dims, ctx.keepdim)
        # Product of the others: y / x where x != 0; with zeros, the exclusive product.
        if bool(ew.eq(x, 0).any()):
            return g * _prod_of_others(x, ctx.dims), None, None, None
        return g * y / x, None, None, None


def _prod_of_others(x, dims):
    """For each element, the product of the other elements along ``dims`` (exact with zeros)."""
    from .shape import flip

    if len(dims) != 1:  # prod over every dim: work on the flattened tensor
        return _prod_of_others(x.reshape(-1), [0]).reshape(x.shape)
    d = dims[0]
    left = _exclusive_cumprod(x, d)
    right = flip(_exclusive_cumprod(flip(x, [d]), d), [d])
    return left * right


def _exclusive_cumprod(x, d):
    from .shape import cat, narrow

    n = x.shape[d]
    one = narrow(x, d, 0, 1) * 0.0 + 1.0
    if n == 1:
        return one
    return cat([one, cumprod(narrow(x, d, 0, n - 1), d)], d)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    dims = [] if dim is None else [int(dim)]
    code = None if dtype is None else as_dtype(dtype)._code
    if grad_needed(input):
        return Prod.apply(input, dims, keepdim, code)
    return wrap(_C.reduce(_R["prod"], input._a, dims, keepdim, code))


class AMaxMin(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, op):
        y = wrap(_C.reduce(_R[op], x._a, dims, keepdim, None))
        ctx.dims, ctx.keepdim = _normalized_dims(x, dims), keepdim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        y = _expand_back(y, x.shape, ctx.dims, ctx.keepdim)
        mask = ew.eq(x, y).to(g.dtype)
        count = sum(mask, ctx.dims, keepdim=True)
        return _expand_back(g, x.shape, ctx.dims, ctx.keepdim) * mask / count, None, None, None


def amax(input, dim=(), keepdim=False):
    dims = dims_arg(dim, input.ndim)
    if grad_needed(input):
        return AMaxMin.apply(input, dims, keepdim, "max")
    return wrap(_C.reduce(_R["max"], input._a, dims, keepdim, None))


def amin(input, dim=(), keepdim=False):
    dims = dims_arg(dim, input.ndim)
    if grad_needed(input):
        return AMaxMin.apply(input, dims, keepdim, "min")
    return wrap(_C.reduce(_R["min"], input._a, dims, keepdim, None))


class MaxMinDim(Function):
    @staticmethod
    def forward(ctx, x, dim, keepdim, op):
        values, indices = _C.reduce_with_index(_R[op], x._a, dim, keepdim)
        values, indices = wrap(values), wrap(indices)
        ctx.mark_non_differentiable(indices)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, _):
        (indices,) = ctx.saved_tensors
        return _scatter_back(g, indices, ctx.shape, ctx.dim, ctx.keepdim), None, None, None


def _scatter_back(g, indices, shape, dim, keepdim):
    from .creation import zeros
    from .indexing import scatter

    if len(shape) == 0:
        return g.reshape(())
    if not keepdim:
        g = g.unsqueeze(dim)
        indices = indices.unsqueeze(dim)
    return scatter(zeros(shape, dtype=g.dtype), dim, indices, g)


def _minmax(op, input, dim, keepdim, other):
    if isinstance(dim, Tensor) and other is None:
        return ew.maximum(input, dim) if op == "max" else ew.minimum(input, dim)
    if dim is None:
        return amax(input) if op == "max" else amin(input)
    if grad_needed(input):
        v, i = MaxMinDim.apply(input, int(dim), keepdim, op)
    else:
        v, i = _C.reduce_with_index(_R[op], input._a, int(dim), keepdim)
        v, i = wrap(v), wrap(i)
    return ValuesIndices((v, i))


def max(input, dim=None, keepdim=False, *, other=None):
    if input.numel() == 0 and dim is None:
        raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    return _minmax("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    if input.numel() == 0 and dim is None:
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    return _minmax("min", input, dim, keepdim, other)


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        flat = input.reshape(-1)
        out = wrap(_C.reduce(_R["argmax"], flat._a, [0], False, None))
        return out.reshape([1] * input.ndim) if keepdim else out
    return wrap(_C.reduce(_R["argmax"], input._a, [int(dim)], keepdim, None))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        flat = input.reshape(-1)
        out = wrap(_C.reduce(_R["argmin"], flat._a, [0], False, None))
        return out.reshape([1] * input.ndim) if keepdim else out
    return wrap(_C.reduce(_R["argmin"], input._a, [int(dim)], keepdim, None))


def all(input, dim=None, keepdim=False):
    return wrap(_C.reduce(_R["all"], input._a, dims_arg(dim, input.ndim), keepdim, None))


def any(input, dim=None, keepdim=False):
    return wrap(_C.reduce(_R["any"], input._a, dims_arg(dim, input.ndim), keepdim, None))


def count_nonzero(input, dim=None):
    return sum(ew.ne(input, 0), dim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if unbiased is not None and correction is not None:
        raise RuntimeError("var(): cannot specify both 'unbiased' and 'correction'")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"var(): input dtype should be floating point, got {input.dtype._name}")
    if input.dtype.itemsize == 2:  # float16/bfloat16: accumulate in float32 and round once, as torch does
        return var(input.float(), dim, None, keepdim, correction=correction).to(input.dtype)
    dims = _normalized_dims(input, dims_arg(dim, input.ndim))
    n = 1
    for d in dims:
        n *= input.shape[d] if input.ndim else 1
    # No degrees of freedom left (n <= correction): divide by 0, giving inf or nan, as torch.
    denom = builtins.max(n - correction, 0)
    if grad_needed(input):
        return Var.apply(input, dims, keepdim, denom)
    return _sum_sq_dev(input, dims, keepdim) / denom


def _sum_sq_dev(x, dims, keepdim):
    dev = x - mean(x, dims if x.ndim else None, keepdim=True)
    return sum(dev * dev, dims if x.ndim else None, keepdim)


class Var(Function):
    """var with torch's backward, 2 (x - mean) g / denom (the composite's path through the
    mean turns inf - inf into nan when denom is 0)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, denom):
        ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, denom
        ctx.save_for_backward(x)
        return _sum_sq_dev(x, dims, keepdim) / denom

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        dims = ctx.dims if x.ndim else None
        g = _expand_back(g, x.shape, ctx.dims, ctx.keepdim)
        return (x - mean(x, dims, keepdim=True)) * (g * 2.0) / ctx.denom, None, None, None


class _SqrtOfVar(Function):
    """sqrt with a zero gradient where the result is 0 (torch's std backward), not g / 0."""

    @staticmethod
    def forward(ctx, v):
        y = ew.sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ew.where(y == 0, 0.0, g / (2.0 * y))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return _SqrtOfVar.apply(v) if grad_needed(v) else ew.sqrt(v)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def logsumexp(input, dim, keepdim=False):
    if not input.dtype.is_floating_point:
        input = input.to(ew._default_float())
    dims = dims_arg(dim, input.ndim)
    if input.numel() == 0:
        return ew.log(sum(ew.exp(input), dims, keepdim))
    m = amax(input.detach(), dims, keepdim=True)
    m = ew.where(ew.isinf(m), 0.0, m)
    out = ew.log(sum(ew.exp(input - m), dims, keepdim=True)) + m
    if not keepdim:
        out = out.squeeze(_normalized_dims(input, dims)) if input.ndim else out
    return out


class Norm2(Function):
    """sqrt(sum(x^2)) with a zero gradient at zero (the subgradient torch picks)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        y = ew.sqrt(sum(x * x, dims, keepdim))
        ctx.dims, ctx.keepdim = _normalized_dims(x, dims), keepdim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        y = _expand_back(y, x.shape, ctx.dims, ctx.keepdim)
        g = _expand_back(g, x.shape, ctx.dims, ctx.keepdim)
        return ew.where(y == 0, 0.0, g * x / y), None, None


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype._name}")
    dims = dims_arg(dim, input.ndim)
    if p in ("fro", 2, 2.0):
        if grad_needed(input):
            return Norm2.apply(input, dims, keepdim)
        return ew.sqrt(sum(input * input, dims, keepdim))
    if p in (math.inf, "inf"):
        return amax(ew.abs(input), dims, keepdim)
    if p == -math.inf:
        return amin(ew.abs(input), dims, keepdim)
    if p == 0:
        count = sum(ew.ne(input, 0).to(input.dtype), dims, keepdim)
        return ew.keep_in_graph(input, count) if grad_needed(input) else count
    if p == 1:
        return sum(ew.abs(input), dims, keepdim)
    if isinstance(p, (int, float)):
        return ew.pow(sum(ew.pow(ew.abs(input), p), dims, keepdim), 1.0 / p)
    raise NotImplementedError(f"norm: p={p!r} is not supported (use a number, 'fro' or inf)")


# ---------------------------------------------------------------------------- softmax
class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim, log, dtype):
        y = wrap(_C.softmax(x._a, dim, log, dtype))
        ctx.dim, ctx.log, ctx.in_dtype = dim, log, x.dtype
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        d = ctx.dim
        if ctx.log:
            gx = g - ew.exp(y) * sum(g, d, keepdim=True)
        else:
            gx = y * (g - sum(g * y, d, keepdim=True))
        return ew.cast(gx, ctx.in_dtype), None, None, None


def _softmax(input, dim, log, dtype):
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # torch's legacy implicit choice
    code = None if dtype is None else as_dtype(dtype)._code
    if grad_needed(input):
        return Softmax.apply(input, int(dim), log, code)
    return wrap(_C.softmax(input._a, int(dim), log, code))


def softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, False, dtype)


def log_softmax(input, dim=None, dtype=None):
    return _softmax(input, dim, True, dtype)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim, ctx.in_dtype = dim, x.dtype
        return wrap(_C.cumulative(x._a, dim, False, dtype))

    @staticmethod
    def backward(ctx, g):
        from .shape import flip

        if g.ndim == 0:
            return g, None, None
        d = ctx.dim
        return ew.cast(flip(cumsum(flip(g, [d]), d), [d]), ctx.in_dtype), None, None


def cumsum(input, dim, *, dtype=None):
    code = None if dtype is None else as_dtype(dtype)._code
    if grad_needed(input):
        return CumSum.apply(input, int(dim), code)
    return wrap(_C.cumulative(input._a, int(dim), False, code))


def cumprod(input, dim, *, dtype=None):
    code = None if dtype is None else as_dtype(dtype)._code
    if grad_needed(input):
        return CumProd.apply(input, int(dim), code)
    return wrap(_C.cumulative(input._a, int(dim), True, code))


class CumProd(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        y = wrap(_C.cumulative(x._a, dim, True, dtype))
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        from .shape import flip

        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return g, None, None
        if bool(ew.eq(x, 0).any()):
            raise NotImplementedError("cumprod backward for inputs containing zeros is not supported yet")
        d = ctx.dim
        return flip(cumsum(flip(g * y, [d]), d), [d]) / x, None, None
