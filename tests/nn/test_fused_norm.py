"""The fused LayerNorm / RMSNorm kernels against their composite twins (tolerance as data),
double backward through the twin, thread-count independence, and the kernel entry's checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
import heron.nn.functional as F

TOLERANCE = {heron.float32: (1e-5, 1e-5), heron.float64: (1e-12, 1e-12)}


def _pair(dtype, shape, affine):
    heron.manual_seed(0)
    x = (heron.randn(*shape, dtype=dtype) * 3 + 1).requires_grad_()
    w = (heron.randn(*shape[-1:], dtype=dtype)).requires_grad_() if affine else None
    b = (heron.randn(*shape[-1:], dtype=dtype)).requires_grad_() if affine else None
    return x, w, b


def _clone(*ts):
    return [None if t is None else t.detach().clone().requires_grad_() for t in ts]


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("rms", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_matches_composite_twin(dtype, rms, affine):
    x, w, b = _pair(dtype, (3, 70, 33), affine)
    tx, tw, tb = _clone(x, w, b)
    if rms:
        fused, twin = F.rms_norm(x, (33,), w, 1e-6), F._rms_norm_composite(tx, (33,), tw, 1e-6)
    else:
        fused, twin = F.layer_norm(x, (33,), w, b), F._layer_norm_composite(tx, (33,), tw, tb, 1e-5)
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(fused.detach().numpy(), twin.detach().numpy(), rtol=rtol, atol=atol)
    g = heron.randn(*fused.shape, dtype=dtype)
    (fused * g).sum().backward()
    (twin * g).sum().backward()
    for a, t in ((x, tx), (w, tw), (b if not rms else None, tb if not rms else None)):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=rtol * 10, atol=atol * 10)


def test_double_backward_goes_through_the_twin():
    x, w, b = _pair(heron.float64, (4, 6), True)
    assert heron.autograd.gradgradcheck(lambda x, w, b: F.layer_norm(x, (6,), w, b), (x, w, b))


def test_thread_count_does_not_change_a_bit():
    x, w, b = _pair(heron.float32, (3000, 96), True)
    before = heron.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            heron.set_num_threads(threads)
            for t in (x, w, b):
                t.grad = None
            y = F.layer_norm(x, (96,), w, b)
            (y * y).sum().backward()
            results.append([y.detach().numpy().copy(), x.grad.numpy().copy(), w.grad.numpy().copy(), b.grad.numpy().copy()])
    finally:
        heron.set_num_threads(before)
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)


def test_kernel_entry_rejects_bad_input():
    x = heron.randn(4, 6)
    with pytest.raises(RuntimeError, match="groups of 5"):
        heron._C.norm_forward(x._a, 5, None, None, 1e-5, False)
    with pytest.raises(RuntimeError, match="affine values"):
        heron._C.norm_forward(x._a, 6, heron.randn(5)._a, None, 1e-5, False)
    with pytest.raises(RuntimeError, match="float64"):
        heron._C.norm_forward(x._a, 6, heron.randn(6, dtype=heron.float64)._a, None, 1e-5, False)
    with pytest.raises(NotImplementedError, match="float32 or float64"):
        heron._C.norm_forward(x.half()._a, 6, None, None, 1e-5, False)
    with pytest.raises(ValueError, match="no bias"):
        heron._C.norm_forward(x._a, 6, None, heron.randn(6)._a, 1e-5, True)
