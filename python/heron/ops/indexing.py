"""Indexing: __getitem__/__setitem__ with torch's basic and advanced semantics, gather,
scatter, index_select/index_add, masked ops, nonzero, sort/topk, one_hot."""
from __future__ import annotations

import builtins

import numpy as np

from .. import _C
from .._dtype import bool_, int64
from .._tensor import Tensor
from ..autograd.function import Function
from ._util import ValuesIndices, grad_needed, sum_to, wrap
from . import elementwise as ew
from . import shape as sh


# ---------------------------------------------------------------------------- index_select & co
class IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.dtype = x.shape, dim, x.dtype
        ctx.save_for_backward(index)
        return wrap(_C.index_select(x._a, dim, index._a))

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros

        (index,) = ctx.saved_tensors
        return index_add(zeros(ctx.shape, dtype=ctx.dtype), ctx.dim, index, g), None, None


def index_select(input, dim, index):
    _check_tensor(index, "index_select", "index")
    if grad_needed(input):
        return IndexSelect.apply(input, dim, index)
    return wrap(_C.index_select(input._a, dim, index._a))


class IndexAdd(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, alpha):
        out = _C.clone(x._a)
        _C.index_add_(out, dim, index._a, src._a, float(alpha))
        ctx.dim, ctx.alpha = dim, alpha
        ctx.save_for_backward(index)
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gsrc = index_select(g, ctx.dim, index) if g.ndim else g
        if ctx.alpha != 1:
            gsrc = gsrc * ctx.alpha
        return g, None, None, gsrc, None


def index_add(input, dim, index, source, *, alpha=1):
    _check_tensor(index, "index_add", "index")
    _check_tensor(source, "index_add", "source")
    if grad_needed(input, source):
        return IndexAdd.apply(input, dim, index, source, alpha)
    out = _C.clone(input._a)
    _C.index_add_(out, dim, index._a, source._a, float(alpha))
    return wrap(out)


def index_add_(input, dim, index, source, *, alpha=1):
    _check_tensor(index, "index_add_", "index")
    _check_tensor(source, "index_add_", "source")
    if grad_needed(input, source):
        return ew._rebase_inplace(input, index_add(ew._snapshot(input), dim, index, source, alpha=alpha))
    _C.index_add_(input._a, dim, index._a, source._a, float(alpha))
    return input


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.dtype = x.shape, dim, x.dtype
        ctx.save_for_backward(index)
        return wrap(_C.gather(x._a, dim, index._a))

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros

        (index,) = ctx.saved_tensors
        return scatter_add(zeros(ctx.shape, dtype=ctx.dtype), ctx.dim, index, g), None, None


def gather(input, dim, index, *, sparse_grad=False):
    _check_tensor(index, "gather", "index")
    if grad_needed(input):
        return Gather.apply(input, dim, index)
    return wrap(_C.gather(input._a, dim, index._a))


def take_along_dim(input, indices, dim=None):
    _check_tensor(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    shape = list(sh.broadcast_shapes(input.shape, indices.shape))
    shape_in, shape_idx = list(shape), list(shape)
    shape_in[dim] = input.shape[dim]
    shape_idx[dim] = indices.shape[dim]
    return gather(input.expand(shape_in), dim, indices.expand(shape_idx))


_REDUCE_CODES = {None: 0, "add": 1, "sum": 1, "multiply": 2, "prod": 2}


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        out = _C.clone(x._a)
        _C.scatter_(out, dim, index._a, src._a if isinstance(src, Tensor) else src, reduce)
        ctx.dim, ctx.reduce = dim, reduce
        ctx.src_shape = src.shape if isinstance(src, Tensor) else None
        ctx.save_for_backward(index)
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        if ctx.reduce == 2:
            raise NotImplementedError("scatter with reduce='multiply' has no backward in heron")
        gx = g if ctx.reduce == 1 else scatter(g, ctx.dim, index, 0.0)
        gsrc = _pad_to(gather(g, ctx.dim, index), ctx.src_shape) if ctx.src_shape is not None else None
        return gx, None, None, gsrc, None


def _pad_to(g, shape):
    """``g`` written at the start of zeros of ``shape`` (src may extend past the index)."""
    if tuple(g.shape) == tuple(shape):
        return g
    key = [slice(0, s) for s in g.shape]
    return sh._into_zeros(g, tuple(shape), g.dtype, lambda z: _basic_view(z, key))


def _scatter(input, dim, index, src, reduce_code):
    _check_tensor(index, "scatter", "index")
    if grad_needed(input, src):
        return Scatter.apply(input, dim, index, src, reduce_code)
    out = _C.clone(input._a)
    _C.scatter_(out, dim, index._a, src._a if isinstance(src, Tensor) else src, reduce_code)
    return wrap(out)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if src is None:
        src = value
    if reduce not in _REDUCE_CODES:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    return _scatter(input, dim, index, src, _REDUCE_CODES[reduce])


def scatter_(input, dim, index, src=None, *, value=None, reduce=None):
    out = scatter(ew._snapshot(input) if grad_needed(input, src) else input, dim, index, src, value=value, reduce=reduce)
    return ew._copy_into(input, out)


def scatter_add(input, dim, index, src):
    return _scatter(input, dim, index, src, 1)


def scatter_add_(input, dim, index, src):
    if grad_needed(input, src):
        return ew._rebase_inplace(input, scatter_add(ew._snapshot(input), dim, index, src))
    _C.scatter_(input._a, dim, index._a, src._a, 1)
    return input


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce == "sum":
        base = input if include_self else scatter(input, dim, index, 0.0)
        return scatter_add(base, dim, index, src)
    if reduce == "prod":
        base = input if include_self else scatter(input, dim, index, 1.0)
        return _scatter(base, dim, index, src, 2)
    raise NotImplementedError(f"scatter_reduce: reduce='{reduce}' is not supported (sum, prod are)")


def masked_fill(input, mask, value):
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {getattr(mask, 'dtype', type(mask).__name__)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s).")
        value = value.to(input.dtype)
    else:
        value = wrap(_C.scalar(value, input._a.dtype))
    out = ew.where(mask, value, input)
    if out.shape != input.shape:
        raise RuntimeError(f"masked_fill: mask of shape {list(mask.shape)} cannot be broadcast to the input's shape {list(input.shape)}")
    return out


def masked_fill_(input, mask, value):
    return ew._copy_into(input, masked_fill(ew._snapshot(input) if grad_needed(input) else input, mask, value))


def masked_select(input, mask):
    if mask.dtype is not bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {mask.dtype._name}")
    shape = sh.broadcast_shapes(input.shape, mask.shape)
    return getitem(sh.expand(input, shape), sh.expand(mask, shape))


def masked_scatter(input, mask, source):
    out = input.clone()
    n = int(mask.sum().item()) if mask.numel() else 0
    setitem(out, sh.expand(mask, input.shape), source.reshape(-1)[:n])
    return out


def nonzero(input, *, as_tuple=False):
    idx = wrap(_C.nonzero(input._a))
    if as_tuple:
        if input.ndim == 0:
            return (idx.reshape(-1),)
        return tuple(idx[:, d] for d in range(input.ndim))
    return idx


def argwhere(input):
    return nonzero(input)


def take(input, index):
    return getitem(input.reshape(-1), index)


# ---------------------------------------------------------------------------- sort and friends
class SortLike(Function):
    @staticmethod
    def forward(ctx, x, dim, run):
        values, indices = run(x._a)
        values, indices = wrap(values), wrap(indices)
        ctx.mark_non_differentiable(indices)
        ctx.shape, ctx.dim, ctx.dtype = x.shape, dim, x.dtype
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, _):
        from .creation import zeros

        (indices,) = ctx.saved_tensors
        if len(ctx.shape) == 0:
            return g, None, None
        return scatter(zeros(ctx.shape, dtype=ctx.dtype), ctx.dim, indices, g), None, None


def _sortlike(input, dim, run):
    if grad_needed(input):
        v, i = SortLike.apply(input, dim, run)
    else:
        v, i = run(input._a)
        v, i = wrap(v), wrap(i)
    return ValuesIndices((v, i))


def sort(input, dim=-1, descending=False, stable=False):
    return _sortlike(input, dim, lambda a: _C.sort(a, dim, descending, stable))


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable)[1]


def msort(input):
    return sort(input, 0)[0]


def topk(input, k, dim=-1, largest=True, sorted=True):
    return _sortlike(input, dim, lambda a: _C.topk(a, k, dim, largest, sorted))


def kthvalue(input, k, dim=-1, keepdim=False):
    v, i = sort(input, dim)
    v, i = sh.select(v, dim, k - 1), sh.select(i, dim, k - 1)
    if keepdim:
        v, i = v.unsqueeze(dim), i.unsqueeze(dim)
    return ValuesIndices((v, i))


def one_hot(tensor, num_classes=-1):
    _check_tensor(tensor, "one_hot", "input")
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    from .creation import arange

    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel() and (int(tensor.min().item()) < 0 or int(tensor.max().item()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if tensor.numel() and int(tensor.min().item()) >= 0 else "Class values must be non-negative.")
    return ew.eq(tensor.unsqueeze(-1), arange(num_classes)).to(int64)


# ---------------------------------------------------------------------------- __getitem__
def _check_tensor(x, op, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _is_advanced(item):
    if isinstance(item, Tensor):
        return True
    if isinstance(item, (list, np.ndarray)):
        return True
    return isinstance(item, bool)


def _to_index_tensor(item):
    from .creation import tensor

    if isinstance(item, Tensor):
        return item
    if isinstance(item, bool):
        return tensor(item, dtype=bool_)
    arr = np.asarray(item)
    if arr.dtype == np.bool_:
        return tensor(arr, dtype=bool_)
    if arr.size == 0:
        return tensor(arr.astype(np.int64), dtype=int64)
    if arr.dtype.kind not in "iu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return tensor(arr.astype(np.int64), dtype=int64)


def _normalize_key(key, ndim):
    """Expands Ellipsis; returns a list of items each consuming 0 (None), 1 or k (k-d bool) dims."""
    if not isinstance(key, tuple):
        key = (key,)
    key = [_to_index_tensor(k) if _is_advanced(k) else k for k in key]
    consumed = 0
    for k in key:
        if k is None or k is Ellipsis:
            continue
        if isinstance(k, Tensor) and k.dtype is bool_:
            consumed += builtins.max(k.ndim, 0) if k.ndim else 0
        else:
            consumed += 1
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    ellipses = [i for i, k in enumerate(key) if k is Ellipsis]
    if len(ellipses) > 1:  # torch expands the first Ellipsis and ignores the others
        key = key[:ellipses[0] + 1] + [k for k in key[ellipses[0] + 1:] if k is not Ellipsis]
        ellipses = ellipses[:1]
    fill = [slice(None)] * (ndim - consumed)
    if ellipses:
        i = ellipses[0]
        key = key[:i] + fill + key[i + 1:]
    else:
        key = key + fill
    return key


def _as_int(k):
    if isinstance(k, Tensor):
        return None
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        return int(k)
    if hasattr(k, "__index__") and not isinstance(k, (slice, type(None))):
        try:
            return k.__index__()
        except TypeError:
            return None
    return None


def _basic_view(arr, key):
    """Applies a key of ints, slices and None to an Array; returns the view."""
    dim = 0
    for k in key:
        if k is None:
            arr = arr.unsqueeze(dim)
            dim += 1
        elif isinstance(k, slice):
            size = arr.shape[dim]
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = k.indices(size)
            arr = arr.slice(dim, start, stop, step)
            dim += 1
        else:
            i = _as_int(k)
            if i is None:
                raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {type(k).__name__})")
            size = arr.shape[dim]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
            arr = arr.select(dim, i)
    return arr


def _is_basic(key):
    return not builtins.any(isinstance(k, Tensor) for k in key)


def getitem(x, key):
    if isinstance(key, Tensor) and key.ndim == 0 and key.dtype is not bool_ and not key.dtype.is_floating_point:
        key = int(key.item())
    if isinstance(key, (int, slice)) or key is None or key is Ellipsis:
        key = _normalize_key(key, x.ndim)
        return _basic(x, key)
    key = _normalize_key(key, x.ndim)
    if _is_basic(key):
        return _basic(x, key)
    return _advanced_get(x, key)


def _basic(x, key):
    in_shape, dt = x.shape, x.dtype
    return sh._view(x, lambda a: _basic_view(a, key), lambda g: sh._into_zeros(g, in_shape, dt, lambda z: _basic_view(z, key)))


def _expand_bool_indices(key):
    """Replaces each k-d bool index with k int64 index tensors (its nonzero coordinates)."""
    out = []
    for k in key:
        if isinstance(k, Tensor) and k.dtype is bool_:
            if k.ndim == 0:
                out.append(("bool0", k))
                continue
            coords = nonzero(k)
            out.extend(coords[:, d] for d in range(k.ndim))
        else:
            out.append(k)
    return out


def _check_masks(x, key):
    """A k-d bool mask must match the k dims of x it covers, as in torch."""
    pos = 0
    for i, k in enumerate(key):
        if k is None:
            continue
        if isinstance(k, Tensor) and k.dtype is bool_ and k.ndim:
            covered = tuple(x.shape[pos:pos + k.ndim])
            for j, (m, s) in enumerate(zip(k.shape, covered)):
                if m != s:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(x.shape)} at index {pos + j}")
            pos += k.ndim
        elif not (isinstance(k, Tensor) and k.dtype is bool_):
            pos += 1


def _plan_advanced(x, key):
    """Views x with slices/None applied and returns (view, advanced dims, index tensors)."""
    _check_masks(x, key)
    key = _expand_bool_indices(key)
    basic_key, adv_dims, adv_index = [], [], []
    dim = 0
    for k in key:
        if isinstance(k, tuple) and k[0] == "bool0":
            # x[True] adds a dim of size 1; x[False] one of size 0.
            basic_key.append(None)
            adv_dims.append(dim)
            adv_index.append(wrap(_C.full([1 if bool(k[1].item()) else 0], 0, int64._code)))
            dim += 1
        elif _as_int(k) is not None or _is_int_scalar_tensor(k):
            # torch applies integers (and 0-d integer tensors) as plain selects first.
            basic_key.append(_as_int(k) if _as_int(k) is not None else int(k.item()))
        elif isinstance(k, Tensor):
            if k.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            basic_key.append(slice(None))
            adv_dims.append(dim)
            adv_index.append(k)
            dim += 1
        else:
            basic_key.append(k)
            dim += 1
    return basic_key, adv_dims, adv_index


def _is_int_scalar_tensor(k):
    return isinstance(k, Tensor) and k.ndim == 0 and not k.dtype.is_floating_point and k.dtype is not bool_


def _flat_index(view_shape, adv_dims, adv_index):
    """Row-major flat index over the advanced dims, negative indices wrapped, bounds checked."""
    shapes = [tuple(t.shape) for t in adv_index]
    bshape = ()
    for s in shapes:
        bshape = tuple(_C.broadcast_shapes(list(bshape), list(s)))
    flat = None
    for d, idx in zip(adv_dims, adv_index):
        size = view_shape[d]
        idx = idx.to(int64)
        if idx.numel():
            lo, hi = int(idx.min().item()), int(idx.max().item())
            if lo < -size or hi >= size:
                bad = hi if hi >= size else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
            if lo < 0:
                idx = ew.where(idx < 0, idx + size, idx)
        idx = sh.expand(idx, bshape)
        flat = idx if flat is None else flat * size + idx
    return flat, bshape


def _advanced_get(x, key):
    basic_key, adv_dims, adv_index = _plan_advanced(x, key)
    v = _basic(x, basic_key)
    if not adv_dims:  # only integer tensors, applied as selects
        return v
    flat, bshape = _flat_index(v.shape, adv_dims, adv_index)
    rest = [d for d in range(v.ndim) if d not in adv_dims]
    moved = sh.permute(v, *(adv_dims + rest))
    n_adv = 1
    for d in adv_dims:
        n_adv *= v.shape[d]
    rest_shape = [v.shape[d] for d in rest]
    table = sh.reshape(moved, [n_adv] + rest_shape)
    picked = index_select(table, 0, flat.reshape(-1))
    out = sh.reshape(picked, list(bshape) + rest_shape)
    adjacent = adv_dims == list(range(adv_dims[0], adv_dims[0] + len(adv_dims)))
    if adjacent and adv_dims[0] > 0:
        nb = len(bshape)
        first = adv_dims[0]
        order = list(range(nb, nb + first)) + list(range(nb)) + list(range(nb + first, out.ndim))
        out = sh.permute(out, *order)
    return out


# ---------------------------------------------------------------------------- __setitem__
def _target_offsets(x, key):
    """Storage offsets (int64 tensor) of every element x[key] designates, and their shape."""
    from .creation import arange

    probe = wrap(_C.reshape(arange(x.numel())._a, list(x.shape))) if x.numel() else wrap(_C.full(list(x.shape), 0, int64._code))
    positions = getitem(probe, key)  # row-major positions within x
    # Row-major position -> storage offset, through x's strides.
    offset = wrap(_C.full(list(positions.shape), x.storage_offset(), int64._code))
    rem = positions
    for size, stride in reversed(list(zip(x.shape, x.stride()))):
        if size == 0:
            continue
        offset = offset + ew.remainder(rem, size) * stride
        rem = ew.floor_divide(rem, size)
    return offset


def _storage_view(x):
    nbytes = x._a.storage_nbytes
    return x._a.as_strided([nbytes // x._a.itemsize], [1], 0)


class SetItem(Function):
    @staticmethod
    def forward(ctx, x, value, key):
        out = _C.clone(x._a)
        _assign(wrap(out), key, value)
        ctx.key = key
        ctx.value_meta = (value.shape, value.dtype) if isinstance(value, Tensor) else None
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        gx = g.clone() if not grad_needed(g) else ew.mul(g, 1.0)
        _assign(gx, ctx.key, 0.0)
        gv = None
        if ctx.value_meta is not None and ctx.needs_input_grad[1]:
            shape, dt = ctx.value_meta
            gv = sum_to(getitem(g, ctx.key), shape).to(dt)
        return gx, gv, None


def _assign(x, key, value):
    """x[key] = value without autograd."""
    nkey = _normalize_key(key, x.ndim)
    if isinstance(value, Tensor):
        value = value.detach()
    if _is_basic(nkey):
        view = _basic_view(x._a, nkey)
        if isinstance(value, Tensor):
            _C.copy_(view, value._a)
        else:
            _C.fill_(view, value)
        return
    offsets = _target_offsets(x, key)
    if isinstance(value, Tensor):
        vals = sh.expand(value.to(x.dtype), offsets.shape).contiguous().reshape(-1)
        _C.scatter_(_storage_view(x), 0, offsets.reshape(-1)._a, vals._a, 0)
    else:
        _C.scatter_(_storage_view(x), 0, offsets.reshape(-1)._a, value, 0)
    x._a.bump_version()


def setitem(x, key, value):
    if not isinstance(value, (Tensor, int, float, bool)):
        from .creation import tensor

        value = tensor(value, dtype=x.dtype)
    if grad_needed(x, value):
        result = SetItem.apply(ew._snapshot(x), value, key)
        ew._rebase_inplace(x, result)
        return
    _assign(x, key, value)


def index_put(input, indices, values, accumulate=False):
    out = input.clone()
    return index_put_(out, indices, values, accumulate)


def index_put_(input, indices, values, accumulate=False):
    key = tuple(indices)
    if not accumulate:
        setitem(input, key, values)
        return input
    if grad_needed(input, values):
        raise NotImplementedError("index_put_(accumulate=True) under autograd is not supported; use index_add")
    offsets = _target_offsets(input, key)
    vals = sh.expand(values.to(input.dtype), offsets.shape).contiguous().reshape(-1)
    _C.scatter_(_storage_view(input), 0, offsets.reshape(-1)._a, vals._a, 1)
    input._a.bump_version()
    return input
