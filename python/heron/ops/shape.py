"""Views and joins: reshape/view, permute, transpose, squeeze/unsqueeze, expand, flatten,
narrow, as_strided, contiguous/clone, cat/stack/split/chunk/unbind, flip, repeat, tril/triu.
Views share memory with their input; their backward maps the gradient back to its shape."""
from __future__ import annotations

import builtins

from .. import _C
from .._tensor import Tensor, _wrap_dim
from ..autograd.function import Function
from ._util import grad_needed, shape_arg, sum_to, wrap


class View(Function):
    """A view op: ``fwd`` maps the input Array to the output Array, ``bwd`` maps the gradient back."""

    @staticmethod
    def forward(ctx, x, fwd, bwd):
        ctx.bwd = bwd
        return wrap(fwd(x._a))

    @staticmethod
    def backward(ctx, g):
        return ctx.bwd(g), None, None


def _view(x, fwd, bwd):
    if grad_needed(x):
        out = View.apply(x, fwd, bwd)
        out._is_view_of_grad = True
        return out
    return wrap(fwd(x._a))


def reshape(input, *shape):
    shape = shape_arg(shape)
    in_shape = input.shape
    return _view(input, lambda a: _C.reshape(a, shape), lambda g: g.reshape(in_shape))


def view(input, *shape):
    from .._dtype import as_dtype, dtype as _dtype_cls

    if len(shape) == 1 and (isinstance(shape[0], _dtype_cls) or shape[0] in (float, int, bool)):
        target = as_dtype(shape[0])
        if target.itemsize != input.dtype.itemsize:
            raise NotImplementedError("view(dtype) between types of different sizes is not supported")
        arr = _C.from_numpy(input.detach().numpy().view(target.to_numpy())) if target._np else None
        return wrap(arr)
    shape = shape_arg(shape)
    in_shape = input.shape
    return _view(input, lambda a: a.view(shape), lambda g: g.reshape(in_shape))


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def permute(input, *dims):
    dims = shape_arg(dims)
    nd = input.ndim
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d % nd if nd else 0] = i
    return _view(input, lambda a: a.permute(list(dims)), lambda g: g.permute(*inverse))


def transpose(input, dim0, dim1):
    return _view(input, lambda a: a.transpose(dim0, dim1), lambda g: g.transpose(dim0, dim1))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input.ndim < 2:
        return _view(input, lambda a: a.alias(), lambda g: g)
    return transpose(input, 0, 1)


def adjoint(input):
    return transpose(input, -2, -1)


def movedim(input, source, destination):
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain the same number of dims as destination ({dst} dims)")
    nd = input.ndim
    src = [s % nd for s in src]
    dst = [d % nd for d in dst]
    order = [d for d in range(nd) if d not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return permute(input, *perm)


moveaxis = movedim


def squeeze(input, dim=None):
    dims = [] if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    in_shape = input.shape
    return _view(input, lambda a: a.squeeze(dims), lambda g: g.reshape(in_shape))


def unsqueeze(input, dim):
    in_shape = input.shape
    return _view(input, lambda a: a.unsqueeze(dim), lambda g: g.reshape(in_shape))


def expand(input, *sizes):
    sizes = shape_arg(sizes)
    in_shape = input.shape
    return _view(input, lambda a: a.expand(sizes), lambda g: sum_to(g, in_shape))


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, size):
    return expand(input, *shape_arg((size,)))


def broadcast_shapes(*shapes):
    out = ()
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        out = tuple(_C.broadcast_shapes(list(out), list(s)))
    from .._tensor import Size

    return Size(out)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)
    if nd == 0:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = list(input.shape)
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + [n] + shape[e + 1:])


def unflatten(input, dim, sizes):
    if input.ndim == 0:
        raise RuntimeError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, input.ndim)
    shape = list(input.shape)
    sizes = list(sizes)
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if (-1 not in sizes and known != shape[d]) or (-1 in sizes and (known == 0 or shape[d] % known)):
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {d} ({shape[d]}) in the input tensor")
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def ravel(input):
    return reshape(input, -1)


def narrow(input, dim, start, length):
    if isinstance(start, Tensor):
        start = int(start.item())
    in_shape, dt = input.shape, input.dtype
    d = dim
    return _view(input, lambda a: a.narrow(d, start, length), lambda g: _into_zeros(g, in_shape, dt, lambda z: z.narrow(d, start, length)))


def select(input, dim, index):
    in_shape, dt = input.shape, input.dtype
    return _view(input, lambda a: a.select(dim, index), lambda g: _into_zeros(g, in_shape, dt, lambda z: z.select(dim, index)))


def diagonal(input, offset=0, dim1=0, dim2=1):
    in_shape, dt = input.shape, input.dtype
    return _view(input, lambda a: a.diagonal(offset, dim1, dim2),
                 lambda g: _into_zeros(g, in_shape, dt, lambda z: z.diagonal(offset, dim1, dim2)))


def as_strided(input, size, stride, storage_offset=None):
    offset = input.storage_offset() if storage_offset is None else storage_offset
    size, stride = list(size), list(stride)
    in_shape, dt = input.shape, input.dtype
    if grad_needed(input) and not (input.is_contiguous() and input.storage_offset() == 0):
        raise NotImplementedError("as_strided backward needs a contiguous input with storage offset 0")
    return _view(input, lambda a: a.as_strided(size, stride, offset),
                 lambda g: _as_strided_backward(g, in_shape, dt, size, stride, offset))


def _as_strided_backward(g, in_shape, dt, size, stride, offset):
    from .creation import arange, zeros
    from .indexing import index_add

    n = 1
    for s in in_shape:
        n *= s
    positions = wrap(arange(n)._a.as_strided(size, stride, offset)).reshape(-1)
    flat = index_add(zeros(n, dtype=dt), 0, positions, g.reshape(-1))
    return flat.reshape(in_shape)


class _IntoZeros(Function):
    """Gradient of a view: zeros of the input's shape with ``g`` written into the same view."""

    @staticmethod
    def forward(ctx, g, in_shape, dt, view_fn):
        ctx.view_fn, ctx.in_shape, ctx.dt = view_fn, in_shape, dt
        z = _C.full(list(in_shape), 0, dt._code)
        _C.copy_(view_fn(z), g._a)
        return wrap(z)

    @staticmethod
    def backward(ctx, gg):
        in_shape, dt, view_fn = ctx.in_shape, ctx.dt, ctx.view_fn
        return _view(gg, view_fn, lambda g3: _into_zeros(g3, in_shape, dt, view_fn)), None, None, None


def _into_zeros(g, in_shape, dt, view_fn):
    if grad_needed(g):
        return _IntoZeros.apply(g, in_shape, dt, view_fn)
    z = _C.full(list(in_shape), 0, dt._code)
    _C.copy_(view_fn(z), g._a)
    return wrap(z)


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return clone(input)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return wrap(_C.clone(x._a))

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):
    if grad_needed(input):
        return Clone.apply(input)
    return wrap(_C.clone(input._a))


# ---------------------------------------------------------------------------- joins
class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.sizes = [t.shape[dim] if t.ndim else 0 for t in tensors]
        ctx.skip = [t.ndim == 1 and t.numel() == 0 for t in tensors]
        out = wrap(_C.cat([t._a for t in tensors], dim))
        ctx.dim = dim % out.ndim
        ctx.dtypes = [t.dtype for t in tensors]
        return out

    @staticmethod
    def backward(ctx, g):
        grads, pos = [None], 0
        for size, skip, dt in zip(ctx.sizes, ctx.skip, ctx.dtypes):
            if skip:
                grads.append(None)
                continue
            grads.append(narrow(g, ctx.dim, pos, size).to(dt))
            pos += size
        return tuple(grads)


def cat(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    if not builtins.all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat(): argument 'tensors' must be a sequence of Tensors")
    if grad_needed(*tensors):
        result = Cat.apply(dim, *tensors)
    else:
        result = wrap(_C.cat([t._a for t in tensors], dim))
    if out is not None:
        _C.copy_(out._a, result._a)
        return out
    return result


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    nd = len(shape) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    return cat([unsqueeze(t, dim) for t in tensors], dim, out=out)


def hstack(tensors):
    tensors = [atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(t) for t in tensors], 0)


def atleast_1d(t):
    return reshape(t, 1) if t.ndim == 0 else t


def atleast_2d(t):
    return reshape(t, 1, -1) if t.ndim < 2 and t.ndim == 1 else (reshape(t, 1, 1) if t.ndim == 0 else t)


def split(tensor, split_size_or_sections, dim=0):
    size = tensor.size(dim)
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        # An empty dim still gives one (empty) piece, as torch does.
        sections = [builtins.min(step, size - i) for i in range(0, size, step)] if size else [0]
    else:
        sections = list(split_size_or_sections)
        if builtins.sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at dimension {dim}), but got split_sizes={sections}")
    return _pieces(tensor, dim, sections, keep_dim=True)


def tensor_split(input, indices_or_sections, dim=0):
    size = input.size(dim)
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        q, r = divmod(size, n)
        sections = [q + 1] * r + [q] * (n - r)
        return split(input, sections, dim)
    bounds = [0] + [builtins.min(builtins.max(i, 0), size) for i in indices_or_sections] + [size]
    return tuple(narrow(input, dim, a, builtins.max(b - a, 0)) for a, b in zip(bounds[:-1], bounds[1:]))


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input.size(dim)
    if size == 0:  # torch gives ``chunks`` empty pieces
        return tuple(narrow(input, dim, 0, 0) for _ in range(chunks))
    return split(input, -(-size // chunks), dim)


def unbind(input, dim=0):
    return _pieces(input, dim, [1] * input.size(dim), keep_dim=False)


class _Pieces(Function):
    """Consecutive views of one input along ``dim`` (narrowed, or selected when not
    ``keep_dim``) as ONE graph node, as torch's SplitBackward/UnbindBackward: backward joins
    the pieces' gradients with one cat (stack). Separate narrow/select nodes would each write
    their gradient into zeros of the whole input, so backward through n pieces would cost n
    times the input (a recurrent layer stepping over its precomputed input projection)."""

    @staticmethod
    def forward(ctx, x, dim, sections, keep_dim):
        ctx.dim, ctx.keep_dim = dim, keep_dim
        ctx.op = "split" if keep_dim else "unbind"  # the node prints as SplitBackward0 / UnbindBackward0
        return _piece_views(x, dim, sections, keep_dim)

    @staticmethod
    def backward(ctx, *grads):  # grads of unused pieces arrive as zeros
        return (cat(grads, ctx.dim) if ctx.keep_dim else stack(grads, ctx.dim)), None, None, None


def _piece_views(x, dim, sections, keep_dim):
    pieces, pos = [], 0
    for size in sections:
        pieces.append(wrap(x._a.narrow(dim, pos, size) if keep_dim else x._a.select(dim, pos)))
        pos += size
    return tuple(pieces)


def _pieces(x, dim, sections, keep_dim):
    dim = _wrap_dim(dim, x.ndim)
    if not grad_needed(x) or not sections:
        return _piece_views(x, dim, sections, keep_dim)
    pieces = _Pieces.apply(x, dim, sections, keep_dim)
    for piece in pieces:
        piece._is_view_of_grad = True  # in-place edits of a piece are refused, as for other views
    return pieces


def flip(input, dims):
    from .creation import arange
    from .indexing import index_select

    dims = [dims] if isinstance(dims, int) else list(dims)
    out = input
    for d in dims:
        n = out.shape[d]
        out = index_select(out, d, arange(n - 1, -1, -1))
    return out


def fliplr(input):
    return flip(input, [1])


def flipud(input):
    return flip(input, [0])


def roll(input, shifts, dims=None):
    if dims is None:
        return roll(input.reshape(-1), shifts, 0).reshape(input.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    out = input
    for s, d in zip(shifts, dims):
        n = out.shape[d]
        if n == 0:
            continue
        s %= n
        if s:
            out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return out


def repeat(input, *sizes):
    sizes = shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    x = input.reshape((1,) * (len(sizes) - input.ndim) + tuple(input.shape))
    # Interleave a broadcast dim before every dim, expand it, then merge.
    inter, target = [], []
    for r, s in zip(sizes, x.shape):
        inter += [1, s]
        target += [r, s]
    out = expand(reshape(x, inter), target)
    return reshape(out, [r * s for r, s in zip(sizes, x.shape)])


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats, dim=None):
    if dim is None:
        input, dim = input.reshape(-1), 0
    if isinstance(repeats, Tensor):
        from .indexing import index_select
        from .creation import arange

        reps = repeats.tolist()
        idx = [i for i, r in enumerate(reps) for _ in range(r)]
        return index_select(input, dim, _index_tensor(idx))
    d = dim % input.ndim
    x = unsqueeze(input, d + 1)
    shape = list(x.shape)
    shape[d + 1] = repeats
    out = expand(x, shape)
    final = list(input.shape)
    final[d] *= repeats
    return reshape(out, final)


def _index_tensor(values):
    from .creation import tensor
    from .._dtype import int64

    return tensor(values, dtype=int64)


def _tri_mask(input, diagonal, upper):
    from .creation import arange

    rows, cols = input.shape[-2], input.shape[-1]
    r = arange(rows).reshape(rows, 1)
    c = arange(cols).reshape(1, cols)
    return (c - r >= diagonal) if upper else (c - r <= diagonal)


def tril(input, diagonal=0):
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    from .elementwise import where

    return where(_tri_mask(input, diagonal, upper=False), input, _zero_of(input))


def triu(input, diagonal=0):
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    from .elementwise import where

    return where(_tri_mask(input, diagonal, upper=True), input, _zero_of(input))


def _zero_of(input):
    return wrap(_C.scalar(0, input._a.dtype))


def tril_(input, diagonal=0):
    from .elementwise import _copy_into

    return _copy_into(input, tril(input, diagonal))


def triu_(input, diagonal=0):
    from .elementwise import _copy_into

    return _copy_into(input, triu(input, diagonal))
