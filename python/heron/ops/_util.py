"""Helpers shared by the op modules."""
from __future__ import annotations

import operator

from .. import _C
from .._tensor import Tensor
from ..autograd import grad_mode

wrap = Tensor._wrap


def grad_needed(*tensors) -> bool:
    """True when a graph must be recorded for a call on ``tensors``."""
    if not grad_mode._enabled:
        return False
    for t in tensors:
        if isinstance(t, Tensor) and (t._requires_grad or t.grad_fn is not None):
            return True
    return False


def arr(x):
    """The Array of a tensor, or the number itself (C++ wraps numbers with torch's promotion)."""
    return x._a if isinstance(x, Tensor) else x


def as_tensor_arg(x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def dims_arg(dim, ndim):
    """Normalises ``dim`` (None, int or sequence) to a list; [] means all dims."""
    if dim is None:
        return []
    if isinstance(dim, (list, tuple)):
        return [operator.index(d) for d in dim]
    return [operator.index(dim)]  # TypeError for floats, as torch


def shape_arg(args):
    """Accepts f(2, 3), f((2, 3)), f([2, 3]) and f(Size)."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = int(s.item())
        elif not isinstance(s, int):
            try:
                s = s.__index__()
            except AttributeError:
                raise TypeError(f"expected a sequence of integers, but got an element of type {type(s).__name__}") from None
        out.append(s)
    return tuple(out)


def sum_to(grad: Tensor, shape) -> Tensor:
    """Reduces a broadcast gradient back to ``shape`` (sums leading and expanded dims)."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    from .reduce import sum as _sum

    lead = grad.ndim - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1]
    out = _sum(grad, dims, keepdim=True) if dims else grad
    if lead:
        out = out.reshape(shape)
    return out


class ValuesIndices(tuple):
    """(values, indices) that also answers .values and .indices, as torch.return_types do."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def twin_grads(twin, grad_outputs, inputs):
    """The gradients of ``inputs`` through the composite twin of a fused op, recorded so they
    can be differentiated again (a fused kernel's backward under create_graph). ``twin(*inputs)``
    returns one tensor or a tuple matching ``grad_outputs``; None where an input needs no
    gradient or an output got none."""
    from ..autograd import grad

    outputs = twin(*inputs)
    if not isinstance(outputs, tuple):
        outputs, grad_outputs = (outputs,), (grad_outputs,)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None]
    wanted = [t for t in inputs if t is not None and t.requires_grad]
    found = iter(grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True))
    return tuple(next(found) if t is not None and t.requires_grad else None for t in inputs)
