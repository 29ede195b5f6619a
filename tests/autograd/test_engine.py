"""The autograd engine: backward and grad, grad modes, hooks, custom Functions, graph memory
(saved tensors released, no reference cycles, iterative walk), and gradcheck."""
from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest

import heron
from heron.autograd.gradcheck import GradcheckError
from heron.testing.tensors import assert_close, to_numpy


def leaf(values, dtype=heron.float64):
    return heron.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------- backward
def test_backward_scalar_and_with_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0] and x.grad.dtype is heron.float64 and x.grad.is_leaf
    x.grad = None
    (x * 3).backward(heron.tensor([1.0, 0.5, 0.0], dtype=heron.float64))
    assert x.grad.tolist() == [3.0, 1.5, 0.0]
    x.grad = None
    heron.autograd.backward([x * 2, x * 5], [heron.ones(3, dtype=heron.float64), heron.ones(3, dtype=heron.float64)])
    assert x.grad.tolist() == [7.0, 7.0, 7.0]


def test_backward_rejects_bad_gradients():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(heron.ones(3, dtype=heron.float64))
    with pytest.raises(RuntimeError, match="does not require grad"):
        heron.ones(2).sum().backward()


def test_gradients_accumulate():
    x = leaf([1.0, -2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [3.0 + 2.0, 3.0 - 4.0]
    y = leaf([2.0])
    (y * y * y + y).sum().backward()  # y used several times in one graph: contributions add
    assert y.grad.tolist() == [3 * 4.0 + 1.0]


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    assert_close(x.grad, 2 * to_numpy(first), rtol=1e-12)


def test_saved_tensors_are_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        heron.autograd.grad(y, x)


def test_graph_without_saved_tensors_can_run_twice():
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()  # add and sum save nothing, as in torch
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_backward_inputs_argument():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    assert w.grad.tolist() == [1.0, 2.0] and x.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * w).sum().backward(inputs=[])


def test_create_graph_gives_differentiable_gradients():
    x = leaf([0.5, -1.0])
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    assert_close(g, 3 * np.array([0.5, -1.0]) ** 2, rtol=1e-12)
    (gx,) = heron.autograd.grad(g.sum(), x)
    assert_close(gx, 6 * np.array([0.5, -1.0]), rtol=1e-12)


# ---------------------------------------------------------------------------- autograd.grad
def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    gx, gw = heron.autograd.grad((x * w).sum(), [x, w])
    assert gx.tolist() == [3.0, -1.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None and not gx.requires_grad
    (gx2,) = heron.autograd.grad(x * w, x, grad_outputs=heron.tensor([2.0, 1.0], dtype=heron.float64))
    assert gx2.tolist() == [6.0, -1.0]


def test_grad_allow_unused_and_materialize():
    x, unused = leaf([1.0]), leaf([5.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        heron.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = heron.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None
    gx, gu = heron.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        heron.autograd.grad((x * 2).sum(), [heron.ones(1)])


def test_grad_of_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = heron.autograd.grad(y, h)
    assert gh.tolist() == [6.0, 12.0]


def test_higher_order_derivatives():
    x = leaf([0.3, -0.7, 1.1])
    y = heron.tanh(x).sum()
    (g1,) = heron.autograd.grad(y, x, create_graph=True)
    (g2,) = heron.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = heron.autograd.grad(g2.sum(), x)
    t = np.tanh(np.array([0.3, -0.7, 1.1]))
    assert_close(g1, 1 - t ** 2, rtol=1e-12)
    assert_close(g2, -2 * t * (1 - t ** 2), rtol=1e-12)
    assert_close(g3, (1 - t ** 2) * (6 * t ** 2 - 2), rtol=1e-10)


def test_mixed_second_derivative():
    x, y = leaf([2.0]), leaf([3.0])
    f = (x * x * y).sum()
    (gx,) = heron.autograd.grad(f, x, create_graph=True)
    (gxy,) = heron.autograd.grad(gx.sum(), y)
    assert gxy.tolist() == [4.0]


# ---------------------------------------------------------------------------- grad modes
def test_no_grad_records_nothing():
    x = leaf([1.0])
    with heron.no_grad():
        y = x * 2
        assert not heron.is_grad_enabled()
    assert heron.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf


def test_nothing_requires_grad_records_nothing():
    a, b = heron.ones(3), heron.ones(3)
    y = (a * b).exp().sum()
    assert y.grad_fn is None and not y.requires_grad


def test_enable_grad_inside_no_grad_and_decorators():
    x = leaf([1.0])
    with heron.no_grad():
        with heron.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

    @heron.no_grad()
    def f(t):
        return t * 2

    @heron.enable_grad()
    def g(t):
        return t * 2

    assert not f(x).requires_grad
    with heron.no_grad():
        assert g(x).requires_grad
    assert heron.is_grad_enabled()


def test_set_grad_enabled_forms():
    x = leaf([1.0])
    with heron.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert heron.is_grad_enabled()
    heron.set_grad_enabled(False)
    try:
        assert not heron.is_grad_enabled()
    finally:
        heron.set_grad_enabled(True)

    @heron.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert not f(x).requires_grad and heron.is_grad_enabled()


def test_inference_mode():
    x = leaf([1.0])
    with heron.inference_mode():
        assert not (x * 2).requires_grad
    with heron.inference_mode(False):
        assert (x * 2).requires_grad

    @heron.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and heron.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with heron.no_grad():
            raise ValueError
    assert heron.is_grad_enabled()


# ---------------------------------------------------------------------------- detach, requires_grad_, retain_grad, hooks
def test_detach_shares_memory_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data_ptr() == y.data_ptr()
    d.add_(1)
    assert y.tolist() == [3.0, 5.0]
    z = (d * x).sum()
    z.backward()
    assert x.grad.tolist() == [3.0, 5.0]


def test_detach_inplace():
    x = leaf([1.0])
    y = x * 2
    assert y.detach_() is y and y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_requires_grad_flag_rules():
    x = heron.ones(2, dtype=heron.float64)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    y = leaf([1.0]) * 2
    assert y.requires_grad_(True) is y
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)


def test_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]
    x.retain_grad()  # no-op on a leaf
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        heron.ones(1).retain_grad()


def test_non_leaf_grad_is_not_kept_without_retain_grad():
    x = leaf([1.0])
    h = x * 3
    (h * h).sum().backward()
    assert h.grad is None


def test_register_hook_on_leaf_and_intermediate():
    x = leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 3
    h.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    h.sum().backward()
    assert seen == [[30.0, 30.0]] and x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert seen == [[30.0, 30.0]] and x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        heron.ones(1).register_hook(lambda g: g)


def test_grad_fn_next_functions_and_names():
    x = leaf([1.0])
    y = (x * 2).exp()
    assert y.grad_fn is not None and isinstance(y.grad_fn.name(), str)
    (node, _), = [e for e in y.grad_fn.next_functions if e[0] is not None]
    assert node is not None


# ---------------------------------------------------------------------------- custom Function
class MulAdd(heron.autograd.Function):
    """out = a * b + c, with c an optional Python number; also returns a non-differentiable mask."""

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b)
        ctx.c = c
        out = a * b + c
        mask = out > 0
        ctx.mark_non_differentiable(mask)
        return out, mask

    @staticmethod
    def backward(ctx, g, g_mask):
        a, b = ctx.saved_tensors
        ga = g * b if ctx.needs_input_grad[0] else None
        gb = g * a if ctx.needs_input_grad[1] else None
        return ga, gb, None


def test_custom_function():
    a, b = leaf([1.0, -2.0]), heron.tensor([3.0, 4.0], dtype=heron.float64)
    out, mask = MulAdd.apply(a, b, 0.5)
    assert out.requires_grad and not mask.requires_grad and mask.dtype is heron.bool
    assert out.tolist() == [3.5, -7.5] and mask.tolist() == [True, False]
    out.sum().backward()
    assert a.grad.tolist() == [3.0, 4.0]
    assert heron.autograd.gradcheck(lambda x, y: MulAdd.apply(x, y, 1.0)[0], (leaf([0.3, 0.7]), leaf([1.5, -2.0])))


def test_custom_function_needs_input_grad_and_no_graph_without_grad():
    calls = []

    class Probe(heron.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.needs_input_grad)
            return g, None

    a, b = leaf([1.0]), heron.tensor([2.0], dtype=heron.float64)
    Probe.apply(a, b).sum().backward()
    assert calls == [(True, False)]
    out = Probe.apply(heron.ones(1), b)
    assert out.grad_fn is None and not out.requires_grad


def test_custom_function_wrong_number_of_gradients():
    class Bad(heron.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return (g,)

    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_returning_its_input():
    class Identity(heron.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    a = leaf([1.0])
    out = Identity.apply(a)
    assert out is not a and out.grad_fn is not None and a.is_leaf
    out.sum().backward()
    assert a.grad.tolist() == [2.0]


# ---------------------------------------------------------------------------- broadcasting
def test_broadcast_gradients_are_reduced_to_input_shapes():
    a = heron.ones(3, 1, dtype=heron.float64, requires_grad=True)
    b = heron.ones(1, 4, dtype=heron.float64, requires_grad=True)
    s = heron.tensor(2.0, dtype=heron.float64, requires_grad=True)
    ((a + b) * s).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[8.0]] * 3
    assert b.grad.shape == (1, 4) and b.grad.tolist() == [[6.0] * 4]
    assert s.grad.shape == () and s.grad.item() == 24.0
    c = heron.ones(4, dtype=heron.float64, requires_grad=True)
    (heron.ones(2, 3, 4, dtype=heron.float64) * c).sum().backward()
    assert c.grad.tolist() == [6.0] * 4


def test_gradient_dtype_follows_the_input():
    x = heron.ones(3, dtype=heron.float32, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype is heron.float32 and x.grad.tolist() == [2.0] * 3
    h = heron.ones(2, dtype=heron.float16, requires_grad=True)
    (h * heron.ones(2, dtype=heron.float32)).sum().backward()
    assert h.grad.dtype is heron.float16


# ---------------------------------------------------------------------------- memory and graph structure
def test_several_outputs_of_one_node_as_roots():
    """split's pieces share one node; asking for all of them at once must reach the input."""
    x = leaf(np.arange(21.0).reshape(7, 3))
    pieces = heron.split(x, 2)
    assert len({id(p.grad_fn) for p in pieces}) == 1
    (g,) = heron.autograd.grad(list(pieces), [x], grad_outputs=[heron.full_like(p, i + 1.0) for i, p in enumerate(pieces)])
    np.testing.assert_array_equal(to_numpy(g)[:, 0], [1, 1, 2, 2, 3, 3, 4])
    heron.autograd.backward(list(heron.unbind(x, 1)), [heron.ones(7, dtype=heron.float64)] * 3)
    np.testing.assert_array_equal(to_numpy(x.grad), np.ones((7, 3)))


def test_split_backward_is_one_join_not_one_zero_tensor_per_piece():
    """Backward through n unbound pieces writes the gradient once (a chain of select views
    would allocate n zero tensors of the whole input). Unused pieces get zeros."""
    x = leaf(np.ones((5, 2)))
    pieces = x.unbind(0)
    node = pieces[0].grad_fn
    assert all(p.grad_fn is node for p in pieces) and node.name() == "UnbindBackward0"
    (pieces[1] * 3 + pieces[4]).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad)[:, 0], [0, 3, 0, 0, 1])
    with pytest.raises(NotImplementedError):
        x.unbind(0)[0].mul_(2)  # pieces are views: in-place edits are refused as for any view


def test_long_chain_does_not_recurse():
    x = heron.tensor([1.0], dtype=heron.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # the walk must not depend on Python recursion at all
    try:
        y.sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad.tolist() == [1.0]
    del y  # freeing a 100,000-node graph must not overflow the C stack either
    gc.collect()


def test_graph_is_freed_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        h = x.exp()  # exp saves its output: the node must not keep h alive
        y = (h * x).sum()
        node_ref, h_ref = weakref.ref(y.grad_fn), weakref.ref(h)
        exp_node_ref = weakref.ref(h.grad_fn)
        del h
        assert h_ref() is None, "a node keeps its own output tensor alive"
        del y
        assert node_ref() is None and exp_node_ref() is None, "the graph outlived its output (reference cycle)"

        y = (x.exp() * x).sum()
        node_ref = weakref.ref(y.grad_fn)
        y.backward()
        del y
        assert node_ref() is None
    finally:
        gc.enable()


def test_custom_function_ctx_is_freed_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        a = leaf([1.0, 2.0])
        out, mask = MulAdd.apply(a, a * 2, 0.0)
        ref = weakref.ref(out.grad_fn)
        del out, mask
        assert ref() is None
    finally:
        gc.enable()


def test_leaf_tensor_is_freed_when_unused():
    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0])
        (x * 2).sum().backward()
        ref = weakref.ref(x)
        del x
        assert ref() is None
    finally:
        gc.enable()


def test_inplace_change_of_a_saved_tensor_is_caught_at_backward():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = h.exp()  # saves its output y
    z = (h * h).sum()  # saves h
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    h.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_inplace_on_non_saved_tensor_is_fine():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = h + 1  # add saves nothing
    h.mul_(3)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_inplace_ops_keep_the_graph():
    x = leaf([1.0, -2.0])
    y = x * 1.0
    y.mul_(3).add_(1).clamp_(min=0.0)
    assert y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0]
    z = x.clone()
    z.zero_()
    assert z.requires_grad
    z.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with heron.no_grad():
        x.add_(1)  # allowed without grad recording (e.g. an optimizer step)
    assert x.tolist() == [2.0, -1.0]


# ---------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("fn", [
    lambda x: heron.tanh(x) * x,
    lambda x: heron.softmax(x, -1),
    lambda x: heron.log_softmax(x * 2, 0),
    lambda x: (x * x).sum(1, keepdim=True) / (x.abs() + 1.0),
    lambda x: heron.sigmoid(x).pow(3),
    lambda x: heron.cumsum(x, 1).exp(),
    lambda x: x[:, [2, 0]].t() @ x,
    lambda x: heron.nn.functional.gelu(x, approximate="tanh"),
], ids=["tanh*x", "softmax", "log_softmax", "norm-ish", "sigmoid^3", "cumsum-exp", "index-matmul", "gelu"])
def test_gradcheck_and_gradgradcheck(fn):
    rng = np.random.default_rng(0)
    x = heron.tensor(rng.standard_normal((3, 4)), dtype=heron.float64, requires_grad=True)
    assert heron.autograd.gradcheck(fn, (x,))
    assert heron.autograd.gradgradcheck(fn, (x,))


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(heron.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 g x

    x = leaf([0.5, 1.5])
    with pytest.raises(GradcheckError):
        heron.autograd.gradcheck(WrongSquare.apply, (x,))
    assert heron.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_two_input_gradcheck():
    a, b = leaf([[0.5, 1.2], [-0.3, 0.8]]), leaf([[1.5], [2.0]])
    assert heron.autograd.gradcheck(lambda x, y: (x / y + x * y).exp(), (a, b))
    assert heron.autograd.gradgradcheck(lambda x, y: heron.maximum(x, y) * x, (a, b))
