"""Recurrent layers without torch: the layer composites of heron.nn._rnn_impl (rnn_layer,
lstm_layer, gru_layer) and the modules against a NumPy float64 implementation of the equations
(padded and packed, both directions, projections, stacked and bidirectional); gradients by
finite differences; cells = one step; long sequences backpropagate; truncated BPTT; dropout;
the packing utilities; parameters, init, repr and torch's errors.
tests/conformance/test_rnn_conformance.py compares the same with torch."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import heron
from heron import nn
from heron.nn import _rnn_impl
from heron.nn.utils import rnn as rnn_utils
from heron.testing import check_vjp_random_direction

ATOL = 1e-12
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


# ---------------------------------------------------------------------------- NumPy reference
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_cell(kind, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of one sequence (vectors), straight from the equations in torch's docs."""
    b_ih = 0 if b_ih is None else b_ih
    b_hh = 0 if b_hh is None else b_hh
    gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    if kind == "lstm":
        i, f, g, o = np.split(gi + gh, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return (h if w_hr is None else w_hr @ h), c
    if kind == "gru":
        (i_r, i_z, i_n), (h_r, h_z, h_n) = np.split(gi, 3), np.split(gh, 3)
        r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, None
    pre = gi + gh
    return (np.tanh(pre) if kind == "rnn_tanh" else np.maximum(pre, 0)), None


def np_layer(kind, x, h0, c0, weights, reverse, lengths=None):
    """One layer, one direction over padded x (T, B, I); sequence b has lengths[b] steps.
    Returns (output (T, B, R), zero past each length; h_n; c_n)."""
    T, B = x.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    out = np.zeros((T, B, h0.shape[1]))
    h_n, c_n = np.zeros_like(h0), None if c0 is None else np.zeros_like(c0)
    for b in range(B):
        h, c = h0[b], None if c0 is None else c0[b]
        steps = range(lengths[b] - 1, -1, -1) if reverse else range(lengths[b])
        for t in steps:
            h, c = np_cell(kind, x[t, b], h, c, *weights)
            out[t, b] = h
        h_n[b] = h
        if c_n is not None:
            c_n[b] = c
    return out, h_n, c_n


def np_stack(kind, params, x, h0, c0, num_layers, bidirectional, lengths=None):
    """A whole module: layers fed by the concatenated directions below."""
    D = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            suffix = "_reverse" if d else ""
            names = [f"{w}_l{layer}{suffix}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
            weights = [params.get(n) for n in names]
            k = layer * D + d
            out, h, c = np_layer(kind, x, h0[k], None if c0 is None else c0[k], weights, d == 1, lengths)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, -1)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


def random_weights(rng, kind, I, H, R=None, bias=True):
    G = GATES[kind]
    R = R or H
    w = [rng.uniform(-0.6, 0.6, s) if s else None for s in ((G * H, I), (G * H, R), (G * H,) if bias else None,
                                                           (G * H,) if bias else None)]
    return w + [rng.uniform(-0.6, 0.6, (R, H)) if R != H else None]


def packed_rows(x, lengths):
    """Rows of pack_padded_sequence for sorted lengths: (data, batch_sizes)."""
    T = x.shape[0]
    batch_sizes = [int((np.asarray(lengths) > t).sum()) for t in range(max(lengths))]
    data = np.concatenate([x[t, :batch_sizes[t]] for t in range(len(batch_sizes))])
    return data, batch_sizes


def H(a, requires_grad=False):
    return None if a is None else heron.tensor(a, requires_grad=requires_grad)


def call_layer(kind, x, h0, c0, weights, reverse, batch_sizes=None):
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if kind == "lstm":
        return _rnn_impl.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse, batch_sizes)
    if kind == "gru":
        return _rnn_impl.gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes)
    return _rnn_impl.rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes, kind[4:])


LAYER_CASES = [(kind, reverse, proj, bias) for kind in ("lstm", "gru", "rnn_tanh", "rnn_relu")
               for reverse in (False, True) for proj in (False, True) for bias in (True, False)
               if not (proj and kind != "lstm")]


def _case_id(case):
    kind, reverse, proj, bias = case
    return f"{kind}{'-reverse' if reverse else ''}{'-proj' if proj else ''}{'' if bias else '-nobias'}"


# ---------------------------------------------------------------------------- the layer composites
@pytest.mark.parametrize("case", LAYER_CASES, ids=_case_id)
def test_layer_composite_matches_numpy(case, rng):
    kind, reverse, proj, bias = case
    T, B, I, Hs = 5, 3, 4, 6
    R = 2 if proj else Hs
    weights = random_weights(rng, kind, I, Hs, R, bias)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((B, R))
    c0 = rng.standard_normal((B, Hs)) if kind == "lstm" else None
    expected = np_layer(kind, x, h0, c0, weights, reverse)
    got = call_layer(kind, H(x), H(h0), H(c0), [H(w) for w in weights], reverse)
    assert len(got) == (3 if kind == "lstm" else 2)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.detach().numpy(), e, atol=ATOL, rtol=0)
    # Packed: sequences of lengths 5, 3, 3 (sorted), rows laid out step by step.
    lengths = [5, 3, 3]
    data, batch_sizes = packed_rows(x, lengths)
    out, *finals = call_layer(kind, H(data), H(h0), H(c0), [H(w) for w in weights], reverse, batch_sizes)
    e_out, *e_finals = np_layer(kind, x, h0, c0, weights, reverse, lengths)
    np.testing.assert_allclose(out.detach().numpy(), packed_rows(e_out, lengths)[0], atol=ATOL, rtol=0)
    for g, e in zip(finals, e_finals):
        np.testing.assert_allclose(g.detach().numpy(), e, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if c[3]], ids=_case_id)
def test_layer_gradients_by_finite_differences(case, rng):
    kind, reverse, proj, _ = case
    T, B, I, Hs = 3, 2, 3, 3
    R = 2 if proj else Hs
    weights = [w for w in random_weights(rng, kind, I, Hs, R)]
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((B, R))
    c0 = rng.standard_normal((B, Hs)) if kind == "lstm" else None
    arrays = [a for a in [x, h0, c0] + weights if a is not None]
    leaves = [H(a, requires_grad=True) for a in arrays]

    def unpack(*ts):
        it = iter(ts)
        return [next(it) if a is not None else None for a in [x, h0, c0] + weights]

    def padded(*ts):
        xx, hh, cc, *ws = unpack(*ts)
        return call_layer(kind, xx, hh, cc, ws, reverse)

    check_vjp_random_direction(padded, leaves, rng=rng)
    # Packed (lengths 3, 1): ended and starting sequences leave and join the state.
    data, batch_sizes = packed_rows(x, [3, 1])
    leaves[0] = H(data, requires_grad=True)

    def packed(*ts):
        xx, hh, cc, *ws = unpack(*ts)
        return call_layer(kind, xx, hh, cc, ws, reverse, batch_sizes)

    check_vjp_random_direction(packed, leaves, rng=rng)


def _graph_node_names(root):
    names, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(node.name())
        stack.extend(n for n, _ in node.next_functions)
    return names


def test_input_projection_is_one_gemm_and_the_time_loop_one_node():
    """x W_ih^T for all steps is one node; the fused kernel runs the whole time loop as one more.
    Its composite twin cuts the steps with one unbind node and joins them with one stack."""
    T = 6
    x = heron.randn(T, 2, 3, requires_grad=True)
    w_ih, w_hh = heron.randn(8, 3, requires_grad=True), heron.randn(8, 2, requires_grad=True)
    out, h, c = _rnn_impl.lstm_layer(x, heron.zeros(2, 2), heron.zeros(2, 2), w_ih, w_hh, None, None, None, False)
    names = _graph_node_names(out.grad_fn)
    assert names.count("LinearBackward") == 1
    assert names.count("RecurrentSequenceBackward") == 1
    gates_x = _rnn_impl.input_gates(x, w_ih, None, None, True)
    out, h, c = _rnn_impl.recurrent_sequence("lstm", gates_x, w_hh, heron.zeros(2, 2), False, c0=heron.zeros(2, 2))
    names = _graph_node_names(out.grad_fn)
    assert names.count("LinearBackward") == 1
    assert names.count("UnbindBackward0") == 1
    assert names.count("CatBackward") == 1  # the final stack
    assert sum(n.startswith("Addmm") for n in names) == T


# ---------------------------------------------------------------------------- modules
def _module(kind, **kw):
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}[kind]
    if kind == "rnn_relu":
        kw["nonlinearity"] = "relu"
    return cls(dtype=heron.float64, **kw)


def _np_params(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_stacked_bidirectional_module_matches_numpy(kind, packed, rng):
    T, B, I, Hs = 4, 3, 3, 5
    kw = dict(input_size=I, hidden_size=Hs, num_layers=2, bidirectional=True, batch_first=True)
    if kind == "lstm":
        kw["proj_size"] = 2
    m = _module(kind, **kw)
    R = kw.get("proj_size", Hs)
    x = rng.standard_normal((T, B, I))
    h0 = rng.standard_normal((4, B, R))
    c0 = rng.standard_normal((4, B, Hs)) if kind == "lstm" else None
    lengths = [2, 4, 3] if packed else None
    e_out, e_h, e_c = np_stack(kind, _np_params(m), x, h0, c0, 2, True, lengths)
    hx = (H(h0), H(c0)) if kind == "lstm" else H(h0)
    if packed:
        seq = rnn_utils.pack_padded_sequence(H(x.transpose(1, 0, 2)), lengths, batch_first=True, enforce_sorted=False)
        out, state = m(seq, hx)
        assert isinstance(out, rnn_utils.PackedSequence) and out.sorted_indices is seq.sorted_indices
        out, out_lengths = rnn_utils.pad_packed_sequence(out, batch_first=True)
        assert out_lengths.tolist() == lengths
    else:
        out, state = m(H(x.transpose(1, 0, 2)), hx)
    np.testing.assert_allclose(out.detach().numpy(), e_out.transpose(1, 0, 2), atol=ATOL, rtol=0)
    h_n, c_n = state if kind == "lstm" else (state, None)
    np.testing.assert_allclose(h_n.detach().numpy(), e_h, atol=ATOL, rtol=0)
    if kind == "lstm":
        np.testing.assert_allclose(c_n.detach().numpy(), e_c, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_packed_batch_equals_each_sequence_alone(kind, rng):
    """Each sequence of a packed (unsorted) batch gives what it gives unbatched: output rows,
    and final states taken at its own last step in the caller's order."""
    m = _module(kind, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 5, 3)]
    h0 = rng.standard_normal((4, 3, 4))
    hx = (H(h0), H(h0 * 0.5)) if kind == "lstm" else H(h0)
    out, state = m(rnn_utils.pack_sequence([H(s) for s in seqs], enforce_sorted=False), hx)
    outs = rnn_utils.unpack_sequence(out)
    for b, s in enumerate(seqs):
        one_hx = (H(h0[:, b]), H(h0[:, b] * 0.5)) if kind == "lstm" else H(h0[:, b])
        one_out, one_state = m(H(s), one_hx)
        np.testing.assert_allclose(outs[b].detach().numpy(), one_out.detach().numpy(), atol=ATOL, rtol=0)
        for got, want in zip(state if kind == "lstm" else (state,), one_state if kind == "lstm" else (one_state,)):
            np.testing.assert_allclose(got[:, b].detach().numpy(), want.detach().numpy(), atol=ATOL, rtol=0)


def test_shapes_of_every_input_form():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    out, (h, c) = lstm(heron.randn(7, 4, 3))
    assert out.shape == (7, 4, 4) and h.shape == (4, 4, 2) and c.shape == (4, 4, 5)
    out, (h, c) = lstm(heron.randn(7, 3))  # unbatched
    assert out.shape == (7, 4) and h.shape == (4, 2) and c.shape == (4, 5)
    gru = nn.GRU(3, 5, batch_first=True)
    out, h = gru(heron.randn(4, 7, 3), heron.zeros(1, 4, 5))
    assert out.shape == (4, 7, 5) and h.shape == (1, 4, 5)
    out, h = gru(heron.randn(7, 3), heron.zeros(1, 5))
    assert out.shape == (7, 5) and h.shape == (1, 5)
    out, h = nn.RNN(3, 5)(heron.randn(7, 0, 3))  # an empty batch
    assert out.shape == (7, 0, 5) and h.shape == (1, 0, 5)


def test_unbatched_equals_a_batch_of_one(rng):
    m = _module("gru", input_size=3, hidden_size=4, batch_first=True)
    x, h0 = rng.standard_normal((5, 3)), rng.standard_normal((1, 4))
    out, h = m(H(x), H(h0))
    out1, h1 = m(H(x[None]), H(h0[:, None]))
    np.testing.assert_array_equal(out.detach().numpy(), out1.detach().numpy()[0])
    np.testing.assert_array_equal(h.detach().numpy(), h1.detach().numpy()[:, 0])


# ---------------------------------------------------------------------------- cells
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_numpy_and_one_layer_step(kind, bias, rng):
    cls = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn_tanh": nn.RNNCell, "rnn_relu": nn.RNNCell}[kind]
    kw = {"nonlinearity": "relu"} if kind == "rnn_relu" else {}
    cell = cls(3, 4, bias=bias, dtype=heron.float64, **kw)
    weights = [None if getattr(cell, n) is None else getattr(cell, n).detach().numpy()
               for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    hx = (H(h), H(c)) if kind == "lstm" else H(h)
    got = cell(H(x), hx)
    got = got if kind == "lstm" else (got,)
    for b in range(2):
        expected = np_cell(kind, x[b], h[b], c[b], *weights)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.detach().numpy()[b], e, atol=ATOL, rtol=0)
    # unbatched, and no state: zeros
    one = cell(H(x[0]))
    one = one if kind == "lstm" else (one,)
    expected = np_cell(kind, x[0], np.zeros(4), np.zeros(4), *weights)
    for g, e in zip(one, expected):
        assert g.shape == (4,)
        np.testing.assert_allclose(g.detach().numpy(), e, atol=ATOL, rtol=0)
    # one step of the layer gives the same numbers (to rounding: the LSTM layer runs the fused kernel)
    layer = call_layer(kind, H(x[None]), H(h), H(c) if kind == "lstm" else None, [H(w) for w in weights] + [None],
                       False)
    for g, e in zip(layer[1:], got):
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_cell_step_gradients_by_finite_differences(kind, rng):
    """The step functions the cells run, differentiated in every argument."""
    x, h, c = (H(rng.standard_normal(s), requires_grad=True) for s in ((2, 3), (2, 2), (2, 2)))
    weights = [H(w, requires_grad=True) for w in random_weights(rng, kind, 3, 2)[:4]]

    def step(x, h, c, w_ih, w_hh, b_ih, b_hh):
        gates_x = _rnn_impl.input_gates(x, w_ih, b_ih, b_hh, fold_hidden_bias=kind != "gru")
        if kind == "lstm":
            return _rnn_impl.lstm_step(gates_x, h, c, w_hh, None)
        if kind == "gru":
            return _rnn_impl.gru_step(gates_x, h, w_hh, b_hh) + 0 * c
        return _rnn_impl.rnn_step(gates_x, h, w_hh, "tanh") + 0 * c

    check_vjp_random_direction(step, [x, h, c, *weights], rng=rng)


# ---------------------------------------------------------------------------- long sequences, truncated BPTT
def test_2000_step_lstm_backpropagates_without_recursion(rng):
    """The graph walk is iterative: a 2,000-step unroll (about 30,000 nodes) must backpropagate
    under a recursion limit far below its depth, and the gradient must reach the first step."""
    import sys

    m = nn.LSTM(2, 3)
    x = heron.randn(2000, 1, 2, requires_grad=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    try:
        out, (h, c) = m(x)
        (out.sum() + c.sum()).backward()
    finally:
        sys.setrecursionlimit(limit)
    grad = x.grad.detach().numpy()
    assert np.isfinite(grad).all() and np.abs(grad[0]).sum() > 0
    assert all(p.grad is not None for p in m.parameters())


def test_10000_step_rnn_backpropagates():
    m = nn.RNN(1, 2)
    x = heron.randn(10000, 1, 1, requires_grad=True)
    out, h = m(x)
    h.sum().backward()
    assert x.grad.shape == (10000, 1, 1) and np.isfinite(x.grad.detach().numpy()).all()


def test_truncated_bptt_with_detached_states(rng):
    """Chunks that carry detached (h, c) give the full sequence's outputs; each chunk's
    backward stops at its own start, so its gradient equals that of a fresh run from the
    carried values."""
    m = _module("lstm", input_size=2, hidden_size=3, num_layers=2)
    x = H(rng.standard_normal((9, 2, 2)))
    full, _ = m(x)
    state, chunks = None, []
    for start in range(0, 9, 3):
        out, state = m(x[start:start + 3], state)
        chunks.append(out.detach())
        if start == 3:
            carried = tuple(s.detach() for s in previous)
            m.zero_grad()
            out.sum().backward()
            grads = [p.grad.detach().numpy().copy() for p in m.parameters()]
            m.zero_grad()
            fresh, _ = m(x[3:6], carried)
            fresh.sum().backward()
            for g, p in zip(grads, m.parameters()):
                np.testing.assert_allclose(g, p.grad.detach().numpy(), atol=ATOL, rtol=0)
        previous = state
        state = tuple(s.detach() for s in state)
        assert all(s.grad_fn is None for s in state)
    np.testing.assert_allclose(heron.cat(chunks).detach().numpy(), full.detach().numpy(), atol=ATOL, rtol=0)


# ---------------------------------------------------------------------------- dropout, train/eval
def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 4, num_layers=3, dropout=0.5)
    x = heron.randn(5, 2, 3)
    m.eval()
    eval_out, _ = m(x)
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), eval_out.detach().numpy())
    m.train()
    heron.manual_seed(3)
    train_a, _ = m(x)
    heron.manual_seed(3)
    train_b, _ = m(x)
    np.testing.assert_array_equal(train_a.detach().numpy(), train_b.detach().numpy())  # heron's generator: reproducible
    assert not np.allclose(train_a.detach().numpy(), eval_out.detach().numpy())
    # No dropout after the last layer: one layer trains as it evaluates.
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        single = nn.GRU(3, 4, dropout=0.5)
    np.testing.assert_array_equal(single(x)[0].detach().numpy(), single.eval()(x)[0].detach().numpy())


# ---------------------------------------------------------------------------- parameters, init, repr
def test_parameter_names_order_shapes_and_init():
    m = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    names = [n for n, _ in m.named_parameters()]
    per = ["weight_ih_l{}{}", "weight_hh_l{}{}", "bias_ih_l{}{}", "bias_hh_l{}{}", "weight_hr_l{}{}"]
    assert names == [p.format(layer, s) for layer in (0, 1) for s in ("", "_reverse") for p in per]
    assert m.weight_ih_l0.shape == (32, 3) and m.weight_hh_l0.shape == (32, 2) and m.weight_hr_l0.shape == (2, 8)
    assert m.weight_ih_l1_reverse.shape == (32, 4)
    assert m.all_weights[1] == [m.weight_ih_l0_reverse, m.weight_hh_l0_reverse, m.bias_ih_l0_reverse,
                                m.bias_hh_l0_reverse, m.weight_hr_l0_reverse]
    assert m._flat_weights_names == names and m._flat_weights[0] is m.weight_ih_l0
    bound = 1 / math.sqrt(8)
    for p in m.parameters():
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and values.std() > bound / 3
    assert m.flatten_parameters() is None
    no_bias = nn.GRU(3, 4, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    cell = nn.GRUCell(3, 4, bias=False)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"] and cell.bias_ih is None


def test_repr_matches_torch_text():
    assert repr(nn.LSTM(4, 6, 2, proj_size=3, bidirectional=True, dropout=0.5, bias=False, batch_first=True)) == (
        "LSTM(4, 6, proj_size=3, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)")
    assert repr(nn.RNN(4, 4, 2, "relu")) == "RNN(4, 4, num_layers=2)"  # torch leaves nonlinearity out here
    assert repr(nn.RNNCell(4, 6, bias=False, nonlinearity="relu")) == "RNNCell(4, 6, bias=False, nonlinearity=relu)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"


def test_to_double_and_state_dict_round_trip(rng):
    m = nn.LSTM(3, 4, num_layers=2).double()
    assert all(p.dtype is heron.float64 for p in m.parameters())
    m2 = nn.LSTM(3, 4, num_layers=2, dtype=heron.float64)
    m2.load_state_dict(m.state_dict())
    x = H(rng.standard_normal((3, 2, 3)))
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), m2(x)[0].detach().numpy())


# ---------------------------------------------------------------------------- packing utilities
def test_pack_and_pad_round_trip_in_every_layout(rng):
    x = rng.standard_normal((5, 4, 2))
    lengths = [3, 5, 1, 5]
    order = [1, 3, 0, 2]  # by decreasing length, ties in order
    for batch_first in (False, True):
        xi = x.transpose(1, 0, 2) if batch_first else x
        packed = rnn_utils.pack_padded_sequence(H(xi), heron.tensor(lengths), batch_first, enforce_sorted=False)
        assert packed.batch_sizes.tolist() == [4, 3, 3, 2, 2] and packed.batch_sizes.dtype is heron.int64
        assert packed.sorted_indices.tolist() == order and packed.unsorted_indices.tolist() == [2, 0, 3, 1]
        expected = np.concatenate([x[t, [b for b in order if lengths[b] > t]] for t in range(5)])
        np.testing.assert_array_equal(packed.data.detach().numpy(), expected)
        padded, out_lengths = rnn_utils.pad_packed_sequence(packed, batch_first, padding_value=-7.0, total_length=6)
        want = np.full((6, 4, 2), -7.0)
        for b, n in enumerate(lengths):
            want[:n, b] = x[:n, b]
        np.testing.assert_array_equal(padded.detach().numpy(), want.transpose(1, 0, 2) if batch_first else want)
        assert out_lengths.tolist() == lengths


def test_pack_and_pad_are_differentiable(rng):
    x = H(rng.standard_normal((4, 3, 2)), requires_grad=True)
    check_vjp_random_direction(
        lambda x: rnn_utils.pad_packed_sequence(rnn_utils.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False),
                                                padding_value=1.5)[0], [x], rng=rng)
    seqs = [H(rng.standard_normal((n, 2)), requires_grad=True) for n in (3, 1)]
    check_vjp_random_direction(lambda a, b: rnn_utils.pad_sequence([a, b], padding_side="left"), seqs, rng=rng)


def test_pad_sequence_sides_and_unpad(rng):
    seqs = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    right = rnn_utils.pad_sequence([H(s) for s in seqs], batch_first=True, padding_value=9.0)
    left = rnn_utils.pad_sequence([H(s) for s in seqs], batch_first=True, padding_value=9.0, padding_side="left")
    for b, s in enumerate(seqs):
        n = len(s)
        np.testing.assert_array_equal(right.detach().numpy()[b, :n], s)
        np.testing.assert_array_equal(left.detach().numpy()[b, 4 - n:], s)
        assert (right.detach().numpy()[b, n:] == 9).all() and (left.detach().numpy()[b, :4 - n] == 9).all()
    time_major = rnn_utils.pad_sequence([H(s) for s in seqs])
    assert time_major.shape == (4, 3, 3)
    pieces = rnn_utils.unpad_sequence(time_major, heron.tensor([2, 4, 1]))
    assert time_major.shape == (4, 3, 3)  # the input is left as it was
    for piece, s in zip(pieces, seqs):
        np.testing.assert_array_equal(piece.detach().numpy(), s)
    for piece, s in zip(rnn_utils.unpack_sequence(rnn_utils.pack_sequence([H(s) for s in seqs], False)), seqs):
        np.testing.assert_array_equal(piece.detach().numpy(), s)


def test_packed_sequence_tuple_behaviour():
    packed = rnn_utils.pack_sequence([heron.ones(3, 2), heron.ones(2, 2)])
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert sorted_indices is None and unsorted_indices is None and batch_sizes.tolist() == [2, 2, 1]
    assert repr(packed).startswith("PackedSequence(data=tensor(")
    doubled = packed.double()
    assert isinstance(doubled, rnn_utils.PackedSequence) and doubled.data.dtype is heron.float64
    assert packed.to(heron.float32) is packed and not packed.is_cuda
    same = rnn_utils.PackedSequence((data, batch_sizes))
    assert same.data is data
    permuted = rnn_utils.PackedSequence(data, batch_sizes, heron.tensor([1, 0]))
    assert permuted.unsorted_indices.tolist() == [1, 0]
    assert rnn_utils.invert_permutation(heron.tensor([2, 0, 1])).tolist() == [1, 2, 0]


PACK_ERRORS = [
    ("unsorted", lambda: rnn_utils.pack_padded_sequence(heron.zeros(4, 3, 2), [2, 3, 1]), RuntimeError,
     "must be sorted in decreasing order"),
    ("zero length", lambda: rnn_utils.pack_padded_sequence(heron.zeros(4, 3, 2), [3, 2, 0]), RuntimeError,
     "has to be greater than 0"),
    ("count", lambda: rnn_utils.pack_padded_sequence(heron.zeros(4, 3, 2), [3, 2]), RuntimeError,
     "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)"),
    ("2-D lengths", lambda: rnn_utils.pack_padded_sequence(heron.zeros(4, 3, 2), heron.tensor([[3, 2, 1]])),
     RuntimeError, "should be a 1D CPU int64 tensor"),
    ("too long", lambda: rnn_utils.pack_padded_sequence(heron.zeros(4, 3, 2), [5, 2, 1]), RuntimeError,
     "exceeds the 4 steps"),
    ("1-D input", lambda: rnn_utils.pack_padded_sequence(heron.zeros(3), [3]), IndexError, "Dimension out of range"),
    ("total_length", lambda: rnn_utils.pad_packed_sequence(rnn_utils.pack_sequence([heron.zeros(3)]), total_length=2),
     ValueError, "Expected total_length to be at least"),
    ("empty", lambda: rnn_utils.pad_sequence([]), RuntimeError, "received an empty list of sequences"),
    ("side", lambda: rnn_utils.pad_sequence([heron.zeros(2)], padding_side="mid"), RuntimeError,
     "Expected padding_side to be one of left or right, but got mid."),
    ("not iterable", lambda: rnn_utils.pad_sequence(5), RuntimeError, "Expected iterable for input sequences"),
    ("trailing dims", lambda: rnn_utils.pad_sequence([heron.zeros(2, 3), heron.zeros(2, 4)]), RuntimeError, ""),
]


@pytest.mark.parametrize("case", PACK_ERRORS, ids=[c[0] for c in PACK_ERRORS])
def test_packing_errors(case):
    _, call, error, message = case
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# ---------------------------------------------------------------------------- torch's errors
def _lstm_hx(h, c):
    return lambda: nn.LSTM(4, 6)(heron.zeros(5, 3, 4), (heron.zeros(*h), heron.zeros(*c)))


MODULE_ERRORS = [
    ("dropout range", lambda: nn.GRU(4, 6, dropout=1.5), ValueError, "dropout should be a number in range [0, 1]"),
    ("dropout bool", lambda: nn.GRU(4, 6, dropout=True), ValueError, "dropout should be a number in range [0, 1]"),
    ("proj >= hidden", lambda: nn.LSTM(4, 6, proj_size=6), ValueError, "proj_size has to be smaller than hidden_size"),
    ("proj < 0", lambda: nn.LSTM(4, 6, proj_size=-1), ValueError, "proj_size should be a positive integer or zero"),
    ("proj on GRU", lambda: nn.GRU(4, 6, proj_size=2), ValueError, "proj_size argument is only supported for LSTM"),
    ("proj on RNN", lambda: nn.RNN(4, 6, proj_size=0), ValueError, "proj_size argument is only supported for LSTM"),
    ("nonlinearity", lambda: nn.RNN(4, 6, nonlinearity="sigmoid"), ValueError,
     "Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."),
    ("hidden 0", lambda: nn.RNN(4, 0), ValueError, "hidden_size must be greater than zero"),
    ("input 0", lambda: nn.RNN(0, 4), ValueError, "input_size must be greater than zero"),
    ("layers 0", lambda: nn.RNN(4, 4, 0), ValueError, "num_layers must be greater than zero"),
    ("hidden float", lambda: nn.LSTM(4, 4.0), TypeError, "hidden_size should be of type int, got: float"),
    ("bias int", lambda: nn.LSTM(4, 4, bias=1), TypeError, "bias should be of type bool, got: int"),
    ("batch_first int", lambda: nn.LSTM(4, 4, batch_first=1), TypeError, "batch_first should be of type bool"),
    ("1-D input RNN", lambda: nn.RNN(4, 6)(heron.zeros(4)), ValueError,
     "RNN: Expected input to be 2D or 3D, got 1D tensor instead"),
    ("4-D input LSTM", lambda: nn.LSTM(4, 6)(heron.zeros(1, 1, 1, 4)), ValueError,
     "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    ("input_size", lambda: nn.GRU(3, 6)(heron.zeros(5, 3, 4)), RuntimeError,
     "input.size(-1) must be equal to input_size. Expected 3, got 4"),
    ("dtype", lambda: nn.GRU(4, 6)(heron.zeros(5, 3, 4, dtype=heron.float64)), ValueError,
     "RNN input dtype (heron.float64) does not match weight dtype (heron.float32)"),
    ("empty sequence", lambda: nn.LSTM(4, 6)(heron.zeros(0, 3, 4)), RuntimeError,
     "Expected sequence length to be larger than 0 in RNN"),
    ("hx shape", lambda: nn.GRU(4, 6)(heron.zeros(5, 3, 4), heron.zeros(2, 3, 6)), RuntimeError,
     "Expected hidden size (1, 3, 6), got [2, 3, 6]"),
    ("hx 2-D for batched", lambda: nn.GRU(4, 6)(heron.zeros(5, 3, 4), heron.zeros(3, 6)), RuntimeError,
     "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
    ("hx 3-D for unbatched", lambda: nn.RNN(4, 6)(heron.zeros(5, 4), heron.zeros(1, 1, 6)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    ("lstm hx rank", lambda: nn.LSTM(4, 6)(heron.zeros(5, 3, 4), (heron.zeros(3, 6), heron.zeros(1, 3, 6))),
     RuntimeError, "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D) tensors"),
    ("lstm h shape", _lstm_hx((1, 2, 6), (1, 3, 6)), RuntimeError, "Expected hidden[0] size (1, 3, 6), got [1, 2, 6]"),
    ("lstm c shape", _lstm_hx((1, 3, 6), (1, 3, 5)), RuntimeError, "Expected hidden[1] size (1, 3, 6), got [1, 3, 5]"),
    ("packed data rank", lambda: nn.GRU(4, 6)(rnn_utils.PackedSequence(heron.zeros(5, 1, 4), heron.tensor([2, 2, 1]))),
     RuntimeError, "input must have 2 dimensions, got 3"),
    ("packed hx batch", lambda: nn.GRU(4, 6)(rnn_utils.pack_sequence([heron.zeros(3, 4), heron.zeros(2, 4)]),
                                            heron.zeros(1, 3, 6)), RuntimeError,
     "Expected hidden size (1, 2, 6), got [1, 3, 6]"),
    ("cell input rank", lambda: nn.GRUCell(4, 6)(heron.zeros(3, 3, 4)), ValueError,
     "GRUCell: Expected input to be 1D or 2D, got 3D instead"),
    ("cell hidden rank", lambda: nn.RNNCell(4, 6)(heron.zeros(3, 4), heron.zeros(1, 3, 6)), ValueError,
     "RNNCell: Expected hidden to be 1D or 2D, got 3D instead"),
    ("lstm cell hx rank", lambda: nn.LSTMCell(4, 6)(heron.zeros(3, 4), (heron.zeros(1, 3, 6), heron.zeros(3, 6))),
     ValueError, "LSTMCell: Expected hx[0] to be 1D or 2D, got 3D instead"),
    ("cell input_size", lambda: nn.LSTMCell(4, 6)(heron.zeros(3, 5)), RuntimeError,
     "input has inconsistent input_size: got 5 expected 4"),
    ("cell batch", lambda: nn.LSTMCell(4, 6)(heron.zeros(3, 4), (heron.zeros(2, 6), heron.zeros(2, 6))), RuntimeError,
     "Input batch size 3 doesn't match hidden0 batch size 2"),
    ("cell hidden_size", lambda: nn.GRUCell(4, 6)(heron.zeros(3, 4), heron.zeros(3, 5)), RuntimeError,
     "hidden0 has inconsistent hidden_size: got 5, expected 6"),
    ("cell unknown nonlinearity", lambda: nn.RNNCell(4, 6, nonlinearity="x")(heron.zeros(4)), RuntimeError,
     "Unknown nonlinearity: x"),
    ("cell dtype", lambda: nn.GRUCell(4, 6)(heron.zeros(3, 4, dtype=heron.float64)), RuntimeError,
     "must have the same dtype"),
]


@pytest.mark.parametrize("case", MODULE_ERRORS, ids=[c[0] for c in MODULE_ERRORS])
def test_module_errors_are_torchs(case):
    _, call, error, message = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error) as info:
            call()
    assert message in str(info.value)
