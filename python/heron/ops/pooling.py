"""Fused 2-D max pooling (csrc/cpu/kernels/pool.cpp): one pass forward writing each window's
maximum and its flat position in the plane, and one scatter of the gradients backward.
``heron.nn._pooling`` validates the arguments, computes the output size (ceil_mode) and
supplies the composite twin, which also gives the create_graph (double-backward) path."""
from __future__ import annotations

from .. import _C
from .._dtype import float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap


def fused_max_pool_applies(input) -> bool:
    return input.dtype in (float32, float64) and input.device.type == "cpu"


class MaxPool2dFused(Function):
    @staticmethod
    def forward(ctx, input, options, twin):
        values, indices = _C.max_pool2d_forward(input._a, *options)
        indices = wrap(indices)
        ctx.save_for_backward(input, indices)
        ctx.options, ctx.twin = options, twin
        ctx.mark_non_differentiable(indices)
        return wrap(values), indices

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        input, indices = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, grad, (input,)) + (None, None)
        return wrap(_C.max_pool2d_backward(grad.contiguous()._a, indices._a, input.shape, *ctx.options)), None, None


def fused_max_pool2d(input, kernel, stride, padding, dilation, out_size, twin):
    """(values, indices) of max pooling (N, C, H, W) ``input`` into ``out_size`` windows;
    ``twin(input)`` computes the values from heron ops."""
    options = tuple(tuple(int(v) for v in o) for o in (kernel, stride, padding, dilation, out_size))
    return MaxPool2dFused.apply(input, options, twin)
