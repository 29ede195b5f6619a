"""Fused 2-D convolution (csrc/cpu/kernels/conv.cpp): the forward, the input gradient and the
weight gradient are each one C++ call on heron's GEMM, with no im2col buffer in the forward.

A transposed convolution is the adjoint of a convolution, so the same three kernels serve it
with their roles exchanged: its forward is a convolution's input gradient, its input gradient
a convolution's forward, and its weight gradient a convolution's weight gradient with input
and output swapped. ``heron.nn._conv`` validates the arguments, decides when to come here and
supplies the composite twins, which also give the create_graph (double-backward) path."""
from __future__ import annotations

from .. import _C
from .._dtype import float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap


def fused_conv_applies(input, weight, bias) -> bool:
    """True when the fused kernels run this convolution: float32/float64 CPU tensors of one dtype."""
    dtype = input.dtype
    if dtype not in (float32, float64):
        return False
    return all(t is None or (t.dtype == dtype and t.device.type == "cpu") for t in (input, weight, bias))


def _bias_grad(ctx, grad, index):
    return grad.sum((0, 2, 3)) if ctx.needs_input_grad[index] else None


class Conv2dFused(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, options, twin):
        ctx.save_for_backward(input, weight, bias)
        ctx.options, ctx.twin = options, twin
        return wrap(_C.conv2d_forward(input._a, weight._a, None if bias is None else bias._a, *options))

    @staticmethod
    def backward(ctx, grad):
        input, weight, bias = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, grad, (input, weight, bias)) + (None, None)
        g = grad.contiguous()._a
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_input = wrap(_C.conv2d_backward_input(g, weight._a, input.shape, *ctx.options))
        if ctx.needs_input_grad[1]:
            grad_weight = wrap(_C.conv2d_backward_weight(g, input._a, weight.shape, *ctx.options))
        return grad_input, grad_weight, _bias_grad(ctx, grad, 2), None, None


class ConvTranspose2dFused(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, output_shape, options, twin):
        ctx.save_for_backward(input, weight, bias)
        ctx.options, ctx.twin = options, twin
        out = wrap(_C.conv2d_backward_input(input._a, weight._a, output_shape, *options))
        return out if bias is None else out.add_(bias.reshape(1, -1, 1, 1))

    @staticmethod
    def backward(ctx, grad):
        input, weight, bias = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            return twin_grads(ctx.twin, grad, (input, weight, bias)) + (None, None, None)
        g = grad.contiguous()
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_input = wrap(_C.conv2d_forward(g._a, weight._a, None, *ctx.options))
            # output_padding below the dilation (but not the stride) leaves extra trailing rows
            grad_input = grad_input[:, :, :input.shape[2], :input.shape[3]]
        if ctx.needs_input_grad[1]:
            grad_weight = wrap(_C.conv2d_backward_weight(input._a, g._a, weight.shape, *ctx.options))
        return grad_input, grad_weight, _bias_grad(ctx, grad, 2), None, None, None


def fused_conv2d(input, weight, bias, stride, padding, dilation, groups, twin):
    """conv2d of (N, C, H, W) ``input`` and (C_out, C / groups, kH, kW) ``weight`` with
    symmetric zero ``padding``; ``twin(input, weight, bias)`` is the composite."""
    options = (tuple(stride), tuple(padding), tuple(dilation), int(groups))
    return Conv2dFused.apply(input, weight, bias, options, twin)


def fused_conv_transpose2d(input, weight, bias, output_size, stride, padding, dilation, groups, twin):
    """conv_transpose2d of (N, C, H, W) ``input`` and (C, C_out / groups, kH, kW) ``weight``
    into an output of spatial ``output_size`` (output_padding already counted in it)."""
    output_shape = (input.shape[0], weight.shape[1] * groups, *output_size)
    options = (tuple(stride), tuple(padding), tuple(dilation), int(groups))
    return ConvTranspose2dFused.apply(input, weight, bias, output_shape, options, twin)
