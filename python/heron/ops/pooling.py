"""Fused 2-D max and average pooling (csrc/cpu/kernels/pool.cpp). Max pooling: one pass
forward writing each window's maximum and its flat position in the plane, and one scatter of
the gradients backward. Average pooling: windows given per output row and column (so both
avg_pool2d and adaptive_avg_pool2d map onto it), row sums then column sums forward, and the
same spread backward. ``heron.nn._pooling`` validates the arguments, computes the output size
(ceil_mode) and the windows, and supplies the composite twin, which also gives the
create_graph (double-backward) path."""
from __future__ import annotations

from .. import _C
from .._dtype import float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap


def fused_pool_applies(input) -> bool:
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


class AvgPool2dFused(Function):
    @staticmethod
    def forward(ctx, planes, rows, cols, twin):
        ctx.rows, ctx.cols, ctx.twin, ctx.planes_shape = rows, cols, twin, tuple(planes.shape)
        ctx.save_for_backward(planes)
        return wrap(_C.avg_pool2d_forward(planes._a, rows, cols))

    @staticmethod
    def backward(ctx, grad):
        planes, = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, grad, (planes,)) + (None, None, None)
        return wrap(_C.avg_pool2d_backward(grad.contiguous()._a, ctx.planes_shape, ctx.rows, ctx.cols)), None, None, None


def fused_avg_pool2d(planes, rows, cols, twin):
    """Average pooling of (P, H, W) ``planes`` over separable windows: ``rows`` and ``cols``
    are (starts, ends, divisors), one entry per output row / column (windows clipped to the
    plane; each output's divisor is the product of its row's and column's). ``twin(planes)``
    computes the same from heron ops."""
    def axis(a):
        start, end, divisor = a
        return [int(v) for v in start], [int(v) for v in end], [float(v) for v in divisor]

    return AvgPool2dFused.apply(planes, axis(rows), axis(cols), twin)
