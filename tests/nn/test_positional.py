"""heron.nn.positional (rotary and sinusoidal position encodings, which torch.nn lacks) against
NumPy references written from the papers' formulas."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.nn import positional as P
from heron.testing import check_vjp_random_direction


def rope_numpy(x, positions, base=10000.0, interleaved=False):
    """RoFormer's rotation, one feature pair at a time."""
    dim = x.shape[-1]
    out = np.empty_like(x)
    for i in range(dim // 2):
        theta = positions * base ** (-2 * i / dim)  # (T,)
        a_idx, b_idx = (2 * i, 2 * i + 1) if interleaved else (i, i + dim // 2)
        a, b = x[..., a_idx], x[..., b_idx]
        out[..., a_idx] = a * np.cos(theta) - b * np.sin(theta)
        out[..., b_idx] = a * np.sin(theta) + b * np.cos(theta)
    return out


def sinusoid_numpy(num_positions, dim):
    """Vaswani et al.: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d))."""
    pe = np.zeros((num_positions, dim))
    for p in range(num_positions):
        for j in range(dim):
            angle = p / 10000 ** (2 * (j // 2) / dim)
            pe[p, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return pe


@pytest.mark.parametrize("interleaved", [False, True])
def test_apply_rotary_emb_matches_numpy(interleaved, rng):
    x = rng.standard_normal((2, 3, 7, 8))
    cos, sin = P.rotary_cos_sin(7, 8, dtype=heron.float64)
    out = P.apply_rotary_emb(heron.tensor(x), cos, sin, interleaved=interleaved)
    np.testing.assert_allclose(out.numpy(), rope_numpy(x, np.arange(7.0), interleaved=interleaved), rtol=1e-12,
                               atol=1e-12)


def test_rotary_embedding_module_with_offset_and_base(rng):
    rope = P.RotaryEmbedding(6, base=500.0, interleaved=True)
    x = rng.standard_normal((4, 5, 6))
    out = rope(heron.tensor(x), offset=3)
    np.testing.assert_allclose(out.numpy(), rope_numpy(x, np.arange(3.0, 8.0), base=500.0, interleaved=True),
                               rtol=1e-12, atol=1e-12)
    assert rope.state_dict() == {} and list(rope.parameters()) == []
    assert rope(heron.tensor(x, dtype=heron.float32)).dtype is heron.float32


def test_rotary_scores_depend_only_on_relative_position(rng):
    """The point of RoPE: <rot(q, m), rot(k, n)> is a function of m - n."""
    rope = P.RotaryEmbedding(8)
    q, k = rng.standard_normal(8), rng.standard_normal(8)
    seq = heron.tensor(np.stack([q] * 10)), heron.tensor(np.stack([k] * 10))
    rq, rk = rope(seq[0]).numpy(), rope(seq[1]).numpy()
    np.testing.assert_allclose(rq[7] @ rk[4], rq[3] @ rk[0], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(rq, axis=-1), np.linalg.norm(q), rtol=1e-12)  # a rotation


def test_apply_rotary_emb_gradient():
    cos, sin = P.rotary_cos_sin(5, 4, dtype=heron.float64)
    x = heron.randn(2, 5, 4, dtype=heron.float64).requires_grad_()
    check_vjp_random_direction(lambda x: P.apply_rotary_emb(x, cos, sin), [x])


def test_sinusoidal_table_matches_numpy():
    for dim in (8, 7):
        table = P.sinusoidal_positional_encoding(20, dim, dtype=heron.float64)
        np.testing.assert_allclose(table.numpy(), sinusoid_numpy(20, dim), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
def test_sinusoidal_module_adds_the_table(batch_first, rng):
    enc = P.SinusoidalPositionalEncoding(6, max_len=32, batch_first=batch_first)
    x = rng.standard_normal((3, 5, 6))  # (N, T, E) or (T, N, E)
    out = enc(heron.tensor(x), offset=2).numpy()
    if batch_first:  # x is (N=3, T=5, E): positions 2..6
        expected = x + sinusoid_numpy(7, 6)[2:][None]
    else:  # x is (T=3, N=5, E): positions 2..4
        expected = x + sinusoid_numpy(5, 6)[2:][:, None]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert enc(heron.tensor(x, dtype=heron.float32)).dtype is heron.float32
    assert enc.state_dict() == {}  # the table is not a checkpointed buffer
    unbatched = enc(heron.tensor(x[0])).numpy()  # (T=5, E)
    np.testing.assert_allclose(unbatched, x[0] + sinusoid_numpy(5, 6), rtol=1e-12)


def test_errors():
    with pytest.raises(ValueError):
        P.RotaryEmbedding(5)
    with pytest.raises(RuntimeError):
        P.RotaryEmbedding(4)(heron.randn(2, 6))
    with pytest.raises(RuntimeError):
        P.SinusoidalPositionalEncoding(4, max_len=8)(heron.randn(9, 4))
    with pytest.raises(RuntimeError):
        P.SinusoidalPositionalEncoding(4)(heron.randn(9, 5))
