"""Position encodings for attention models: rotary position embedding (RoPE) and the sinusoidal
encoding of "Attention Is All You Need".

These are heron's own helpers; torch.nn has no counterpart, so they live here rather than in
``heron.nn`` (whose names are exactly torch.nn's). Functions:

- ``rotary_cos_sin(seq_len, dim)``: the (seq_len, dim // 2) cosine and sine tables of RoPE.
- ``apply_rotary_emb(x, cos, sin, interleaved=False)``: rotates the feature pairs of
  ``x`` (..., T, dim) by the angles of its positions.
- ``sinusoidal_positional_encoding(num_positions, dim)``: the (num_positions, dim) table
  with sin at even and cos at odd feature indices.

Modules: ``RotaryEmbedding`` (applies RoPE to queries or keys) and
``SinusoidalPositionalEncoding`` (adds the table to token embeddings, then dropout).
"""
from __future__ import annotations

import numpy as np

import heron

from .modules.dropout import Dropout
from .modules.module import Module

__all__ = ["rotary_cos_sin", "apply_rotary_emb", "sinusoidal_positional_encoding", "RotaryEmbedding",
           "SinusoidalPositionalEncoding"]


def _check_even(dim, what):
    if dim <= 0 or dim % 2:
        raise ValueError(f"{what}: the feature size must be a positive even number, got {dim}")


def _angles(positions, dim, base):
    """positions[:, None] * base^(-2i / dim) for i < dim / 2 (float64 NumPy)."""
    inv_freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    return np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]


def rotary_cos_sin(seq_len, dim, base=10000.0, offset=0, dtype=None):
    """(cos, sin) of RoPE's angles, each (seq_len, dim // 2): position ``offset + t`` turns
    feature pair i by (offset + t) * base^(-2i / dim). Computed in float64, returned in
    ``dtype`` (default: heron's default dtype)."""
    _check_even(dim, "rotary_cos_sin")
    angles = _angles(np.arange(offset, offset + seq_len), dim, base)
    dtype = dtype or heron.get_default_dtype()
    return heron.tensor(np.cos(angles), dtype=dtype), heron.tensor(np.sin(angles), dtype=dtype)


def apply_rotary_emb(x, cos, sin, interleaved=False):
    """Rotary position embedding of ``x`` (..., T, D) with tables ``cos``/``sin`` (T, D / 2)
    (or anything that broadcasts to (..., T, D / 2)).

    Pair i is (x[..., i], x[..., i + D/2]) by default (the GPT-NeoX / Llama "rotate half"
    layout) or (x[..., 2i], x[..., 2i + 1]) with ``interleaved`` (the RoFormer layout); each
    pair (a, b) becomes (a cos - b sin, a sin + b cos). Differentiable in ``x``.
    """
    dim = x.shape[-1]
    _check_even(dim, "apply_rotary_emb")
    if interleaved:
        pairs = x.unflatten(-1, (dim // 2, 2))
        a, b = pairs[..., 0], pairs[..., 1]
        return heron.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)
    a, b = x[..., :dim // 2], x[..., dim // 2:]
    return heron.cat([a * cos - b * sin, a * sin + b * cos], -1)


def sinusoidal_positional_encoding(num_positions, dim, base=10000.0, dtype=None):
    """The (num_positions, dim) sinusoidal table: PE[p, 2i] = sin(p / base^(2i / dim)) and
    PE[p, 2i + 1] = cos(p / base^(2i / dim)) (an odd ``dim`` ends with a sine)."""
    if dim <= 0:
        raise ValueError(f"sinusoidal_positional_encoding: dim must be positive, got {dim}")
    angles = _angles(np.arange(num_positions), dim, base)  # (P, ceil(dim / 2))
    table = np.empty((num_positions, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, :dim // 2])
    return heron.tensor(table, dtype=dtype or heron.get_default_dtype())


class RotaryEmbedding(Module):
    """Applies rotary position embedding to queries or keys of shape (..., T, dim), as
    ``apply_rotary_emb`` with tables for positions ``offset .. offset + T - 1`` (``offset``:
    the number of tokens already cached, when decoding step by step). No parameters; the
    tables are cached per length, offset and dtype."""

    def __init__(self, dim, base=10000.0, interleaved=False):
        super().__init__()
        _check_even(dim, "RotaryEmbedding")
        self.dim = dim
        self.base = base
        self.interleaved = interleaved
        self._tables = {}

    def forward(self, x, offset=0):
        if x.shape[-1] != self.dim:
            raise RuntimeError(f"RotaryEmbedding: expected inputs with {self.dim} features in the last dim, got "
                               f"shape {list(x.shape)}")
        if not x.is_floating_point():
            raise RuntimeError(f"RotaryEmbedding: expected a floating-point input, got {x.dtype}")
        cache_key = (x.shape[-2], offset, x.dtype)
        if cache_key not in self._tables:
            if len(self._tables) > 16:
                self._tables.clear()
            self._tables[cache_key] = rotary_cos_sin(x.shape[-2], self.dim, self.base, offset, x.dtype)
        cos, sin = self._tables[cache_key]
        return apply_rotary_emb(x, cos, sin, self.interleaved)

    def extra_repr(self):
        return f"dim={self.dim}, base={self.base}, interleaved={self.interleaved}"


class SinusoidalPositionalEncoding(Module):
    """Adds the sinusoidal position table to token embeddings, then dropout (the
    PositionalEncoding of the PyTorch Transformer tutorial). Input (T, N, d_model), or
    (N, T, d_model) with ``batch_first``, or unbatched (T, d_model); at most ``max_len``
    positions (``offset`` shifts them, when decoding step by step). The table is a
    non-persistent buffer (not in state_dict)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, base=10000.0):
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        # Kept in float64 (cast to the input's dtype when used), so that a float64 model gets the
        # exact table whatever the order of construction and .double().
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model, base, heron.float64),
                             persistent=False)

    def forward(self, x, offset=0):
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise RuntimeError(f"SinusoidalPositionalEncoding: expected (T, N, {self.d_model}), (N, T, {self.d_model}) "
                               f"or (T, {self.d_model}) input, got shape {list(x.shape)}")
        time_dim = 1 if (self.batch_first and x.ndim == 3) else 0
        length = x.shape[time_dim]
        if offset + length > self.max_len:
            raise RuntimeError(f"SinusoidalPositionalEncoding: positions up to {offset + length} exceed max_len "
                               f"{self.max_len}")
        pe = self.pe[offset:offset + length].to(x.dtype)
        if x.ndim == 3 and not self.batch_first:
            pe = pe.unsqueeze(1)
        return self.dropout(x + pe)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"

