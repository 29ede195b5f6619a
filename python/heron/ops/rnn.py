"""Fused recurrent layers (csrc/cpu/kernels/recurrent.cpp): the whole time loop of one LSTM,
GRU or Elman-RNN layer in one direction runs in one C++ call, forward and backward through
time.

The input projection x_t W_ih^T + b for every step stays an ordinary (autograd-recorded) GEMM
in front of this op, so its gradients (input, W_ih, biases) are one large GEMM each. This op
covers the recurrence: it takes the projected gates and returns every step's h, and its
backward returns the gate gradients of every step and W_hh's gradient as one GEMM over all
steps. ``heron.nn._rnn_impl`` decides when to use it and supplies the composite twin, which
also gives the create_graph (double-backward) path."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._dtype import float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap
from .indexing import index_select
from .linalg import matmul
from .shape import cat

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def fused_recurrent_applies(*tensors) -> bool:
    """True when the fused kernel runs a layer on these operands (None entries skipped):
    float32/float64 CPU tensors of one dtype. The caller checks the rest (no LSTM projection)."""
    present = [t for t in tensors if t is not None]
    dtype = present[0].dtype
    if dtype not in (float32, float64):
        return False
    return all(t.dtype == dtype and t.device.type == "cpu" for t in present)


def fused_recurrent(cell, x_gates, w_hh, h0, reverse, twin, c0=None, b_hn=None, batch_sizes=None):
    """One layer's recurrence by the fused kernel. ``x_gates`` (T, B, G*H) is the input
    projection with the biases (for the GRU, all but ``b_hn``, the n gate's hidden bias,
    which the kernel applies inside r * (h W_hn^T + b_hn)). Returns (h of every step (T, B, H),
    h_n), and c_n after them for the LSTM (``c0`` given). With ``batch_sizes`` (a
    PackedSequence's, as ints) ``x_gates`` and the h of every step are the packed rows
    (rows, .), and each sequence's h_n is its h at its own last step. ``twin(x_gates, w_hh,
    h0, c0, b_hn)`` is the composite computing the same (its c0 / b_hn None where the cell has
    none), used for double backward."""
    if cell not in CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}: expected one of {', '.join(CELLS)}")
    sizes = None if batch_sizes is None else [int(n) for n in batch_sizes]
    operands = (x_gates, w_hh, h0, c0, b_hn)
    if grad_mode.is_grad_enabled() and any(t is not None and t.requires_grad for t in operands):
        return RecurrentSequence.apply(*operands, cell, bool(reverse), twin, sizes)
    # Inference: no graph, and the kernel keeps only the current c and one step's gates.
    h_all, c_n, _ = _forward(cell, *operands, bool(reverse), sizes, save_steps=False)
    h_n = _final_rows(h_all, h0, reverse, sizes)(h_all, h0)
    return (h_all, h_n) if cell != "lstm" else (h_all, h_n, c_n)


def _forward(cell, x_gates, w_hh, h0, c0, b_hn, reverse, batch_sizes, save_steps):
    return tuple(wrap(a) for a in _C.recurrent_forward(
        cell, x_gates._a, w_hh._a, None if b_hn is None else b_hn._a, h0._a, None if c0 is None else c0._a,
        reverse, batch_sizes, save_steps))


class RecurrentSequence(Function):
    @staticmethod
    def forward(ctx, x_gates, w_hh, h0, c0, b_hn, cell, reverse, twin, batch_sizes):
        h_all, c_all, gates = _forward(cell, x_gates, w_hh, h0, c0, b_hn, reverse, batch_sizes, save_steps=True)
        final = _final_rows(h_all, h0, reverse, batch_sizes)
        ctx.save_for_backward(x_gates, w_hh, h0, c0, b_hn, h_all, c_all if cell == "lstm" else None,
                              gates if cell in ("lstm", "gru") else None)
        ctx.cell, ctx.reverse, ctx.twin, ctx.batch_sizes = cell, reverse, twin, batch_sizes
        if cell != "lstm":
            return h_all, final(h_all, h0)
        return h_all, final(h_all, h0), final(c_all, c0)

    @staticmethod
    def backward(ctx, grad_h_all, grad_hn, grad_cn=None):
        x_gates, w_hh, h0, c0, b_hn, h_all, c_all, gates = ctx.saved_tensors
        operands = (x_gates, w_hh, h0, c0, b_hn)
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            present = tuple(t for t in operands if t is not None)
            grads = iter(twin_grads(lambda *args: ctx.twin(*_refill(operands, args)),
                                    (grad_h_all, grad_hn) + ((grad_cn,) if ctx.cell == "lstm" else ()), present))
            return tuple(None if t is None else next(grads) for t in operands) + (None, None, None, None)
        cell, reverse, batch_sizes = ctx.cell, ctx.reverse, ctx.batch_sizes

        def array(t):
            return None if t is None else t.contiguous()._a

        grad_gates, grad_hidden, dh0, dc0 = (wrap(a) for a in _C.recurrent_backward(
            cell, array(grad_h_all), grad_hn.contiguous()._a, array(grad_cn), w_hh._a, h0._a, h_all._a,
            array(c0), array(c_all), array(gates), reverse, batch_sizes))
        hidden = h0.shape[1]
        grad_w_hh = grad_b_hn = None
        if ctx.needs_input_grad[1]:
            # W_hh's gradient over all steps at once: dG^T @ h_{t-1} with the steps folded into rows.
            width = grad_hidden.shape[-1]
            grad_w_hh = matmul(grad_hidden.reshape(-1, width).t(), _previous_h(h_all, h0, reverse, batch_sizes))
        if b_hn is not None and ctx.needs_input_grad[4]:
            grad_b_hn = grad_hidden[..., 2 * hidden:].reshape(-1, hidden).sum(0)
        return (grad_gates, grad_w_hh, dh0, dc0 if cell == "lstm" else None, grad_b_hn, None, None, None, None)


def _packed_steps(batch_sizes):
    """The batch sizes as an array, and the first packed row of each time index."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    return sizes, np.concatenate(([0], np.cumsum(sizes)[:-1]))


def _final_rows(h_all, h0, reverse, batch_sizes):
    """A function taking (a per-step output, its initial state) to the final state: the last
    step processed; for packed sequences each sequence's own last step (the first time index
    going backwards, where every sequence ends)."""
    steps = h_all.shape[0] if batch_sizes is None else len(batch_sizes)
    if steps == 0:
        return lambda all_, initial: initial.clone()
    if batch_sizes is None:
        last = 0 if reverse else steps - 1
        return lambda all_, initial: all_[last].clone()
    batch = batch_sizes[0]
    if reverse:
        return lambda all_, initial: all_[:batch].clone()
    sizes, first = _packed_steps(batch_sizes)
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    rows = wrap(_C.from_numpy(first[lengths - 1] + np.arange(batch)))
    return lambda all_, initial: index_select(all_, 0, rows)


def _previous_h(h_all, h0, reverse, batch_sizes):
    """h_{t-1} of every step's rows, as rows ([steps * batch, H], or the packed rows)."""
    if batch_sizes is None:
        steps, batch, hidden = h_all.shape
        h_prev = cat([h_all[1:], h0.unsqueeze(0)]) if reverse else cat([h0.unsqueeze(0), h_all[:-1]])
        return h_prev.reshape(steps * batch, hidden)
    # Rows of cat([h0, h_all]): a row continues the previous time index's row (going forwards,
    # t - 1; backwards, t + 1) where that index has it, else starts from h0.
    sizes, first = _packed_steps(batch_sizes)
    steps, batch = len(sizes), int(sizes[0])
    t = np.repeat(np.arange(steps), sizes)
    b = np.arange(len(t)) - first[t]
    before = np.clip(t + 1 if reverse else t - 1, 0, steps - 1)
    continues = (t + 1 < steps if reverse else t > 0) & (b < sizes[before])
    rows = np.where(continues, batch + first[before] + b, b)
    return index_select(cat([h0, h_all]), 0, wrap(_C.from_numpy(rows)))


def _refill(operands, present):
    """``operands`` with its non-None entries replaced, in order, by ``present``."""
    it = iter(present)
    return tuple(None if t is None else next(it) for t in operands)
