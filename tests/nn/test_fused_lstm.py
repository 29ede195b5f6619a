"""The fused LSTM layer kernel (heron.ops.rnn) against its composite twin
(heron.nn._rnn_impl.lstm_sequence): values and every gradient (tolerance as data), both
directions, the threaded path bit-identical to one thread, double backward through the twin,
a 10,000-step sequence, and the kernel entry's checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.nn import _rnn_impl

TOLERANCE = {heron.float32: 2e-5, heron.float64: 1e-12}


def _layer(dtype, T, B, I, H, seed=0):
    heron.manual_seed(seed)
    scale = 1.0 / np.sqrt(H)
    tensors = dict(
        x=heron.randn(T, B, I, dtype=dtype), h0=heron.randn(B, H, dtype=dtype), c0=heron.randn(B, H, dtype=dtype),
        w_ih=heron.randn(4 * H, I, dtype=dtype) * scale, w_hh=heron.randn(4 * H, H, dtype=dtype) * scale,
        b_ih=heron.randn(4 * H, dtype=dtype) * scale, b_hh=heron.randn(4 * H, dtype=dtype) * scale)
    return {k: v.requires_grad_() for k, v in tensors.items()}


def _run(t, reverse, fused, weights):
    for v in t.values():
        v.grad = None
    if fused:
        out, h_n, c_n = _rnn_impl.lstm_layer(t["x"], t["h0"], t["c0"], t["w_ih"], t["w_hh"], t["b_ih"], t["b_hh"],
                                             None, reverse)
        assert out.grad_fn.name() == "LstmSequenceBackward"
    else:
        gates = _rnn_impl.input_gates(t["x"], t["w_ih"], t["b_ih"], t["b_hh"], True)
        out, h_n, c_n = _rnn_impl.lstm_sequence(gates, t["w_hh"], t["h0"], t["c0"], reverse)
    g_out, g_h, g_c = weights
    ((out * g_out).sum() + (h_n * g_h).sum() + (c_n * g_c).sum()).backward()
    return [out.detach().numpy(), h_n.detach().numpy(), c_n.detach().numpy()] + [v.grad.numpy() for v in t.values()]


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(7, 3, 5, 70), (1, 1, 4, 8), (12, 4, 16, 33)])
def test_matches_composite_twin(dtype, reverse, shape):
    T, B, I, H = shape
    t = _layer(dtype, T, B, I, H)
    heron.manual_seed(1)
    weights = (heron.randn(T, B, H, dtype=dtype), heron.randn(B, H, dtype=dtype), heron.randn(B, H, dtype=dtype))
    fused, twin = _run(t, reverse, True, weights), _run(t, reverse, False, weights)
    tol = TOLERANCE[dtype]
    for f, w in zip(fused, twin):
        np.testing.assert_allclose(f, w, rtol=tol, atol=tol)


def test_threads_do_not_change_a_bit():
    # 2 * B * 4H * H above the kernel's threshold for sharing a step between threads
    t = _layer(heron.float32, 6, 8, 16, 200)
    heron.manual_seed(2)
    weights = (heron.randn(6, 8, 200), heron.randn(8, 200), heron.randn(8, 200))
    before = heron.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            heron.set_num_threads(threads)
            results.append(_run(t, False, True, weights))
    finally:
        heron.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_double_backward_goes_through_the_twin():
    t = _layer(heron.float64, 3, 2, 2, 3)
    inputs = (t["x"], t["h0"], t["c0"], t["w_hh"])

    def f(x, h0, c0, w_hh):
        out, h_n, c_n = _rnn_impl.lstm_layer(x, h0, c0, t["w_ih"], w_hh, t["b_ih"], t["b_hh"], None, False)
        return out.sum() + (c_n * c_n).sum()

    assert heron.autograd.gradgradcheck(f, inputs)


def test_ten_thousand_steps_backpropagate():
    t = _layer(heron.float32, 10_000, 1, 4, 16)
    out, h_n, c_n = _rnn_impl.lstm_layer(t["x"], t["h0"], t["c0"], t["w_ih"], t["w_hh"], t["b_ih"], t["b_hh"], None,
                                         False)
    out.sum().backward()
    assert np.isfinite(t["w_hh"].grad.numpy()).all() and np.isfinite(t["x"].grad.numpy()).all()


def test_kernel_entry_checks_its_operands():
    x_gates, w_hh, h = heron.zeros(3, 2, 8), heron.zeros(8, 2), heron.zeros(2, 2)
    with pytest.raises(RuntimeError, match="weight_hh"):
        heron._C.lstm_forward(x_gates._a, heron.zeros(8, 3)._a, h._a, h._a, False)
    with pytest.raises(RuntimeError, match="input gates"):
        heron._C.lstm_forward(heron.zeros(3, 2, 6)._a, w_hh._a, h._a, h._a, False)
    with pytest.raises(RuntimeError, match="h0"):
        heron._C.lstm_forward(x_gates._a, w_hh._a, heron.zeros(3, 2)._a, h._a, False)
    with pytest.raises(RuntimeError, match="float64"):
        heron._C.lstm_forward(x_gates._a, w_hh._a, h._a, h.double()._a, False)
    with pytest.raises(NotImplementedError):
        heron._C.lstm_forward(x_gates.int()._a, w_hh.int()._a, h.int()._a, h.int()._a, False)
