"""Fused scaled-dot-product attention (FlashAttention-2 structure on the CPU).

``heron.nn.functional.scaled_dot_product_attention`` validates its arguments, then sends the
cases this kernel covers here; everything else runs the composite twin
(``heron.nn.functional._sdpa_reference``), which is also the test reference."""
from __future__ import annotations


def fused_sdpa_applies(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa) -> bool:
    """True when the fused kernel computes this (already validated) call."""
    return False


def fused_sdpa(query, key, value, attn_mask, is_causal, scale, enable_gqa):
    raise NotImplementedError("fused scaled_dot_product_attention is not built yet")
