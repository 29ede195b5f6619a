"""Reverse-mode automatic differentiation: backward, grad, Function, grad modes, gradcheck."""
from __future__ import annotations

from .engine import run_backward
from .function import AccumulateGrad, BackwardNode, Function, FunctionCtx, Node
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Node", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "gradcheck", "gradgradcheck"]


def _as_tuple(x):
    if x is None:
        return None
    from .._tensor import Tensor

    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, who):
    from .. import ops
    from .._tensor import Tensor

    grads = []
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{who}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: expected Tensors as outputs, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ops.ones_like(out)
        elif not isinstance(g, Tensor):
            g = ops.tensor(g, dtype=out.dtype)
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape of {out.shape}."
            )
        grads.append(g)
    return grads


def _edge(t):
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates gradients of ``tensors`` into the ``.grad`` of the leaves that produced them."""
    tensors = _as_tuple(tensors)
    grads = _root_grads(tensors, _as_tuple(grad_tensors), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_edge(t) for t in tensors]
    if inputs is None:
        run_backward(roots, grads, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    captured = run_backward(roots, grads, retain_graph, create_graph, capture=[_edge(t) for t in inputs])
    with set_grad_enabled(create_graph):
        for t, g in zip(inputs, captured):
            if g is None:
                continue
            if t.grad_fn is not None and not t.retains_grad:
                continue
            t.grad = (g if create_graph else g.detach().clone()) if t.grad is None else t.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Returns the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``."""
    if is_grads_batched:
        raise NotImplementedError("heron.autograd.grad: is_grads_batched=True is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _root_grads(outputs, _as_tuple(grad_outputs), "grad")
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward([_edge(t) for t in outputs], grads, retain_graph, create_graph,
                            capture=[_edge(t) for t in inputs])
    from .. import ops

    result = []
    for t, g in zip(inputs, captured):
        if g is None:
            if materialize_grads:
                g = ops.zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
