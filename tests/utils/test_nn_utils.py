"""heron.nn.utils: gradient clipping and parameter/vector conversion (checked against torch
when it is importable)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron
from heron.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = heron.zeros(*np.shape(g), requires_grad=True)
        p.grad = heron.tensor(np.asarray(g, dtype=np.float32))
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
def test_clip_grad_norm_scales_to_max_norm(norm_type, rng):
    grads = [rng.standard_normal((4, 3)) * 5, rng.standard_normal(6) * 5]
    params = _params_with_grads(grads)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    flat = np.concatenate([np.ravel(g) for g in grads])
    expected = np.max(np.abs(flat)) if norm_type == math.inf else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    assert total.item() == pytest.approx(expected, rel=1e-5)
    clipped = np.concatenate([p.grad.numpy().ravel() for p in params])
    after = np.max(np.abs(clipped)) if norm_type == math.inf else np.sum(np.abs(clipped) ** norm_type) ** (1 / norm_type)
    assert after == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    params = _params_with_grads([[0.3, 0.4]]) + [heron.zeros(2, requires_grad=True)]
    total = clip_grad_norm_(iter(params), max_norm=10.0, foreach=True)
    assert total.item() == pytest.approx(0.5)
    assert params[0].grad.tolist() == pytest.approx([0.3, 0.4]) and params[1].grad is None
    assert clip_grad_norm_(heron.zeros(2, requires_grad=True), 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite_total():
    params = _params_with_grads([[math.inf, 1.0]])
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_norm_warns_on_an_empty_generator():
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


def test_clip_grad_value_clamps_in_place():
    params = _params_with_grads([[-3.0, 0.5, 2.0]])
    clip_grad_value_(params, 1.0)
    assert params[0].grad.tolist() == [-1.0, 0.5, 1.0]


def test_parameters_vector_round_trip_shares_memory():
    params = [heron.arange(6.0).reshape(2, 3).requires_grad_(), heron.tensor([7.0, 8.0], requires_grad=True)]
    vec = parameters_to_vector(params)
    assert vec.tolist() == [0, 1, 2, 3, 4, 5, 7, 8]
    new = heron.arange(8.0) * 10
    vector_to_parameters(new, params)
    assert params[0].tolist() == [[0, 10, 20], [30, 40, 50]] and params[1].tolist() == [60, 70]
    new[0] = -1.0
    assert params[0][0, 0].item() == -1.0  # as in torch, the parameters view the vector
    with pytest.raises(TypeError, match="expected heron.Tensor"):
        vector_to_parameters([1.0, 2.0], params)


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((5, 2)).astype(np.float32) * 3, rng.standard_normal(4).astype(np.float32)]
    for norm_type in (2.0, math.inf, 1.5):
        heron_params = _params_with_grads(grads)
        torch_params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(torch_params, grads):
            p.grad = torch.tensor(g)
        ours = clip_grad_norm_(heron_params, 0.7, norm_type)
        theirs = torch.nn.utils.clip_grad_norm_(torch_params, 0.7, norm_type)
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
        for hp, tp in zip(heron_params, torch_params):
            np.testing.assert_allclose(hp.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-7)
