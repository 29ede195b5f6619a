"""The recurrences of nn.RNN, nn.LSTM and nn.GRU and of their cells, as composites of heron ops.

One function per recurrence runs ONE layer in ONE direction over a whole sequence; the modules
call nothing else, so a fused kernel that runs the whole time loop in one call plugs in by
taking over these three functions (same arguments, same results), and these composites stay
its specification and test reference (its "composite twin"):

    rnn_layer(input, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes=None, nonlinearity="tanh")
        -> (output, h_n)
    lstm_layer(input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse, batch_sizes=None)
        -> (output, h_n, c_n)
    gru_layer(input, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes=None)
        -> (output, h_n)

Arguments, with G gates (RNN 1, LSTM 4, GRU 3), H = hidden_size, and R = proj_size if the
LSTM projects its output, else H (R is the size of h):

- ``input``: time-major ``(T, B, I)`` when ``batch_sizes`` is None. Otherwise the rows of a
  PackedSequence's ``data``, ``(sum(batch_sizes), I)``: the first ``batch_sizes[0]`` rows are
  step 0 of every sequence, the next ``batch_sizes[1]`` rows step 1 of the sequences that
  are that long, and so on (sequences sorted by decreasing length).
- ``h0``: ``(B, R)`` and ``c0``: ``(B, H)``, where B = batch_sizes[0] for packed input.
- ``w_ih``: ``(G*H, I)``, ``w_hh``: ``(G*H, R)``, ``b_ih`` and ``b_hh``: ``(G*H,)`` or both
  None, ``w_hr``: ``(R, H)`` or None; the gates are stacked in torch's order (LSTM i, f, g,
  o; GRU r, z, n).
- ``reverse``: run from the last step to the first (the backward direction of a
  bidirectional layer); each packed sequence then starts at its own last step.
- ``batch_sizes``: None, or the PackedSequence's batch sizes as a sequence of Python ints.
- ``nonlinearity``: "tanh" or "relu".

Results: ``output`` has the layout of ``input`` with R features (the h of every step, in
time order whatever the direction); ``h_n`` and ``c_n`` are ``(B, R)`` and ``(B, H)``, each
sequence's state after its last step (its first, when ``reverse``).

How the composites are built: x_t W_ih^T for ALL steps is one GEMM before the loop (with b_ih,
and b_hh too where it is added before any gate is applied), cut into per-step views by one
unbind/split node; each step then does one GEMM with h_{t-1} W_hh^T and the gate math; the
per-step outputs are joined by one stack/cat at the end. The cells (nn.RNNCell & co.) run the
same step functions.
"""
from __future__ import annotations

import heron

from ..ops import rnn as _rnn_ops
from . import functional as F


# ---------------------------------------------------------------------------- one step (shared with the cells)
def input_gates(input, w_ih, b_ih, b_hh, fold_hidden_bias):
    """x W_ih^T + b_ih for every row of ``input`` in one GEMM; with ``fold_hidden_bias``, b_hh
    is added here too (RNN and LSTM add it to the same sum; GRU needs it inside the n gate)."""
    bias = b_ih
    if fold_hidden_bias and b_ih is not None:
        bias = b_ih + b_hh
    return F.linear(input, w_ih, bias)


def rnn_step(gates_x, h, w_hh, nonlinearity):
    """h' = act(gates_x + h W_hh^T), where gates_x = x W_ih^T + b_ih + b_hh."""
    pre = heron.addmm(gates_x, h, w_hh.t())
    return heron.tanh(pre) if nonlinearity == "tanh" else heron.relu(pre)


def lstm_step(gates_x, h, c, w_hh, w_hr):
    """One LSTM step, gates_x = x W_ih^T + b_ih + b_hh:

        i, f, g, o = split(gates_x + h W_hh^T)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')            (then h' W_hr^T with a projection)
    """
    i, f, g, o = heron.addmm(gates_x, h, w_hh.t()).chunk(4, 1)
    c = heron.sigmoid(f) * c + heron.sigmoid(i) * heron.tanh(g)
    h = heron.sigmoid(o) * heron.tanh(c)
    if w_hr is not None:
        h = heron.matmul(h, w_hr.t())
    return h, c


def gru_step(gates_x, h, w_hh, b_hh):
    """One GRU step, gates_x = x W_ih^T + b_ih, with torch's equations:

        r = sigmoid(x_r + W_hr h + b_hr)      z = sigmoid(x_z + W_hz h + b_hz)
        n = tanh(x_n + r * (W_hn h + b_hn))   h' = (1 - z) * n + z * h  (computed as n + z * (h - n))
    """
    x_r, x_z, x_n = gates_x.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = heron.sigmoid(x_r + h_r)
    z = heron.sigmoid(x_z + h_z)
    n = heron.tanh(x_n + r * h_n)
    return n + z * (h - n)


# ---------------------------------------------------------------------------- the time loop
def _steps(gates_x, batch_sizes):
    """The per-step views of the input projection (one graph node for all of them)."""
    if batch_sizes is None:
        return gates_x.unbind(0)
    return gates_x.split(list(batch_sizes), 0)


def _join(outputs, batch_sizes):
    return heron.stack(outputs) if batch_sizes is None else heron.cat(outputs)


def _scan(step, inputs, state, reverse):
    """Runs ``state = step(x_t, *state)`` over the per-step ``inputs`` (in time order;
    backwards when ``reverse``); a step's output is its new state[0]. Returns (outputs in time
    order, final state).

    Packed sequences: step t holds the first ``len(inputs[t])`` sequences (lengths decrease).
    Going forwards, the sequences that have ended leave the state, their rows being their
    final state; going backwards, the sequences that start join it with their initial rows.
    For padded input every step holds the whole batch and neither happens."""
    outputs = [None] * len(inputs)
    if not reverse:
        ended = []  # final rows of the sequences that ended, in the order they ended
        for t, x in enumerate(inputs):
            rows, active = state[0].shape[0], x.shape[0]
            if active < rows:
                pieces = [s.split([active, rows - active]) for s in state]
                state = tuple(kept for kept, _ in pieces)
                ended.append(tuple(gone for _, gone in pieces))
            state = step(x, *state)
            outputs[t] = state[0]
        if ended:  # rows in batch order: the longest sequences, then those that ended last
            state = tuple(heron.cat([s] + [e[k] for e in reversed(ended)]) for k, s in enumerate(state))
        return outputs, state
    initial = state
    active = inputs[-1].shape[0] if inputs else 0
    if active < initial[0].shape[0]:
        state = tuple(s.narrow(0, 0, active) for s in initial)
    for t in range(len(inputs) - 1, -1, -1):
        x = inputs[t]
        rows, active = state[0].shape[0], x.shape[0]
        if active > rows:
            state = tuple(heron.cat([s, s0.narrow(0, rows, active - rows)]) for s, s0 in zip(state, initial))
        state = step(x, *state)
        outputs[t] = state[0]
    return outputs, state


# ---------------------------------------------------------------------------- one layer, one direction
# A layer without an LSTM projection runs the fused kernel (heron.ops.rnn): the time loop
# forward and backward in one C++ call, for padded and packed sequences alike.
# ``recurrent_sequence`` below is its composite twin.
def rnn_layer(input, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes=None, nonlinearity="tanh"):
    """Elman RNN over a sequence: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).
    Returns (output, h_n); see the module docstring for layouts."""
    gates_x = input_gates(input, w_ih, b_ih, b_hh, fold_hidden_bias=True)
    cell = "rnn_" + nonlinearity
    if _rnn_ops.fused_recurrent_applies(gates_x, h0, w_hh):
        return _rnn_ops.fused_recurrent(cell, gates_x, w_hh, h0, reverse, _sequence_twin(cell, reverse, batch_sizes),
                                        batch_sizes=batch_sizes)
    return recurrent_sequence(cell, gates_x, w_hh, h0, reverse, batch_sizes=batch_sizes)


def lstm_layer(input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse, batch_sizes=None):
    """LSTM over a sequence (``lstm_step`` at each step). Returns (output, h_n, c_n)."""
    gates_x = input_gates(input, w_ih, b_ih, b_hh, fold_hidden_bias=True)
    if w_hr is None and _rnn_ops.fused_recurrent_applies(gates_x, h0, c0, w_hh):
        return _rnn_ops.fused_recurrent("lstm", gates_x, w_hh, h0, reverse, _sequence_twin("lstm", reverse, batch_sizes),
                                        c0=c0, batch_sizes=batch_sizes)
    outputs, (h_n, c_n) = _scan(lambda x, h, c: lstm_step(x, h, c, w_hh, w_hr), _steps(gates_x, batch_sizes),
                                (h0, c0), reverse)
    return _join(outputs, batch_sizes), h_n, c_n


def gru_layer(input, h0, w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes=None):
    """GRU over a sequence (``gru_step`` at each step). Returns (output, h_n)."""
    # b_hr and b_hz add to the same sums as b_ih: fold them into the projection; b_hn stays
    # apart, inside r * (h W_hn^T + b_hn).
    hidden = w_hh.shape[1]
    bias = None if b_ih is None else b_ih + F.pad(b_hh[:2 * hidden], (0, hidden))
    gates_x = F.linear(input, w_ih, bias)
    b_hn = None if b_hh is None else b_hh[2 * hidden:]
    if _rnn_ops.fused_recurrent_applies(gates_x, h0, w_hh, b_hn):
        return _rnn_ops.fused_recurrent("gru", gates_x, w_hh, h0, reverse, _sequence_twin("gru", reverse, batch_sizes),
                                        b_hn=b_hn, batch_sizes=batch_sizes)
    return recurrent_sequence("gru", gates_x, w_hh, h0, reverse, b_hn=b_hn, batch_sizes=batch_sizes)


def recurrent_sequence(cell, gates_x, w_hh, h0, reverse, c0=None, b_hn=None, batch_sizes=None):
    """The composite twin of the fused kernel (``heron.ops.rnn.fused_recurrent``, same
    arguments): (h of every step, h_n) and c_n for the LSTM, of a layer whose input
    projection is ``gates_x`` (T, B, G*H, or packed rows with ``batch_sizes``), with every bias
    but the GRU's ``b_hn``."""
    steps = _steps(gates_x, batch_sizes)
    if cell == "lstm":
        outputs, (h_n, c_n) = _scan(lambda x, h, c: lstm_step(x, h, c, w_hh, None), steps, (h0, c0), reverse)
        return _join(outputs, batch_sizes), h_n, c_n
    if cell == "gru":
        hidden = w_hh.shape[1]
        # gru_step adds b_hh to h W_hh^T: zeros for r and z (already in gates_x), b_hn for n.
        b_hh = None if b_hn is None else F.pad(b_hn, (2 * hidden, 0))
        outputs, (h_n,) = _scan(lambda x, h: (gru_step(x, h, w_hh, b_hh),), steps, (h0,), reverse)
    else:
        nonlinearity = cell[len("rnn_"):]
        outputs, (h_n,) = _scan(lambda x, h: (rnn_step(x, h, w_hh, nonlinearity),), steps, (h0,), reverse)
    return _join(outputs, batch_sizes), h_n


def _sequence_twin(cell, reverse, batch_sizes):
    return lambda gates_x, w_hh, h0, c0, b_hn: recurrent_sequence(cell, gates_x, w_hh, h0, reverse, c0=c0, b_hn=b_hn,
                                                                  batch_sizes=batch_sizes)
