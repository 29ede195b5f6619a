"""Fused LayerNorm and RMSNorm: one C++ pass forward (saving each row's mean and 1/std) and one
backward for the input, weight and bias gradients. ``heron.nn.functional.layer_norm`` and
``rms_norm`` send float32/float64 inputs here; their composites are the twins and the test
reference, and also give the create_graph (double-backward) path."""
from __future__ import annotations

from .. import _C
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap


class FusedNorm(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, cols, eps, rms, twin):
        y, mean, rstd = _C.norm_forward(input._a, cols, None if weight is None else weight._a,
                                        None if bias is None else bias._a, eps, rms)
        ctx.save_for_backward(input, weight, bias)
        ctx.stats = (wrap(mean), wrap(rstd))
        ctx.cols, ctx.rms, ctx.twin = cols, rms, twin
        return wrap(y)

    @staticmethod
    def backward(ctx, g):
        input, weight, bias = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, g, (input, weight, bias)) + (None, None, None, None)
        need_w = weight is not None and ctx.needs_input_grad[1]
        need_b = bias is not None and ctx.needs_input_grad[2]
        mean, rstd = ctx.stats
        dx, dw, db = _C.norm_backward(g.contiguous()._a, input._a, mean._a, rstd._a,
                                      None if weight is None else weight._a, ctx.cols, ctx.rms, need_w, need_b)
        return (wrap(dx), wrap(dw).reshape(weight.shape) if need_w else None,
                wrap(db).reshape(bias.shape) if need_b else None, None, None, None, None)




def fused_norm(input, weight, bias, cols, eps, rms, twin):
    """``twin(input, weight, bias)`` computed by the fused kernel; ``cols`` is the number of
    trailing elements normalised together."""
    return FusedNorm.apply(input, weight, bias, cols, eps, rms, twin)


class FusedBatchNorm(Function):
    """Batch norm over dim 1 with the batch statistics (training) or given ones (mean and
    1/std, eval): csrc/cpu/kernels/batchnorm.cpp. Returns (y, mean, invstd); the statistics
    carry no gradient (the running-statistics update reads them)."""

    @staticmethod
    def forward(ctx, input, weight, bias, mean, invstd, eps, training, twin):
        y, mean, invstd = _C.batch_norm_forward(input._a, None if weight is None else weight._a,
                                                None if bias is None else bias._a, None if mean is None else mean._a,
                                                None if invstd is None else invstd._a, eps, training)
        mean, invstd = wrap(mean), wrap(invstd)
        ctx.save_for_backward(input, weight, bias, mean, invstd)
        ctx.training, ctx.twin = training, twin
        ctx.mark_non_differentiable(mean, invstd)
        return wrap(y), mean, invstd

    @staticmethod
    def backward(ctx, g, _grad_mean, _grad_invstd):
        input, weight, bias, mean, invstd = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            grads = twin_grads(ctx.twin, g, (input, weight, bias))
            return grads + (None,) * 5
        need = ctx.needs_input_grad
        dx, dw, db = _C.batch_norm_backward(g.contiguous()._a, input._a, mean._a, invstd._a,
                                            None if weight is None else weight._a, ctx.training, need[0],
                                            weight is not None and need[1], bias is not None and need[2])
        return (wrap(dx) if need[0] else None, wrap(dw) if weight is not None and need[1] else None,
                wrap(db) if bias is not None and need[2] else None, None, None, None, None, None)


def fused_batch_norm(input, weight, bias, running_mean, running_invstd, eps, training, twin):
    """(y, mean, invstd) of batch norm over dim 1; ``running_mean``/``running_invstd`` are used
    (and returned) when not training. ``twin(input, weight, bias)`` is the composite."""
    return FusedBatchNorm.apply(input, weight, bias, running_mean, running_invstd, float(eps), bool(training), twin)
