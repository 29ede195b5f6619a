"""scaled_dot_product_attention and its composite twin against a NumPy float64 reference: every
mask kind, causal masking with L != S, grouped-query attention, fully masked rows, dropout
statistics and reproducibility, finite-difference gradients, torch's exception types, and the
routing to the fused kernel. MultiheadAttention and the Transformer modules without torch
(shapes, weights, masks, errors); tests/conformance/test_transformer_conformance.py compares
them with torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron
import heron.nn.functional as F
from heron.ops import attention
from heron.testing import check_vjp_random_direction

ATOL = 1e-12


def sdpa_numpy(q, k, v, mask=None, is_causal=False, scale=None, enable_gqa=False):
    """Attention in float64 NumPy; a row with every score -inf gives zeros (torch's rule)."""
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    if enable_gqa:
        k = np.repeat(k, q.shape[-3] // k.shape[-3], axis=-3)
        v = np.repeat(v, q.shape[-3] // v.shape[-3], axis=-3)
    if scale is None:
        scale = 1 / math.sqrt(E) if E else 1.0  # E = 0: the scores are all 0 whatever the scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        mask = np.tril(np.ones((L, S), dtype=bool))
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    row_max = scores.max(-1, keepdims=True) if S else np.zeros(scores.shape[:-1] + (1,))
    dead = np.isneginf(row_max)
    e = np.exp(scores - np.where(dead, 0.0, row_max))
    return (e / np.where(dead, 1.0, e.sum(-1, keepdims=True))) @ v


def _mask(rng, shape, kind):
    if kind == "bool":
        m = rng.random(shape) > 0.4
        m[..., :1] = True  # no fully masked row (tested on its own)
        return m
    return rng.standard_normal(shape)


# (id, query shape, key shape, value shape, keyword arguments; a "mask" entry is (shape, kind))
CASES = [
    ("4d", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}),
    ("3d", (3, 4, 8), (3, 5, 8), (3, 5, 8), {}),
    ("2d", (4, 8), (6, 8), (6, 3), {}),
    ("5d", (2, 1, 2, 3, 4), (2, 1, 2, 5, 4), (2, 1, 2, 5, 4), {}),
    ("broadcast-batch", (2, 3, 4, 8), (1, 3, 5, 8), (3, 5, 6), {}),
    ("scale", (2, 2, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"scale": 0.37}),
    ("negative-scale", (2, 2, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"scale": -1.5}),
    ("bool-mask-LS", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((4, 5), "bool")}),
    ("bool-mask-per-batch", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((2, 1, 4, 5), "bool")}),
    ("bool-mask-key-padding", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((2, 1, 1, 5), "bool")}),
    ("float-mask-LS", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((4, 5), "float")}),
    ("float-mask-per-head", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((3, 4, 5), "float")}),
    ("float-mask-full", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((2, 3, 4, 5), "float")}),
    ("causal-square", (2, 2, 5, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"is_causal": True}),
    ("causal-L<S", (2, 2, 3, 8), (2, 2, 7, 8), (2, 2, 7, 4), {"is_causal": True}),
    ("causal-L>S", (2, 2, 7, 8), (2, 2, 3, 8), (2, 2, 3, 4), {"is_causal": True}),
    ("gqa", (2, 6, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"enable_gqa": True}),
    ("gqa-kv-heads-differ", (2, 6, 4, 8), (2, 2, 5, 8), (2, 1, 5, 6), {"enable_gqa": True}),
    ("gqa-causal", (1, 4, 6, 8), (1, 2, 6, 8), (1, 2, 6, 8), {"enable_gqa": True, "is_causal": True}),
    ("gqa-mask", (2, 4, 3, 8), (2, 1, 5, 8), (2, 1, 5, 8), {"enable_gqa": True, "mask": ((2, 4, 3, 5), "bool")}),
    ("gqa-3d", (6, 4, 8), (2, 5, 8), (2, 5, 8), {"enable_gqa": True}),
    ("empty-L", (2, 0, 8), (2, 5, 8), (2, 5, 6), {}),
    ("empty-S", (2, 4, 8), (2, 0, 8), (2, 0, 6), {}),
    ("empty-S-masked", (2, 4, 8), (2, 0, 8), (2, 0, 6), {"mask": ((4, 0), "bool")}),
    ("empty-E", (2, 4, 0), (2, 5, 0), (2, 5, 6), {}),
]


def _arrays(rng, q_shape, k_shape, v_shape, kwargs):
    q, k, v = (rng.standard_normal(s) for s in (q_shape, k_shape, v_shape))
    kwargs = dict(kwargs)
    mask = None
    if "mask" in kwargs:
        mask = _mask(rng, *kwargs.pop("mask"))
    return q, k, v, mask, kwargs


@pytest.mark.parametrize("fn", [F.scaled_dot_product_attention, F._sdpa_reference], ids=["public", "composite"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_numpy(case, fn, rng):
    q, k, v, mask, kwargs = _arrays(rng, *case[1:])
    out = fn(heron.tensor(q), heron.tensor(k), heron.tensor(v), None if mask is None else heron.tensor(mask), **kwargs)
    expected = sdpa_numpy(q, k, v, mask, **kwargs)
    assert out.dtype is heron.float64 and tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=ATOL)


def test_causal_is_aligned_top_left():
    """Query i sees keys 0..i whatever L and S (torch's tril(diagonal=0) rule)."""
    q = heron.zeros(1, 3, 4, dtype=heron.float64)
    v = heron.tensor(np.arange(5 * 2, dtype=np.float64).reshape(1, 5, 2))
    out = F.scaled_dot_product_attention(q, heron.zeros(1, 5, 4, dtype=heron.float64), v, is_causal=True).numpy()
    expected = [v.numpy()[0, :i + 1].mean(0) for i in range(3)]  # equal scores: the mean of the visible values
    np.testing.assert_allclose(out[0], expected, atol=ATOL)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_and_zero_gradients(kind):
    rng = np.random.default_rng(0)
    q = heron.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = heron.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    v = heron.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    keep = np.ones((3, 5), dtype=bool)
    keep[1] = False
    mask = heron.tensor(keep) if kind == "bool" else heron.tensor(np.where(keep, 0.0, -np.inf))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(out.detach().numpy()[:, 1] == 0)
    out.sum().backward()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    assert np.all(q.grad.numpy()[:, 1] == 0)


GRAD_CASES = ["4d", "2d", "broadcast-batch", "scale", "bool-mask-LS", "float-mask-per-head", "causal-L<S", "causal-L>S",
              "gqa", "gqa-kv-heads-differ", "gqa-mask"]


@pytest.mark.parametrize("fn", [F.scaled_dot_product_attention, F._sdpa_reference], ids=["public", "composite"])
@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_match_finite_differences(name, fn, rng):
    case = next(c for c in CASES if c[0] == name)
    q, k, v, mask, kwargs = _arrays(rng, *case[1:])
    inputs = [heron.tensor(a, requires_grad=True) for a in (q, k, v)]
    if mask is not None and mask.dtype != bool:
        inputs.append(heron.tensor(mask, requires_grad=True))  # a float mask is differentiable too
        check_vjp_random_direction(lambda q, k, v, m: fn(q, k, v, m, **kwargs), inputs, rng=rng)
    else:
        fixed = None if mask is None else heron.tensor(mask)
        check_vjp_random_direction(lambda q, k, v: fn(q, k, v, fixed, **kwargs), inputs, rng=rng)


def test_double_backward_through_the_composite():
    rng = np.random.default_rng(1)
    inputs = [heron.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3)]
    assert heron.autograd.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                        tuple(inputs))


@pytest.mark.parametrize("dtype", [heron.float32, heron.float16, heron.bfloat16])
def test_lower_precisions_follow_float64(dtype, rng):
    q, k, v = (rng.standard_normal((2, 2, 6, 16)) for _ in range(3))
    out = F.scaled_dot_product_attention(*(heron.tensor(a, dtype=dtype) for a in (q, k, v)), is_causal=True)
    assert out.dtype is dtype
    tol = {heron.float32: 1e-5, heron.float16: 5e-3, heron.bfloat16: 4e-2}[dtype]
    np.testing.assert_allclose(out.float().numpy(), sdpa_numpy(q, k, v, is_causal=True), atol=tol, rtol=tol)


# ---------------------------------------------------------------------------- dropout
def _uniform_attention(L, S, p):
    """Zero queries attend uniformly; with the identity as values the output is the
    (dropped-out) probability matrix itself: each entry 0 or 1 / (S (1 - p))."""
    q = heron.zeros(1, L, 4)
    k = heron.randn(1, S, 4)
    return F.scaled_dot_product_attention(q, k, heron.eye(S).unsqueeze(0), dropout_p=p)


def test_dropout_statistics():
    heron.manual_seed(0)
    L, S, p = 200, 50, 0.3
    out = _uniform_attention(L, S, p).numpy()
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.02  # 10000 draws: the standard deviation is 0.0046
    np.testing.assert_allclose(out[~dropped], 1 / (S * (1 - p)), rtol=1e-6)
    assert abs(out.sum(-1).mean() - 1.0) < 0.02  # the expected output is the one without dropout


def test_dropout_is_reproducible_with_manual_seed():
    heron.manual_seed(123)
    first = _uniform_attention(16, 16, 0.5).numpy()
    heron.manual_seed(123)
    second = _uniform_attention(16, 16, 0.5).numpy()
    heron.manual_seed(124)
    third = _uniform_attention(16, 16, 0.5).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


def test_dropout_bounds():
    heron.manual_seed(0)
    assert np.all(_uniform_attention(4, 5, 1.0).numpy() == 0)  # p = 1 drops everything, as torch
    np.testing.assert_allclose(_uniform_attention(4, 5, -0.5).numpy(), np.full((1, 4, 5), 0.2), rtol=1e-6)  # p <= 0: none


def test_dropout_gradient_uses_the_forward_mask():
    """With the seed fixed before each call every evaluation drops the same entries, so the
    finite differences see the mask that backward must use."""
    def attend(q, k, v):
        heron.manual_seed(5)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    inputs = [heron.randn(1, 6, 4, dtype=heron.float64).requires_grad_() for _ in range(3)]
    check_vjp_random_direction(attend, inputs, rng=np.random.default_rng(0))


# ---------------------------------------------------------------------------- errors
def _qkv(q=(2, 3, 4, 8), k=(2, 3, 5, 8), v=(2, 3, 5, 6), dtype=heron.float32):
    return heron.randn(*q).to(dtype), heron.randn(*k).to(dtype), heron.randn(*v).to(dtype)


ERRORS = [
    ("mask-and-causal", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.ones(4, 5, dtype=heron.bool),
                                                                is_causal=True), RuntimeError),
    ("head-dim-mismatch", lambda: F.scaled_dot_product_attention(*_qkv(k=(2, 3, 5, 7))), RuntimeError),
    ("kv-length-mismatch", lambda: F.scaled_dot_product_attention(*_qkv(v=(2, 3, 6, 6))), RuntimeError),
    ("batch-mismatch", lambda: F.scaled_dot_product_attention(*_qkv(k=(3, 3, 5, 8), v=(3, 3, 5, 6))), RuntimeError),
    ("heads-mismatch-without-gqa", lambda: F.scaled_dot_product_attention(*_qkv(q=(2, 6, 4, 8))), RuntimeError),
    ("gqa-not-divisible", lambda: F.scaled_dot_product_attention(*_qkv(q=(2, 4, 4, 8)), enable_gqa=True), RuntimeError),
    ("gqa-2d", lambda: F.scaled_dot_product_attention(*_qkv((4, 8), (5, 8), (5, 6)), enable_gqa=True), IndexError),
    ("dtype-mismatch", lambda: F.scaled_dot_product_attention(*_qkv()[:2], _qkv()[2].double()), RuntimeError),
    ("integer-inputs", lambda: F.scaled_dot_product_attention(*_qkv(dtype=heron.int64)), RuntimeError),
    ("1d-inputs", lambda: F.scaled_dot_product_attention(*_qkv((8,), (8,), (8,))), RuntimeError),
    ("mask-dtype", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.zeros(4, 5, dtype=heron.int64)),
     RuntimeError),
    ("mask-float64-for-float32", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.zeros(4, 5).double()),
     RuntimeError),
    ("mask-shape", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.zeros(4, 6)), RuntimeError),
    ("mask-too-many-dims", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.zeros(1, 1, 1, 4, 5)),
     RuntimeError),
    ("mask-1d", lambda: F.scaled_dot_product_attention(*_qkv(), attn_mask=heron.zeros(5)), IndexError),
    ("dropout-above-1", lambda: F.scaled_dot_product_attention(*_qkv(), dropout_p=1.5), RuntimeError),
    ("query-not-a-tensor", lambda: F.scaled_dot_product_attention(1.0, *_qkv()[1:]), TypeError),
]


@pytest.mark.parametrize("make_call, error", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_have_torchs_types(make_call, error):
    with pytest.raises(error):
        make_call()


# ---------------------------------------------------------------------------- routing
def test_calls_the_fused_kernel_when_it_applies(monkeypatch):
    calls = []
    sentinel = heron.zeros(1)
    monkeypatch.setattr(attention, "fused_sdpa_applies", lambda *args: calls.append(("applies", args)) or True)
    monkeypatch.setattr(attention, "fused_sdpa", lambda *args: calls.append(("fused", args)) or sentinel)
    q, k, v = _qkv()
    assert F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5) is sentinel
    assert [c[0] for c in calls] == ["applies", "fused"]
    assert calls[0][1] == (q, k, v, None, 0.0, True, 0.5, False)
    assert calls[1][1] == (q, k, v, None, True, 0.5, False, 0.0)  # dropout_p last
    calls.clear()
    with pytest.raises(RuntimeError):  # validation comes first
        F.scaled_dot_product_attention(q, k[..., :7], v)
    assert calls == []


def test_composite_runs_when_the_fused_kernel_does_not_apply(monkeypatch):
    monkeypatch.setattr(attention, "fused_sdpa_applies", lambda *args: False)
    monkeypatch.setattr(attention, "fused_sdpa", lambda *args: pytest.fail("fused kernel called"))
    q, k, v = _qkv()
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v).numpy(), F._sdpa_reference(q, k, v).numpy())


# ---------------------------------------------------------------------------- modules (no torch needed)
def test_multihead_attention_weights_and_shapes():
    heron.manual_seed(0)
    mha = heron.nn.MultiheadAttention(8, 2, batch_first=True)
    x = heron.randn(3, 5, 8)
    padding = heron.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]]))
    out, weights = mha(x, x, x, key_padding_mask=padding)
    assert tuple(out.shape) == (3, 5, 8) and tuple(weights.shape) == (3, 5, 5)
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights.detach().numpy()[1, :, 3:] == 0)  # padded keys get no weight
    per_head = mha(x, x, x, key_padding_mask=padding, average_attn_weights=False)[1]
    assert tuple(per_head.shape) == (3, 2, 5, 5)
    np.testing.assert_allclose(per_head.mean(1).detach().numpy(), weights.detach().numpy(), rtol=1e-5, atol=1e-7)
    fast, none = mha(x, x, x, key_padding_mask=padding, need_weights=False)
    assert none is None
    np.testing.assert_allclose(fast.detach().numpy(), out.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_multihead_attention_parameters_and_initialisation():
    heron.manual_seed(0)
    mha = heron.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v",
                                                      "out_proj.weight", "out_proj.bias"]
    bound = math.sqrt(6 / (64 + 192))  # xavier_uniform_ of (192, 64)
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > 0.8 * bound / math.sqrt(3)
    assert np.all(mha.in_proj_bias.detach().numpy() == 0) and np.all(mha.out_proj.bias.detach().numpy() == 0)
    separate = heron.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert {n: tuple(p.shape) for n, p in separate.named_parameters()} == {
        "q_proj_weight": (8, 8), "k_proj_weight": (8, 3), "v_proj_weight": (8, 5), "out_proj.weight": (8, 8)}
    assert separate.in_proj_weight is None and separate.in_proj_bias is None


def test_multihead_attention_errors():
    with pytest.raises(AssertionError):
        heron.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError):
        heron.nn.MultiheadAttention(0, 2)
    mha = heron.nn.MultiheadAttention(8, 2)
    x = heron.randn(5, 2, 8)
    with pytest.raises(AssertionError):
        mha(heron.randn(5, 2, 6), x, x)  # embedding size
    with pytest.raises(AssertionError):
        mha(x, x[0], x[0])  # 3-D query with 2-D key/value
    with pytest.raises(RuntimeError):
        mha(x, x, x, attn_mask=heron.zeros(4, 5))  # 2-D mask of the wrong shape
    with pytest.raises(RuntimeError):
        mha(x, x, x, is_causal=True)  # the hint needs the mask
    with pytest.raises(AssertionError):
        mha(x, x, x, key_padding_mask=heron.zeros(2, 5, dtype=heron.int64))


def test_generate_square_subsequent_mask():
    mask = heron.nn.Transformer.generate_square_subsequent_mask(4)
    expected = np.triu(np.full((4, 4), -np.inf), 1)
    expected[np.tril_indices(4)] = 0.0
    assert mask.dtype is heron.float32
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert heron.nn.Transformer.generate_square_subsequent_mask(3, dtype=heron.float64).dtype is heron.float64


def test_encoder_detects_the_causal_mask_and_runs_causal_attention(monkeypatch):
    seen = []
    real = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention",
                        lambda q, k, v, mask, p, causal: seen.append((mask, causal)) or real(q, k, v, mask, p, causal))
    layer = heron.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    encoder = heron.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x = heron.randn(5, 3, 8)
    causal = encoder(x, mask=heron.nn.Transformer.generate_square_subsequent_mask(5))
    assert seen == [(None, True), (None, True)]
    explicit = encoder(x, mask=heron.nn.Transformer.generate_square_subsequent_mask(5), is_causal=False)
    np.testing.assert_allclose(causal.detach().numpy(), explicit.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_encoder_layers_are_independent_copies():
    layer = heron.nn.TransformerEncoderLayer(8, 2, 16)
    encoder = heron.nn.TransformerEncoder(layer, 3)
    params = [layer_.linear1.weight for layer_ in encoder.layers]
    assert len({id(p) for p in params}) == 3 and all(p is not layer.linear1.weight for p in params)
    np.testing.assert_array_equal(params[0].detach().numpy(), params[2].detach().numpy())


def test_bad_activation_name():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        heron.nn.TransformerEncoderLayer(8, 2, activation="tanh")
