"""Gradients of every differentiable op in the op database, in float64: finite differences
along random directions, and torch's gradients when torch is importable."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.testing.gradcheck import check_vjp_random_direction, differentiable_outputs, torch_vjp, vjp
from heron.testing.opdb import op_db
from heron.testing.tensors import (assert_close, flatten_outputs, map_structure, tensors_in, to_numpy, to_torch,
                                   to_torch_structure)

GRAD_OPS = [pytest.param(op, id=op.name) for op in op_db if op.differentiable and heron.float64 in op.dtypes]
NON_DIFF_OPS = [pytest.param(op, id=op.name) for op in op_db if not op.differentiable and heron.float64 in op.dtypes]


def differentiable_call(op, sample, torch_side=False):
    """(leaves, fn): the float64 tensors of ``sample`` as leaves requiring grad, and
    ``fn(*leaves)`` calling the op on them (in-place ops act on a clone of their target)."""
    leaves = [t for t in tensors_in((sample.args, sample.kwargs)) if t.dtype is heron.float64]

    def fn(*xs):
        it = iter(xs)
        args, kwargs = map_structure((sample.args, sample.kwargs),
                                     lambda t: next(it) if t.dtype is heron.float64 else t)
        if op.inplace:
            args = (args[0].clone(),) + tuple(args[1:])
        return op.op(*args, **kwargs)

    return [t.detach().requires_grad_() for t in leaves], fn


def torch_call(op, sample):
    import torch

    torch_op = op.get_torch_op()
    leaves = [t for t in tensors_in((sample.args, sample.kwargs)) if t.dtype is heron.float64]
    torch_leaves = [to_torch(t, requires_grad=True) for t in leaves]

    def fn(*xs):
        it = iter(xs)
        args, kwargs = map_structure((sample.args, sample.kwargs),
                                     lambda t: _Placeholder(next(it)) if t.dtype is heron.float64 else t)
        args, kwargs = _unwrap(to_torch_structure(args)), _unwrap(to_torch_structure(kwargs))
        if op.inplace:
            args = (args[0].clone(),) + tuple(args[1:])
        return torch_op(*args, **kwargs)

    assert all(isinstance(t, torch.Tensor) for t in torch_leaves)
    return torch_leaves, fn


class _Placeholder:
    """Carries a torch tensor through to_torch_structure untouched."""

    def __init__(self, t):
        self.t = t


def _unwrap(obj):
    return map_structure(obj, lambda p: p.t, is_leaf=lambda o: isinstance(o, _Placeholder))


def finite_differences_apply(op, sample, leaves, fn):
    """Central differences need a smooth function with float64 outputs around the sample."""
    if not sample.fd:
        return False
    outs = [o for o in flatten_outputs(fn(*leaves)) if isinstance(o, heron.Tensor) and o.dtype.is_floating_point]
    if any(o.dtype is not heron.float64 for o in outs):
        return False  # rounding to a lower precision swamps the difference quotient
    if any(not np.isfinite(to_numpy(o)).all() for o in outs):
        return False
    if op.kinks_at_ties:
        values = np.concatenate([to_numpy(t).ravel() for t in leaves])
        if len(np.unique(values)) < values.size:
            return False
    return True


@pytest.mark.parametrize("op", GRAD_OPS)
def test_vjp_matches_finite_differences(op, rng):
    checked = 0
    for sample in op.sample_inputs(heron.float64, rng):
        leaves, fn = differentiable_call(op, sample)
        if not leaves or not finite_differences_apply(op, sample, leaves, fn):
            continue
        rtol, atol = op.grad_tol
        try:
            check_vjp_random_direction(fn, leaves, rng=rng, rtol=rtol, atol=atol)
        except AssertionError as e:
            raise AssertionError(f"{op.name} {sample}: {e}") from None
        checked += 1
    assert checked, "no differentiable sample"


@pytest.mark.parametrize("op", GRAD_OPS)
def test_grad_matches_torch(op, rng):
    torch = pytest.importorskip("torch")
    for sample in op.sample_inputs(heron.float64, rng):
        leaves, fn = differentiable_call(op, sample)
        if not leaves:
            continue
        outs, cots, grads = vjp(fn, leaves, rng=rng)
        t_leaves, t_fn = torch_call(op, sample)
        try:
            t_result = t_fn(*t_leaves)
        except RuntimeError as e:
            # torch refuses gradients for one of these inputs (e.g. a loss's class weights);
            # finite differences still check heron's.
            assert "is not differentiable with respect to argument" in str(e), e
            continue
        t_outs = [o for o in flatten_outputs(t_result) if isinstance(o, torch.Tensor) and o.is_floating_point()]
        t_diff = [o for o in t_outs if o.requires_grad]
        assert len(t_diff) == len(outs), f"{op.name} {sample}: {len(outs)} differentiable outputs, torch has {len(t_diff)}"
        if not outs:
            continue
        try:
            t_grads = torch_vjp(t_fn, t_leaves, [to_torch(c) for c in cots])
        except RuntimeError as e:
            # torch cannot differentiate this case (e.g. scatter with src larger than index);
            # heron's gradient is still checked by finite differences.
            assert "invalid gradient" in str(e) or "not implemented" in str(e), e
            continue
        for i, (g, tg) in enumerate(zip(grads, t_grads)):
            if tg is None:
                tg = torch.zeros_like(t_leaves[i])
            if g is None:
                g = heron.zeros_like(leaves[i])
            assert g.shape == tuple(tg.shape), f"{op.name} {sample}: grad {i} shape {g.shape} vs torch {tuple(tg.shape)}"
            assert g.dtype is heron.float64
            assert_close(g, tg.detach().numpy(), rtol=1e-6, atol=1e-9, msg=f"{op.name} {sample} grad {i} vs torch: ")


@pytest.mark.parametrize("op", NON_DIFF_OPS)
def test_non_differentiable_outputs_do_not_require_grad(op, rng):
    for sample in op.sample_inputs(heron.float64, rng):
        leaves, fn = differentiable_call(op, sample)
        if not leaves:
            continue
        assert not differentiable_outputs(fn(*leaves)), f"{op.name} {sample}"


@pytest.mark.parametrize("op", GRAD_OPS)
def test_full_jacobian_on_a_small_sample(op, rng):
    """heron.autograd.gradcheck (every Jacobian entry) on the op's first small smooth sample."""
    for sample in op.sample_inputs(heron.float64, rng):
        leaves, fn = differentiable_call(op, sample)
        if not leaves or sum(t.numel() for t in leaves) > 24 or not finite_differences_apply(op, sample, leaves, fn):
            continue
        leaves = [t.detach().contiguous().requires_grad_() for t in leaves]  # gradcheck perturbs in place
        assert heron.autograd.gradcheck(fn, leaves, atol=1e-5, rtol=1e-4), f"{op.name} {sample}"
        return
    pytest.skip("no small smooth sample")
