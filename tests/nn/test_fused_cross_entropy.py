"""The fused cross-entropy kernel against its composite twin (log_softmax then NLL), with the
tolerance written down here, plus its own input checks and thread-count independence."""
from __future__ import annotations

import numpy as np
import pytest

import heron
import heron.nn.functional as F
from heron.ops.loss import cross_entropy_rows

# fused vs composite: (rtol, atol) per dtype
TOLERANCE = {heron.float32: (1e-5, 1e-6), heron.float64: (1e-12, 1e-13)}


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_matches_composite_twin(dtype, reduction, label_smoothing):
    heron.manual_seed(0)
    logits = (heron.randn(37, 11, dtype=dtype) * 4).requires_grad_()
    target = heron.randint(0, 11, (37,))
    target[::5] = -100
    twin_logits = logits.detach().clone().requires_grad_()
    fused = cross_entropy_rows(logits, target, -100, label_smoothing, reduction)
    twin = F._cross_entropy_composite(twin_logits, target, None, -100, reduction, label_smoothing)
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(fused.detach().numpy(), twin.detach().numpy(), rtol=rtol, atol=atol)
    upstream = heron.randn(*fused.shape, dtype=dtype)
    (fused * upstream).sum().backward()
    (twin * upstream).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), twin_logits.grad.numpy(), rtol=rtol, atol=atol)


def test_every_target_ignored_gives_nan_and_zero_gradient():
    logits = heron.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(logits, heron.full((4,), -100, dtype=heron.int64))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(logits.grad.numpy(), np.zeros((4, 3), np.float32))


def test_large_logits_stay_finite():
    logits = heron.tensor([[1000.0, -1000.0, 0.0], [-1e30, 0.0, 1e30]], requires_grad=True)
    loss = F.cross_entropy(logits, heron.tensor([0, 2]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()


def test_thread_count_does_not_change_a_bit():
    heron.manual_seed(1)
    logits = heron.randn(4096, 300, requires_grad=True)
    target = heron.randint(0, 300, (4096,))
    before = heron.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            heron.set_num_threads(threads)
            logits.grad = None
            loss = F.cross_entropy(logits, target, label_smoothing=0.1)
            loss.backward()
            results.append((loss.item(), logits.grad.numpy().copy()))
    finally:
        heron.set_num_threads(before)
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_kernel_entry_rejects_bad_input():
    logits, target = heron.randn(3, 4)._a, heron.tensor([0, 1, 2])._a
    with pytest.raises(IndexError, match="out of bounds"):
        heron._C.cross_entropy_rows(logits, heron.tensor([0, 4, 1])._a, -100, 0.0)
    with pytest.raises(RuntimeError, match=r"\(N, C\)"):
        heron._C.cross_entropy_rows(heron.randn(3)._a, target, -100, 0.0)
    with pytest.raises(RuntimeError, match="int64"):
        heron._C.cross_entropy_rows(logits, heron.tensor([0.0, 1.0, 2.0])._a, -100, 0.0)
    with pytest.raises(ValueError, match="batch_size"):
        heron._C.cross_entropy_rows(logits, heron.tensor([0, 1])._a, -100, 0.0)
    with pytest.raises(NotImplementedError, match="float32 or float64"):
        heron._C.cross_entropy_rows(heron.randn(3, 4).half()._a, target, -100, 0.0)
    with pytest.raises(RuntimeError, match="label_smoothing"):
        heron._C.cross_entropy_rows(logits, target, -100, 1.5)
