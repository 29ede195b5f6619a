"""Fused scaled-dot-product attention (FlashAttention-2 structure on the CPU, csrc/cpu/kernels/
attention.cpp): the scores never exist beyond one block, so forward and backward need
O(L * head_dim) extra memory instead of O(L * S).

``heron.nn.functional.scaled_dot_product_attention`` validates its arguments, then sends the
calls this kernel covers here; everything else runs the composite twin
(``heron.nn.functional._sdpa_reference``), which is also the test reference and gives the
create_graph (double-backward) path."""
from __future__ import annotations

import math

from .. import _C
from .._dtype import bool_, float32, float64
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import twin_grads, wrap
from .creation import dropout_stream_key, zeros


def _heads_view(t):
    """``t`` (..., len, dim) as [batch, heads, len, dim]: dim -3 is the heads dim (1 when
    absent) and the dims before it fold into one batch dim."""
    if t.ndim == 2:
        return t.reshape(1, 1, *t.shape)
    batch = 1
    for size in t.shape[:-3]:
        batch *= size
    return t.reshape(batch, *t.shape[-3:])  # not -1: ambiguous when a dim is 0


def fused_sdpa_applies(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa) -> bool:
    """True when the fused kernel computes this (already validated) call: float32/float64
    CPU tensors of one dtype, key and value with query's batch dims (heads
    equal, or dividing query's under ``enable_gqa``), and a mask, if any, that maps onto
    [batch, heads, L, S] without being expanded and needs no gradient."""
    dtype = query.dtype
    if dtype not in (float32, float64) or key.dtype != dtype or value.dtype != dtype:
        return False
    if any(t.device.type != "cpu" for t in (query, key, value)):
        return False
    if not query.ndim == key.ndim == value.ndim or query.ndim < 2:
        return False
    lead = tuple(query.shape[:-3])
    if tuple(key.shape[:-3]) != lead or tuple(value.shape[:-3]) != lead:
        return False
    if query.ndim >= 3:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if value.shape[-3] != kv_heads or not (kv_heads == heads or (enable_gqa and kv_heads and heads % kv_heads == 0)):
            return False
    if attn_mask is not None:
        if attn_mask.dtype not in (bool_, dtype) or attn_mask.requires_grad:
            return False
        if attn_mask.ndim > (4 if query.ndim == 4 else min(query.ndim, 3)):
            return False
    return True


def fused_sdpa(query, key, value, attn_mask, is_causal, scale, enable_gqa, dropout_p=0.0, twin=None):
    """dropout(softmax(q k^T * scale + mask)) v by the fused kernel, for a call
    ``fused_sdpa_applies`` accepts. Dropout draws its mask from the dropout stream
    (``dropout_stream_key``), as the composite twin does, so both see the same mask for the
    same generator state. ``twin(q, k, v)`` (the composite on the same 4-D operands and
    mask) serves double backward; by default heron.nn.functional._sdpa_reference."""
    head_dim = query.shape[-1]
    scale = (1.0 / math.sqrt(head_dim) if head_dim else math.inf) if scale is None else float(scale)
    mask = attn_mask
    if mask is not None and mask.dtype is bool_:  # True takes part: an additive 0 / -inf mask
        mask = zeros(mask.shape, dtype=query.dtype).masked_fill(mask.logical_not(), -math.inf)
    dropout = (float(dropout_p), *dropout_stream_key(query.numel() // max(head_dim, 1) * key.shape[-2])) \
        if dropout_p > 0.0 else (0.0, 0, 0)
    if twin is None:
        twin = _default_twin(mask, is_causal, scale, dropout)
    out = FusedAttention.apply(_heads_view(query), _heads_view(key), _heads_view(value), mask, scale, is_causal, dropout,
                               twin)
    return out.reshape(*query.shape[:-1], value.shape[-1])


def _default_twin(mask, is_causal, scale, dropout):
    def twin(q, k, v):
        from ..nn.functional import _sdpa_reference  # nn sits above ops; only double backward needs it

        return _sdpa_reference(q, k, v, attn_mask=mask, dropout_p=dropout[0], is_causal=is_causal, scale=scale,
                               enable_gqa=True, _dropout_key=dropout[1:])

    return twin


class FusedAttention(Function):
    @staticmethod
    def forward(ctx, q, k, v, mask, scale, causal, dropout, twin):
        out, lse = _C.attention_forward(q._a, k._a, v._a, None if mask is None else mask._a, scale, causal, *dropout)
        out, lse = wrap(out), wrap(lse)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.mask, ctx.scale, ctx.causal, ctx.dropout, ctx.twin = mask, scale, causal, dropout, twin
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, out, lse = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the composite twin instead
            return twin_grads(ctx.twin, grad_out, (q, k, v)) + (None,) * 5
        mask = ctx.mask
        dq, dk, dv = _C.attention_backward(grad_out.contiguous()._a, q._a, k._a, v._a, out._a, lse._a,
                                           None if mask is None else mask._a, ctx.scale, ctx.causal, *ctx.dropout)
        return (wrap(dq), wrap(dk), wrap(dv)) + (None,) * 5
