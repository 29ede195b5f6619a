"""The fused multi-tensor optimizer kernels against their composite twins (the Python bodies
in heron.optim._functional), and the kernel entry's input checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.ops import fused_optim
from heron.optim import _functional

# fused vs composite after 10 steps: (rtol, atol) per dtype
TOLERANCE = {heron.float32: (2e-6, 1e-6), heron.float64: (1e-13, 1e-14)}

ADAM_OPTIONS = [dict(amsgrad=False, decoupled_weight_decay=False, weight_decay=0.0, maximize=False),
                dict(amsgrad=True, decoupled_weight_decay=False, weight_decay=0.1, maximize=False),
                dict(amsgrad=False, decoupled_weight_decay=True, weight_decay=0.01, maximize=True)]
SGD_OPTIONS = [dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
               dict(momentum=0.9, dampening=0.1, nesterov=False, weight_decay=1e-2, maximize=False),
               dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0, maximize=True)]


def _run(update, dtype, fused, monkeypatch, n_state, **options):
    monkeypatch.setattr(fused_optim, "fusable", (lambda *lists: fused_optim.__dict__["_real_fusable"](*lists))
                        if fused else (lambda *lists: False))
    heron.manual_seed(0)
    params = [heron.randn(7, 5, dtype=dtype), heron.randn(300, dtype=dtype)]
    states = [[heron.zeros_like(p) for p in params] for _ in range(n_state)]
    steps = [heron.tensor(0.0) for _ in params]
    for _ in range(10):
        grads = [heron.randn(*p.shape, dtype=dtype) for p in params]
        update(params, grads, *states, steps, **options)
    return params


@pytest.fixture(autouse=True)
def keep_real_fusable():
    fused_optim._real_fusable = fused_optim.fusable
    yield
    del fused_optim._real_fusable


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("options", ADAM_OPTIONS)
def test_adam_matches_composite_twin(dtype, options, monkeypatch):
    def update(params, grads, m, v, vmax, steps, **kw):
        _functional.adam_update(params, grads, m, v, vmax if kw["amsgrad"] else [], steps, lr=1e-2, beta1=0.9,
                                beta2=0.99, eps=1e-8, **kw)
    fused = _run(update, dtype, True, monkeypatch, 3, **options)
    twin = _run(update, dtype, False, monkeypatch, 3, **options)
    rtol, atol = TOLERANCE[dtype]
    for a, b in zip(fused, twin):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_matches_composite_twin(dtype, options, monkeypatch):
    def update(params, grads, steps, **kw):
        buffers = update.buffers.setdefault(id(params), [None] * len(params))
        _functional.sgd_update(params, grads, buffers, lr=0.05, **kw)
    update.buffers = {}
    fused = _run(update, dtype, True, monkeypatch, 0, **options)
    twin = _run(update, dtype, False, monkeypatch, 0, **options)
    rtol, atol = TOLERANCE[dtype]
    for a, b in zip(fused, twin):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol)


def test_non_contiguous_parameters_use_the_composite():
    p = heron.randn(6, 4).t()
    assert not fused_optim.fusable([p], [heron.randn(4, 6)])
    assert not fused_optim.fusable([heron.randn(3).half()], [heron.randn(3).half()])


def test_kernel_entry_rejects_bad_input():
    p, g = heron.randn(3, 4), heron.randn(3, 4)
    args = (1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    with pytest.raises(ValueError, match="expected 1 gradients"):
        heron._C.adam_step_([p._a], [], [p._a], [p._a], [], [1.0], *args)
    with pytest.raises(RuntimeError, match="shape"):
        heron._C.adam_step_([p._a], [heron.randn(4, 3)._a], [g._a], [g._a], [], [1.0], *args)
    with pytest.raises(RuntimeError, match="dtype"):
        heron._C.adam_step_([p._a], [g.double()._a], [g._a], [g._a], [], [1.0], *args)
    with pytest.raises(ValueError, match="contiguous"):
        heron._C.sgd_step_([heron.randn(4, 3).t()._a], [g._a], [], 0.1, 0.0, 0.0, 0.0, False, False, False)
    with pytest.raises(NotImplementedError, match="float32 or float64"):
        heron._C.sgd_step_([p.half()._a], [g.half()._a], [], 0.1, 0.0, 0.0, 0.0, False, False, False)
