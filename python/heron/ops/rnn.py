"""Fused LSTM layer (csrc/cpu/kernels/lstm.cpp): the whole time loop of one layer in one
direction runs in one C++ call, forward and backward through time.

The input projection x_t W_ih^T + b for every step stays an ordinary (autograd-recorded) GEMM
in front of this op, so its gradients (input, W_ih, biases) are one large GEMM each. This op
covers the recurrence: it takes the projected gates and returns every step's h, and its
backward returns the gate gradients of every step and W_hh's gradient as one GEMM over all
steps. ``heron.nn._rnn_impl`` decides when to use it and supplies the composite twin, which
also gives the create_graph (double-backward) path."""
from __future__ import annotations

from .. import _C
from .._dtype import float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap
from .linalg import matmul
from .shape import cat


def fused_lstm_applies(x_gates, h0, c0, w_hh) -> bool:
    """True when the fused kernel runs this layer: float32/float64 CPU tensors of one dtype,
    a padded (T, B, 4H) sequence and no projection (the caller checks those two)."""
    dtype = x_gates.dtype
    if dtype not in (float32, float64):
        return False
    return all(t.dtype == dtype and t.device.type == "cpu" for t in (x_gates, h0, c0, w_hh))


def fused_lstm(x_gates, w_hh, h0, c0, reverse, twin):
    """(h of every step (T, B, H), h_n, c_n) of an LSTM layer whose input projection (both
    biases included) is ``x_gates`` (T, B, 4H). ``twin(x_gates, w_hh, h0, c0)`` is the
    composite computing the same, used for double backward."""
    return LstmSequence.apply(x_gates, w_hh, h0, c0, bool(reverse), twin)


class LstmSequence(Function):
    @staticmethod
    def forward(ctx, x_gates, w_hh, h0, c0, reverse, twin):
        h_all, c_all, gates = _C.lstm_forward(x_gates._a, w_hh._a, h0._a, c0._a, reverse)
        h_all, c_all, gates = wrap(h_all), wrap(c_all), wrap(gates)
        last = 0 if reverse else h_all.shape[0] - 1
        steps = h_all.shape[0]
        h_n = h_all[last].clone() if steps else h0.clone()
        c_n = c_all[last].clone() if steps else c0.clone()
        ctx.save_for_backward(x_gates, w_hh, h0, c0, h_all, c_all, gates)
        ctx.reverse, ctx.twin = reverse, twin
        return h_all, h_n, c_n

    @staticmethod
    def backward(ctx, grad_h_all, grad_hn, grad_cn):
        x_gates, w_hh, h0, c0, h_all, c_all, gates = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, (grad_h_all, grad_hn, grad_cn), (x_gates, w_hh, h0, c0)) + (None, None)
        reverse = ctx.reverse
        grad_gates, dh0, dc0 = (wrap(a) for a in _C.lstm_backward(
            grad_h_all.contiguous()._a, grad_hn.contiguous()._a, grad_cn.contiguous()._a, gates._a, c_all._a,
            c0._a, w_hh._a, reverse))
        grad_w_hh = None
        if ctx.needs_input_grad[1]:
            # W_hh's gradient over all steps at once: dG^T @ h_{t-1} with the steps folded into rows.
            steps, batch, hidden = h_all.shape
            h_prev = cat([h_all[1:], h0.unsqueeze(0)]) if reverse else cat([h0.unsqueeze(0), h_all[:-1]])
            grad_w_hh = matmul(grad_gates.reshape(steps * batch, 4 * hidden).t(), h_prev.reshape(steps * batch, hidden))
        return grad_gates, grad_w_hh, dh0, dc0, None, None
