"""Graph nodes and custom Functions.

Memory rules (ARCHITECTURE.md): a node points to the nodes of its inputs only; a tensor points
to its grad_fn. A node never keeps its own outputs as tensors (it keeps their arrays and
rebuilds them at unpack time), so no reference cycle forms and a graph is freed as soon as its
last tensor goes away. Saved tensors are dropped after backward unless retain_graph=True.
"""
from __future__ import annotations

import itertools
import weakref

from .. import _C
from .._tensor import Tensor
from . import grad_mode

_sequence = itertools.count()


class Node:
    """A step of the backward graph. ``next_functions`` pairs each input with (node, output_nr)."""

    next_functions: tuple = ()
    _num_outputs = 1

    def __init__(self):
        self._seq = next(_sequence)
        self._pre_hooks = None  # {output_nr: [hook(grad) -> grad | None]}
        self._hooks = None

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads):  # pragma: no cover - abstract
        raise NotImplementedError

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node's backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_prehook(self, hook):
        return self._add_pre_hook(0, hook)

    def _add_pre_hook(self, output_nr, hook):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


class _RemovableHandle:
    def __init__(self, container, item):
        self._container = container
        self._item = item

    def remove(self):
        try:
            self._container.remove(self._item)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """Sink for a leaf tensor: adds the incoming gradient to ``variable.grad``. The leaf holds
    its accumulator; the accumulator holds the leaf weakly (no reference cycle), and a leaf
    that no longer exists receives nothing."""

    def __init__(self, variable):
        super().__init__()
        self._variable = weakref.ref(variable)

    @property
    def variable(self):
        return self._variable()

    def apply(self, grads):
        grad = grads[0]
        var = self._variable()
        if grad is None or var is None:
            return ()
        if grad_mode.is_grad_enabled():  # create_graph: keep the gradient's own graph
            var.grad = grad if var.grad is None else var.grad + grad
        elif var.grad is None:
            # A fresh buffer: the incoming gradient may be shared with other leaves.
            var.grad = Tensor._wrap(_C_clone(grad._a))
        else:
            var.grad._a = _accumulate(var.grad._a, grad._a)
        return ()


def _C_clone(arr):
    return _C.clone(arr)


def _accumulate(acc, g):
    if acc.shape == g.shape and acc.dtype == g.dtype:
        _C.binary_(0, acc, g)  # add_ in place
        return acc
    return _C.binary(0, acc, g)


class SavedTensor:
    """A tensor saved for backward: its array, its autograd identity and the version it had."""

    __slots__ = ("array", "version", "leaf", "grad_fn", "output_nr", "requires_grad", "is_output")

    def __init__(self, tensor, node, output_nr):
        self.array = tensor._a
        self.version = tensor._a.version
        self.is_output = output_nr is not None
        self.requires_grad = tensor.requires_grad
        if self.is_output:
            self.leaf, self.grad_fn, self.output_nr = None, None, output_nr
        elif tensor.grad_fn is None:
            self.leaf, self.grad_fn, self.output_nr = (tensor if tensor.requires_grad else None), None, 0
        else:
            self.leaf, self.grad_fn, self.output_nr = None, tensor.grad_fn, tensor._output_nr

    def unpack(self, node):
        if self.array.version != self.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{_type_str(self.array)}], which is {'output ' + str(self.output_nr) + ' of ' + node.name() if self.is_output else 'an input of ' + node.name()}, "
                f"is at version {self.array.version}; expected version {self.version} instead. Hint: the "
                "operation that modified it ran after the forward pass; use an out-of-place version or clone() first."
            )
        if self.leaf is not None:
            return self.leaf
        t = Tensor._wrap(self.array)
        if self.is_output:
            if self.requires_grad:
                t.grad_fn, t._output_nr = node, self.output_nr
        elif self.grad_fn is not None:
            t.grad_fn, t._output_nr = self.grad_fn, self.output_nr
        return t


def _type_str(arr):
    from .._dtype import from_code

    return f"heron.{from_code(arr.dtype)._name} {list(arr.shape)}"


class FunctionCtx:
    """The ``ctx`` of a custom Function: save_for_backward, needs_input_grad, mark_non_differentiable."""

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = set(map(id, tensors))

    def mark_dirty(self, *tensors):
        self._dirty = set(map(id, tensors))

    def set_materialize_grads(self, value: bool):
        self._materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", None)
        if saved is None:
            if getattr(self, "_to_save", None) is not None and not isinstance(self, BackwardNode):
                return tuple(self._to_save)
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward."
            )
        return tuple(None if s is None else s.unpack(self) for s in saved)


class BackwardNode(FunctionCtx, Node):
    """The node a Function call leaves in the graph; it is also that call's ``ctx``."""

    _fn = None
    _materialize_grads = True
    _to_save = None

    def __init__(self, fn):
        # Node.__init__ inlined: one of these is built per recorded op.
        self._seq = next(_sequence)
        self._pre_hooks = None
        self._hooks = None
        self._fn = fn
        self._saved = None

    def name(self):
        # Built-in ops that share a Function class say which op they ran (as torch: MulBackward0).
        op = getattr(self, "op", None)
        if isinstance(op, str):
            return "".join(part.capitalize() for part in op.split("_")) + "Backward0"
        return self._fn.__name__ + "Backward"

    def apply(self, grads):
        if self._materialize_grads:
            grads = tuple(g if g is not None else _zeros_for(self, i) for i, g in enumerate(grads))
        out = self._fn.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        return out

    def release(self):
        if self._saved:  # a node that saved nothing can run again, as in torch
            self._saved = None

    def _pack(self, outputs):
        if not self._to_save:  # nothing saved (None or ())
            self._saved = ()
            self._to_save = None
            return
        out_index = {id(o): i for i, o in enumerate(outputs) if o is not None}
        self._saved = tuple(
            None if t is None else SavedTensor(t, self, out_index.get(id(t))) for t in self._to_save
        )
        self._to_save = None


def _zeros_for(node, i):
    shape, code = node._output_meta[i]
    return Tensor._wrap(_C.full(shape, 0, code))


class Function:
    """Base class of custom differentiable operations, as ``torch.autograd.Function``.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as
    static methods and are called through ``apply``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        record = False
        if grad_mode._enabled:
            for a in args:
                if isinstance(a, Tensor) and (a._requires_grad or a.grad_fn is not None):
                    record = True
                    break
        ctx = BackwardNode(cls) if record else FunctionCtx()
        prev, grad_mode._enabled = grad_mode._enabled, False  # forward records nothing
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_mode._enabled = prev
        return _connect(ctx, args, out) if record else out


def _edge(t):
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._grad_accumulator(), 0)


def _connect(node, inputs, out):
    """Makes ``node`` the grad_fn of the differentiable outputs ``out`` of a call on ``inputs``.
    (Runs once per recorded op: written for speed, with the leaf's accumulator read directly.)"""
    needs = []
    edges = []
    for a in inputs:
        if isinstance(a, Tensor):
            fn = a.grad_fn
            if fn is not None:
                needs.append(True)
                edges.append((fn, a._output_nr))
                continue
            if a._requires_grad:
                needs.append(True)
                edges.append((a._accumulator or a._grad_accumulator(), 0))
                continue
        needs.append(False)
        edges.append(_NO_EDGE)
    node.needs_input_grad = tuple(needs)
    node.next_functions = tuple(edges)
    single = not isinstance(out, tuple)
    outputs = (out,) if single else out
    non_diff = getattr(node, "_non_differentiable", ())
    fixed = []
    meta = []
    for i, o in enumerate(outputs):
        if isinstance(o, Tensor):
            if id(o) not in non_diff:
                for a in inputs:
                    if a is o:  # forward returned an input: give the output its own identity
                        o = Tensor._wrap(o._a)
                        break
                if o._a.dtype >= _FIRST_FLOAT_CODE:
                    o.grad_fn = node
                    if o._output_nr != i:
                        o._output_nr = i
            meta.append((o._a.shape, o._a.dtype))
        else:
            meta.append(((), _FLOAT32_CODE))
        fixed.append(o)
    node._num_outputs = len(outputs)
    node._output_meta = meta
    node._pack(fixed)
    return fixed[0] if single else tuple(fixed)


_NO_EDGE = (None, 0)
_FIRST_FLOAT_CODE = 6  # float16; codes follow heron::DType
_FLOAT32_CODE = 8
