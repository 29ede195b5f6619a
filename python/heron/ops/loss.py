"""Fused cross-entropy: logits [N, C] against int64 class indices, with ignore_index, label
smoothing and the reduction, in one autograd node over two C++ passes (loss + log-sum-exp,
then the gradient). ``heron.nn.functional.cross_entropy`` sends the common case here; its
composite twin (log_softmax then NLL) handles the rest and is the test reference."""
from __future__ import annotations

import math

from .. import _C
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import wrap


class CrossEntropyRows(Function):
    @staticmethod
    def forward(ctx, logits, target, ignore_index, label_smoothing, reduction):
        loss, lse = _C.cross_entropy_rows(logits._a, target._a, ignore_index, label_smoothing)
        loss = wrap(loss)
        ctx.save_for_backward(logits)
        ctx.target, ctx.lse = target, wrap(lse)
        ctx.options = (ignore_index, label_smoothing, reduction)
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            ctx.scale = 1.0
            return total
        counted = int((target != ignore_index).sum().item())
        ctx.scale = 1.0 / counted if counted else 0.0  # nothing counted: nan loss, zero gradient
        return total / counted if counted else total + math.nan

    @staticmethod
    def backward(ctx, g):
        (logits,) = ctx.saved_tensors
        ignore_index, label_smoothing, reduction = ctx.options
        rows = logits.shape[0]
        grad_rows = g if reduction == "none" else (g * ctx.scale).expand(rows)
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            return _composite_grad(logits, ctx.target, grad_rows, ignore_index, label_smoothing), None, None, None, None
        grad_rows = grad_rows.to(logits.dtype).contiguous()
        dx = _C.cross_entropy_rows_backward(logits._a, ctx.target._a, ctx.lse._a, grad_rows._a, ignore_index,
                                            label_smoothing)
        return wrap(dx), None, None, None, None


def _composite_grad(logits, target, grad_rows, ignore_index, label_smoothing):
    """d loss / d logits from heron ops: (softmax - (1 - ls) onehot - ls / C) * g, zero on ignored rows."""
    from .elementwise import where
    from .indexing import one_hot
    from .reduce import softmax

    classes = logits.shape[1]
    kept = target != ignore_index
    onehot = one_hot(where(kept, target, 0), classes).to(logits.dtype)
    probs = softmax(logits, 1)
    per_row = (grad_rows * kept.to(logits.dtype)).unsqueeze(1)
    return (probs - onehot * (1.0 - label_smoothing) - label_smoothing / classes) * per_row


def cross_entropy_rows(logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    return CrossEntropyRows.apply(logits, target, ignore_index, label_smoothing, reduction)
