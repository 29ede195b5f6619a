"""The fused recurrent layer kernel (heron.ops.rnn: LSTM, GRU, Elman RNN with tanh and relu)
against its composite twins (the _rnn_impl step functions run step by step): values and every
gradient (tolerance as data), both directions, padded and packed sequences, with and without
biases, the threaded path
bit-identical to one thread, double backward through the twin, a 10,000-step sequence, and the
kernel entry's checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.nn import _rnn_impl

TOLERANCE = {heron.float32: 2e-5, heron.float64: 1e-12}
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
CELLS = list(GATES)


def _layer(cell, dtype, T, B, I, H, bias=True, seed=0):
    heron.manual_seed(seed)
    scale = 1.0 / np.sqrt(H)
    G = GATES[cell] * H
    tensors = dict(x=heron.randn(T, B, I, dtype=dtype), h0=heron.randn(B, H, dtype=dtype),
                   w_ih=heron.randn(G, I, dtype=dtype) * scale, w_hh=heron.randn(G, H, dtype=dtype) * scale)
    if cell == "lstm":
        tensors["c0"] = heron.randn(B, H, dtype=dtype)
    if bias:
        tensors["b_ih"] = heron.randn(G, dtype=dtype) * scale
        tensors["b_hh"] = heron.randn(G, dtype=dtype) * scale
    return {k: v.requires_grad_() for k, v in tensors.items()}


def _fused_layer(cell, t, reverse, batch_sizes=None):
    """The layer as nn.LSTM / GRU / RNN run it (the fused kernel takes it): (output, h_n[, c_n]).
    With batch_sizes, t["x"] holds a PackedSequence's rows."""
    b_ih, b_hh = t.get("b_ih"), t.get("b_hh")
    if cell == "lstm":
        return _rnn_impl.lstm_layer(t["x"], t["h0"], t["c0"], t["w_ih"], t["w_hh"], b_ih, b_hh, None, reverse,
                                    batch_sizes)
    if cell == "gru":
        return _rnn_impl.gru_layer(t["x"], t["h0"], t["w_ih"], t["w_hh"], b_ih, b_hh, reverse, batch_sizes)
    return _rnn_impl.rnn_layer(t["x"], t["h0"], t["w_ih"], t["w_hh"], b_ih, b_hh, reverse, batch_sizes,
                               nonlinearity=cell[len("rnn_"):])


def _composite_layer(cell, t, reverse, batch_sizes=None):
    """The same layer by the composite step functions, with no fused kernel involved."""
    x, h0, w_ih, w_hh, b_ih, b_hh = t["x"], t["h0"], t["w_ih"], t["w_hh"], t.get("b_ih"), t.get("b_hh")
    steps = _rnn_impl._steps(_rnn_impl.input_gates(x, w_ih, b_ih, b_hh, fold_hidden_bias=cell != "gru"), batch_sizes)
    if cell == "lstm":
        outputs, state = _rnn_impl._scan(lambda g, h, c: _rnn_impl.lstm_step(g, h, c, w_hh, None), steps,
                                         (h0, t["c0"]), reverse)
    elif cell == "gru":
        outputs, state = _rnn_impl._scan(lambda g, h: (_rnn_impl.gru_step(g, h, w_hh, b_hh),), steps, (h0,), reverse)
    else:
        outputs, state = _rnn_impl._scan(lambda g, h: (_rnn_impl.rnn_step(g, h, w_hh, cell[len("rnn_"):]),), steps,
                                         (h0,), reverse)
    return (_rnn_impl._join(outputs, batch_sizes),) + tuple(state)


def _run(cell, t, reverse, fused, weights, batch_sizes=None):
    for v in t.values():
        v.grad = None
    results = (_fused_layer if fused else _composite_layer)(cell, t, reverse, batch_sizes)
    if fused:
        assert results[0].grad_fn.name() == "RecurrentSequenceBackward"
    sum(((r * w).sum() for r, w in zip(results, weights)), heron.zeros(())).backward()
    return [r.detach().numpy() for r in results] + [v.grad.numpy() for v in t.values()]


def _weights(cell, dtype, T, B, H, seed=1):
    heron.manual_seed(seed)
    return [heron.randn(T, B, H, dtype=dtype)] + [heron.randn(B, H, dtype=dtype) for _ in range(2 if cell == "lstm" else 1)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(7, 3, 5, 70), (1, 1, 4, 8), (12, 9, 16, 33), (3, 2, 6, 17), (4, 13, 5, 130)])
def test_matches_composite_twin(cell, dtype, reverse, shape):
    # Every tiling of the per-step products: batch 1 and 2 (one tile across a block), 3, 9 and
    # 13 (row groups of 3 to 6 by one panel); hidden sizes with a ragged last panel and block.
    T, B, I, H = shape
    t = _layer(cell, dtype, T, B, I, H)
    weights = _weights(cell, dtype, T, B, H)
    fused, twin = _run(cell, t, reverse, True, weights), _run(cell, t, reverse, False, weights)
    tol = TOLERANCE[dtype]
    for f, w in zip(fused, twin):
        np.testing.assert_allclose(f, w, rtol=tol, atol=tol)


def _packed_layer(cell, dtype, lengths, I, H):
    """A layer whose input is a PackedSequence's rows for sequences of these (non-increasing)
    lengths, its batch sizes and the weights of a loss over (output rows, h_n[, c_n])."""
    batch_sizes = [sum(n > t for n in lengths) for t in range(lengths[0])]
    t = _layer(cell, dtype, 1, len(lengths), I, H)
    t["x"] = heron.randn(sum(lengths), I, dtype=dtype).requires_grad_()
    heron.manual_seed(2)
    weights = [heron.randn(sum(lengths), H, dtype=dtype)] + [heron.randn(len(lengths), H, dtype=dtype)
                                                             for _ in range(2 if cell == "lstm" else 1)]
    return t, batch_sizes, weights


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [(5, 5, 3, 2, 1), (4, 1), (3,), (6, 6, 6, 5, 5, 4, 4, 2)])
def test_packed_sequences_match_composite_twin(cell, dtype, reverse, lengths):
    # Sequences end at different steps: going forwards rows leave the recurrence (h_n is each
    # one's own last h); going backwards they join it from h0 part-way.
    t, batch_sizes, weights = _packed_layer(cell, dtype, lengths, 3, 19)
    fused = _run(cell, t, reverse, True, weights, batch_sizes)
    twin = _run(cell, t, reverse, False, weights, batch_sizes)
    tol = TOLERANCE[dtype]
    for f, w in zip(fused, twin):
        np.testing.assert_allclose(f, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
def test_packed_sequences_threads_do_not_change_a_bit(cell, reverse):
    t, batch_sizes, weights = _packed_layer(cell, heron.float32, (7, 7, 6, 6, 4, 3, 3, 1), 8, 200)
    before = heron.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            heron.set_num_threads(threads)
            results.append(_run(cell, t, reverse, True, weights, batch_sizes))
    finally:
        heron.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_packed_double_backward_goes_through_the_twin():
    t, batch_sizes, _ = _packed_layer("lstm", heron.float64, (3, 2, 2), 2, 3)
    names = ["x", "h0", "c0", "w_hh"]

    def f(*args):
        output, h_n, c_n = _fused_layer("lstm", dict(t, **dict(zip(names, args))), True, batch_sizes)
        return output.sum() + (h_n * c_n).sum()

    assert heron.autograd.gradgradcheck(f, tuple(t[k] for k in names))


def test_kernel_entry_checks_batch_sizes():
    h = heron.zeros(3, 2)
    w_hh, x_gates = heron.zeros(2, 2), heron.zeros(6, 2)
    forward = heron._C.recurrent_forward
    for bad in ([3, 2, 2, 0], [2, 3, 1], [3, 3, 1, 1, 1, 1], [4, 2]):  # a zero, growing, sum, first != batch
        with pytest.raises((ValueError, RuntimeError), match="batch_sizes|packed input gates"):
            forward("rnn_tanh", x_gates._a, w_hh._a, None, h._a, None, False, bad)
    with pytest.raises(RuntimeError, match="packed input gates"):
        forward("rnn_tanh", heron.zeros(2, 3, 2)._a, w_hh._a, None, h._a, None, False, [3, 3])
    with pytest.raises(ValueError, match="batch_sizes"):
        heron._C.recurrent_backward("rnn_tanh", None, h._a, None, w_hh._a, h._a, heron.zeros(6, 2)._a, None, None,
                                    None, False, [3, 4])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_inference_gives_the_same_bits_without_keeping_the_steps(cell, reverse, packed):
    # Under no_grad the kernel keeps one c state (updated in place) and one step's gates
    # instead of every step's: the same arithmetic, so the same bits.
    if packed:
        t, batch_sizes, _ = _packed_layer(cell, heron.float32, (6, 6, 4, 3, 3, 1, 1), 5, 70)
    else:
        t, batch_sizes = _layer(cell, heron.float32, 6, 7, 5, 70), None
    with heron.no_grad():
        inference = _fused_layer(cell, t, reverse, batch_sizes)
    training = _fused_layer(cell, t, reverse, batch_sizes)
    assert training[0].grad_fn is not None and inference[0].grad_fn is None
    for a, b in zip(inference, training):
        assert np.array_equal(a.numpy(), b.detach().numpy())


def test_inference_kernel_returns_the_final_cell_state_and_a_step_of_workspace():
    x_gates, w_hh, h0, c0 = heron.randn(5, 3, 8), heron.randn(8, 2), heron.randn(3, 2), heron.randn(3, 2)
    h_all, c_n, gates = heron._C.recurrent_forward("lstm", x_gates._a, w_hh._a, None, h0._a, c0._a, False,
                                                   save_steps=False)
    _, c_all, saved = heron._C.recurrent_forward("lstm", x_gates._a, w_hh._a, None, h0._a, c0._a, False)
    assert list(c_n.shape) == [3, 2] and list(gates.shape) == [3, 8] and list(saved.shape) == [5, 3, 8]
    assert np.array_equal(heron.Tensor._wrap(c_n).numpy(), heron.Tensor._wrap(c_all).numpy()[-1])


@pytest.mark.parametrize("cell", CELLS)
def test_without_biases(cell):
    t = _layer(cell, heron.float64, 5, 2, 3, 6, bias=False)
    weights = _weights(cell, heron.float64, 5, 2, 6)
    for f, w in zip(_run(cell, t, False, True, weights), _run(cell, t, False, False, weights)):
        np.testing.assert_allclose(f, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_threads_do_not_change_a_bit(cell):
    # 2 * B * G * H above the kernel's threshold for sharing a step between threads
    t = _layer(cell, heron.float32, 6, 8, 16, 200 if GATES[cell] > 1 else 440)
    H = t["h0"].shape[1]
    weights = _weights(cell, heron.float32, 6, 8, H)
    before = heron.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            heron.set_num_threads(threads)
            results.append(_run(cell, t, False, True, weights))
    finally:
        heron.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cell", CELLS)
def test_double_backward_goes_through_the_twin(cell):
    t = _layer(cell, heron.float64, 3, 2, 2, 3)
    names = [k for k in ("x", "h0", "c0", "w_hh", "b_hh") if k in t]

    def f(*args):
        layer = dict(t, **dict(zip(names, args)))
        results = _fused_layer(cell, layer, False)
        return results[0].sum() + (results[-1] * results[-1]).sum()

    assert heron.autograd.gradgradcheck(f, tuple(t[k] for k in names))


def test_gradcheck_of_the_fused_gru():
    t = _layer("gru", heron.float64, 4, 2, 3, 5)
    names = list(t)

    def f(*args):
        return _fused_layer("gru", dict(zip(names, args)), True)

    assert heron.autograd.gradcheck(f, tuple(t[k] for k in names))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_ten_thousand_steps_backpropagate(cell):
    t = _layer(cell, heron.float32, 10_000, 1, 4, 16)
    _fused_layer(cell, t, False)[0].sum().backward()
    assert np.isfinite(t["w_hh"].grad.numpy()).all() and np.isfinite(t["x"].grad.numpy()).all()


def test_kernel_entry_checks_its_operands():
    x_gates, w_hh, h = heron.zeros(3, 2, 8), heron.zeros(8, 2), heron.zeros(2, 2)
    forward = heron._C.recurrent_forward
    with pytest.raises(RuntimeError, match="weight_hh"):
        forward("lstm", x_gates._a, heron.zeros(8, 3)._a, None, h._a, h._a, False)
    with pytest.raises(RuntimeError, match="input gates"):
        forward("lstm", heron.zeros(3, 2, 6)._a, w_hh._a, None, h._a, h._a, False)
    with pytest.raises(RuntimeError, match="h0"):
        forward("lstm", x_gates._a, w_hh._a, None, heron.zeros(3, 2)._a, h._a, False)
    with pytest.raises(RuntimeError, match="float64"):
        forward("lstm", x_gates._a, w_hh._a, None, h._a, h.double()._a, False)
    with pytest.raises(NotImplementedError):
        forward("lstm", x_gates.int()._a, w_hh.int()._a, None, h.int()._a, h.int()._a, False)
    with pytest.raises(ValueError, match="needs c0"):
        forward("lstm", x_gates._a, w_hh._a, None, h._a, None, False)
    with pytest.raises(ValueError, match="takes no c0"):
        forward("gru", heron.zeros(3, 2, 6)._a, heron.zeros(6, 2)._a, None, h._a, h._a, False)
    with pytest.raises(ValueError, match="takes no b_hn"):
        forward("rnn_tanh", heron.zeros(3, 2, 2)._a, heron.zeros(2, 2)._a, heron.zeros(2)._a, h._a, None, False)
    with pytest.raises(RuntimeError, match="b_hn"):
        forward("gru", heron.zeros(3, 2, 6)._a, heron.zeros(6, 2)._a, heron.zeros(3)._a, h._a, None, False)
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        forward("lstmx", x_gates._a, w_hh._a, None, h._a, h._a, False)
    with pytest.raises(RuntimeError, match="weight_hh"):
        heron._C.recurrent_backward("gru", None, h._a, None, heron.zeros(8, 2)._a, h._a, heron.zeros(3, 2, 2)._a,
                                    None, None, heron.zeros(3, 2, 8)._a, False)
