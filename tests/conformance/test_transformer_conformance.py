"""Attention and the Transformer modules against torch: scaled_dot_product_attention (outputs,
gradients, exception types), MultiheadAttention in every option combination, the encoder and
decoder layers and stacks, and nn.Transformer end to end, with identical weights (torch's
state_dict loaded unchanged into heron) and inputs, in float64. Skipped without torch."""
from __future__ import annotations

import itertools
import warnings
import zlib

import numpy as np
import pytest

import heron

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-7, 1e-9
# Mixing bool and float masks is deprecated in torch but still supported; both libraries warn.
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")


def seeded(*parts):
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def tensors(arrays, requires_grad=False):
    """(heron tensors, torch tensors) of the NumPy arrays; float ones as float64 leaves."""
    h, t = [], []
    for a in arrays:
        if a is None:
            h.append(None)
            t.append(None)
            continue
        grad = requires_grad and a.dtype.kind == "f"
        h.append(heron.tensor(a, requires_grad=grad))
        t.append(torch.tensor(a, requires_grad=grad))
    return h, t


def assert_close(heron_value, torch_value, what, rtol=RTOL, atol=ATOL):
    actual = heron_value.detach().numpy()
    expected = torch_value.detach().numpy()
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs torch {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def backward_both(h_out, t_out, rng):
    cotangent = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(cotangent))
    h_out.backward(heron.tensor(cotangent))


# ---------------------------------------------------------------------------- scaled_dot_product_attention
def _mask(rng, shape, kind):
    if kind == "bool":
        m = rng.random(shape) > 0.4
        m[..., :1] = True
        return m
    if kind == "bool-dead-rows":
        m = rng.random(shape) > 0.4
        m[..., 1, :] = False
        return m
    if kind == "float-dead-rows":
        m = rng.standard_normal(shape)
        m[..., 0, :] = -np.inf
        return m
    return rng.standard_normal(shape)


SDPA_CASES = [
    ("4d", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}),
    ("3d", (3, 4, 8), (3, 6, 8), (3, 6, 8), {}),
    ("2d", (4, 8), (6, 8), (6, 3), {}),
    ("broadcast-batch", (2, 3, 4, 8), (1, 3, 5, 8), (3, 5, 6), {}),
    ("heads-broadcast", (2, 3, 4, 8), (2, 1, 5, 8), (2, 1, 5, 8), {}),
    ("scale", (2, 2, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"scale": 0.2}),
    ("bool-mask", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((4, 5), "bool")}),
    ("bool-mask-batch-heads", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((2, 3, 4, 5), "bool")}),
    ("bool-mask-dead-rows", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((2, 1, 4, 5), "bool-dead-rows")}),
    ("float-mask", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((3, 1, 5), "float")}),
    ("float-mask-dead-rows", (2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {"mask": ((4, 5), "float-dead-rows")}),
    ("causal", (2, 2, 6, 8), (2, 2, 6, 8), (2, 2, 6, 8), {"is_causal": True}),
    ("causal-L<S", (2, 2, 3, 8), (2, 2, 7, 8), (2, 2, 7, 4), {"is_causal": True}),
    ("causal-L>S", (2, 2, 7, 8), (2, 2, 3, 8), (2, 2, 3, 4), {"is_causal": True}),
    ("gqa", (2, 6, 4, 8), (2, 3, 5, 8), (2, 1, 5, 6), {"enable_gqa": True}),
    ("gqa-causal-mask-free", (1, 4, 6, 8), (1, 2, 6, 8), (1, 2, 6, 8), {"enable_gqa": True, "is_causal": True}),
    ("gqa-float-mask", (2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8), {"enable_gqa": True, "mask": ((2, 4, 3, 5), "float")}),
    ("empty-S", (2, 4, 8), (2, 0, 8), (2, 0, 6), {}),
]


@pytest.mark.parametrize("case", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch(case):
    name, q_shape, k_shape, v_shape, kwargs = case
    rng = seeded("sdpa", name)
    kwargs = dict(kwargs)
    mask = _mask(rng, *kwargs.pop("mask")) if "mask" in kwargs else None
    arrays = [rng.standard_normal(s) for s in (q_shape, k_shape, v_shape)] + [mask]
    (hq, hk, hv, hm), (tq, tk, tv, tm) = tensors(arrays, requires_grad=True)
    h_out = heron.nn.functional.scaled_dot_product_attention(hq, hk, hv, attn_mask=hm, **kwargs)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kwargs)
    assert_close(h_out, t_out, f"{name}: output")
    backward_both(h_out, t_out, rng)
    for what, h, t in (("query", hq, tq), ("key", hk, tk), ("value", hv, tv), ("attn_mask", hm, tm)):
        if t is not None and t.grad is not None:
            assert_close(h.grad, t.grad, f"{name}: grad of {what}")


def test_sdpa_float32_matches_torch():
    rng = seeded("sdpa-float32")
    arrays = [rng.standard_normal((2, 4, 33, 16)).astype(np.float32) for _ in range(3)]
    (hq, hk, hv), (tq, tk, tv) = tensors(arrays)
    for causal in (False, True):
        assert_close(heron.nn.functional.scaled_dot_product_attention(hq, hk, hv, is_causal=causal),
                     torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal),
                     f"float32 causal={causal}", rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_zeroes_the_same_fraction_as_torch():
    """The generators differ, so compare statistics: the fraction dropped and the scale of
    the survivors (uniform attention with identity values exposes the probabilities)."""
    L, S, p = 100, 40, 0.25
    results = {}
    for lib, F_, make in ((heron, heron.nn.functional, heron.tensor), (torch, torch.nn.functional, torch.tensor)):
        lib.manual_seed(0)
        out = F_.scaled_dot_product_attention(make(np.zeros((1, L, 4), np.float32)), make(np.ones((1, S, 4), np.float32)),
                                              make(np.eye(S, dtype=np.float32)[None]), dropout_p=p).numpy()
        results[lib.__name__] = ((out == 0).mean(), np.unique(out[out != 0]))
    for name, (dropped, kept_values) in results.items():
        assert abs(dropped - p) < 0.03, name
        np.testing.assert_allclose(kept_values, 1 / (S * (1 - p)), rtol=1e-5, err_msg=name)


def _sdpa_error_calls(lib):
    F_ = lib.nn.functional

    def qkv(q=(2, 3, 4, 8), k=(2, 3, 5, 8), v=(2, 3, 5, 6), dtype=np.float32):
        return [lib.tensor(np.zeros(s, dtype=dtype)) for s in (q, k, v)]

    def mask(shape, dtype):
        return lib.tensor(np.zeros(shape, dtype=dtype))

    return {
        "mask-and-causal": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((4, 5), bool), is_causal=True),
        "head-dim": lambda: F_.scaled_dot_product_attention(*qkv(k=(2, 3, 5, 7))),
        "kv-length": lambda: F_.scaled_dot_product_attention(*qkv(v=(2, 3, 6, 6))),
        "batch": lambda: F_.scaled_dot_product_attention(*qkv(k=(3, 3, 5, 8), v=(3, 3, 5, 6))),
        "heads-without-gqa": lambda: F_.scaled_dot_product_attention(*qkv(q=(2, 6, 4, 8))),
        "gqa-not-divisible": lambda: F_.scaled_dot_product_attention(*qkv(q=(2, 4, 4, 8)), enable_gqa=True),
        "gqa-2d": lambda: F_.scaled_dot_product_attention(*qkv((4, 8), (5, 8), (5, 6)), enable_gqa=True),
        "dtype": lambda: F_.scaled_dot_product_attention(*qkv()[:2], lib.tensor(np.zeros((2, 3, 5, 6)))),
        "integers": lambda: F_.scaled_dot_product_attention(*qkv(dtype=np.int64)),
        "1d": lambda: F_.scaled_dot_product_attention(*qkv((8,), (8,), (8,))),
        "mask-int": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((4, 5), np.int64)),
        "mask-float64": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((4, 5), np.float64)),
        "mask-shape": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((4, 6), np.float32)),
        "mask-5d": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((1, 1, 1, 4, 5), np.float32)),
        "mask-1d": lambda: F_.scaled_dot_product_attention(*qkv(), attn_mask=mask((5,), np.float32)),
        "dropout": lambda: F_.scaled_dot_product_attention(*qkv(), dropout_p=1.5),
        "not-a-tensor": lambda: F_.scaled_dot_product_attention(1.0, *qkv()[1:]),
    }


@pytest.mark.parametrize("name", sorted(_sdpa_error_calls(heron)))
def test_sdpa_errors_have_torchs_types(name):
    with pytest.raises(Exception) as t_info:
        _sdpa_error_calls(torch)[name]()
    with pytest.raises(type(t_info.value)):
        _sdpa_error_calls(heron)[name]()


# ---------------------------------------------------------------------------- module pairs
def build_pair(build):
    """torch's and heron's module in float64; heron loads torch's state_dict unchanged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's nested-tensor advice
        t_mod = build(torch.nn).double()
    h_mod = build(heron.nn).double()
    t_state = t_mod.state_dict()
    assert list(h_mod.state_dict()) == list(t_state), "state_dict keys differ from torch's"
    result = h_mod.load_state_dict({k: heron.tensor(v.numpy()) for k, v in t_state.items()})
    assert not result.missing_keys and not result.unexpected_keys
    assert repr(h_mod).replace("heron.", "torch.") == repr(t_mod)
    return t_mod, h_mod


def compare_grads(h_mod, t_mod, h_inputs, t_inputs, what):
    for i, (h, t) in enumerate(zip(h_inputs, t_inputs)):
        if t is not None and t.grad is not None:
            assert_close(h.grad, t.grad, f"{what}: grad of input {i}")
    t_params = dict(t_mod.named_parameters())
    for name, h_param in h_mod.named_parameters():
        t_grad = t_params[name].grad
        if t_grad is None:
            assert h_param.grad is None or not h_param.grad.numpy().any(), f"{what}: grad of {name}"
        else:
            assert_close(h_param.grad, t_grad, f"{what}: grad of {name}")


# ---------------------------------------------------------------------------- MultiheadAttention
MHA_OPTIONS = list(itertools.product([True, False], repeat=5))  # bias, add_bias_kv, add_zero_attn, kdim/vdim, batch_first

# (id, need_weights, average_attn_weights, key_padding_mask kind, attn_mask kind, is_causal)
MHA_CALLS = [
    ("weights", True, True, None, None, False),
    ("weights-per-head", True, False, None, None, False),
    ("no-weights", False, True, None, None, False),
    ("padding-bool", True, True, "bool", None, False),
    ("padding-float-no-weights", False, True, "float", None, False),
    ("mask-2d-bool", True, False, None, "bool2", False),
    ("mask-3d-float-and-padding", False, True, "float", "float3", False),
    ("mask-2d-float-and-padding-bool", True, True, "bool", "float2", False),
    ("causal-hint-no-weights", False, True, None, "causal", True),
    ("causal-hint-with-weights", True, True, None, "causal", True),
    ("causal-hint-and-padding", False, True, "bool", "causal", True),
]


def _mha_masks(rng, kind_kpm, kind_mask, N, H, L, S):
    kpm = mask = None
    if kind_kpm is not None:
        pad = np.zeros((N, S), dtype=bool)
        pad[0, -1] = pad[-1, 1] = True
        kpm = pad if kind_kpm == "bool" else np.where(pad, -np.inf, rng.standard_normal((N, S)) * 0.1)
    if kind_mask == "bool2":
        mask = rng.random((L, S)) < 0.3
        mask[:, 0] = False
    elif kind_mask == "float2":
        mask = rng.standard_normal((L, S))
    elif kind_mask == "float3":
        mask = rng.standard_normal((N * H, L, S))
    elif kind_mask == "causal":
        mask = np.triu(np.full((L, S), -np.inf), 1)
    return kpm, mask


@pytest.mark.parametrize("options", MHA_OPTIONS, ids=lambda o: "-".join(
    name for name, on in zip(("bias", "bias_kv", "zero_attn", "kdim_vdim", "batch_first"), o) if on) or "plain")
def test_multihead_attention_matches_torch(options):
    bias, add_bias_kv, add_zero_attn, other_dims, batch_first = options
    E, H, N, L = 8, 2, 3, 4
    kdim, vdim = (5, 3) if other_dims else (None, None)

    def build(nn):
        return nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, kdim=kdim,
                                     vdim=vdim, batch_first=batch_first)

    t_mod, h_mod = build_pair(build)
    for name, need_weights, average, kind_kpm, kind_mask, is_causal in MHA_CALLS:
        rng = seeded("mha", options, name)
        self_attention = not other_dims and name.startswith(("causal", "mask-2d-bool"))
        S = L if self_attention or kind_mask == "causal" else 5

        def seq(length, dim):
            return rng.standard_normal((N, length, dim) if batch_first else (length, N, dim))

        query = seq(L, E)
        key, value = (query, query) if self_attention else (seq(S, kdim or E), seq(S, vdim or E))
        kpm, mask = _mha_masks(rng, kind_kpm, kind_mask, N, H, L, S)
        (hq, hk, hv, hkpm, hmask), (tq, tk, tv, tkpm, tmask) = tensors([query, key, value, kpm, mask], True)
        if self_attention:  # the same tensor three times, as in self-attention
            hk = hv = hq
            tk = tv = tq
        kwargs = {"need_weights": need_weights, "average_attn_weights": average, "is_causal": is_causal}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # mismatched mask types: deprecated, still supported
            t_out, t_weights = t_mod(tq, tk, tv, key_padding_mask=tkpm, attn_mask=tmask, **kwargs)
            h_out, h_weights = h_mod(hq, hk, hv, key_padding_mask=hkpm, attn_mask=hmask, **kwargs)
        what = f"{options} {name}"
        assert_close(h_out, t_out, f"{what}: output")
        assert (h_weights is None) == (t_weights is None), what
        if t_weights is not None:
            assert_close(h_weights, t_weights, f"{what}: weights")
            h_out = h_out.sum() + (h_weights * heron.tensor(np.arange(t_weights.numel()).reshape(t_weights.shape))).sum()
            t_out = t_out.sum() + (t_weights * torch.tensor(np.arange(t_weights.numel()).reshape(t_weights.shape))).sum()
        backward_both(h_out, t_out, rng)
        compare_grads(h_mod, t_mod, [hq, hk, hv, hkpm, hmask], [tq, tk, tv, tkpm, tmask], what)
        h_mod.zero_grad()
        t_mod.zero_grad()


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_unbatched_and_eval(need_weights):
    t_mod, h_mod = build_pair(lambda nn: nn.MultiheadAttention(8, 4, dropout=0.3))
    t_mod.eval()
    h_mod.eval()
    rng = seeded("mha-unbatched", need_weights)
    q, k = rng.standard_normal((3, 8)), rng.standard_normal((5, 8))
    mask = rng.standard_normal((4, 3, 5))  # per-head mask of an unbatched call
    (hq, hk, hm), (tq, tk, tm) = tensors([q, k, mask], True)
    t_out, t_w = t_mod(tq, tk, tk, attn_mask=tm, need_weights=need_weights)
    h_out, h_w = h_mod(hq, hk, hk, attn_mask=hm, need_weights=need_weights)
    assert_close(h_out, t_out, "unbatched output")
    if need_weights:
        assert_close(h_w, t_w, "unbatched weights")
    backward_both(h_out, t_out, rng)
    compare_grads(h_mod, t_mod, [hq, hk, hm], [tq, tk, tm], "unbatched")


def test_multihead_attention_fully_padded_sequence():
    """A batch item whose keys are all padded: nan weights with need_weights (plain softmax),
    zeros without (safe softmax in scaled_dot_product_attention), as torch."""
    t_mod, h_mod = build_pair(lambda nn: nn.MultiheadAttention(8, 2, batch_first=True))
    rng = seeded("mha-dead")
    x = rng.standard_normal((2, 3, 8))
    pad = np.zeros((2, 3), dtype=bool)
    pad[1] = True
    (hx, hp), (tx, tp) = tensors([x, pad])
    for need_weights in (True, False):
        t_out = t_mod(tx, tx, tx, key_padding_mask=tp, need_weights=need_weights)[0]
        h_out = h_mod(hx, hx, hx, key_padding_mask=hp, need_weights=need_weights)[0]
        np.testing.assert_allclose(h_out.detach().numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL, equal_nan=True)
        assert np.isnan(h_out.detach().numpy()[1]).all() == need_weights


def _mha_error_calls(nn, lib):
    mha = nn.MultiheadAttention(8, 2)
    x = lib.tensor(np.zeros((5, 2, 8)))

    def arr(*shape, dtype=np.float64):
        return lib.tensor(np.zeros(shape, dtype=dtype))

    return {
        "embed-dim": lambda: mha.double()(arr(5, 2, 6), x, x),
        "key-dims": lambda: mha.double()(x, arr(5, 8), arr(5, 8)),
        "query-4d": lambda: mha.double()(arr(1, 5, 2, 8), x, x),
        "padding-dims": lambda: mha.double()(x, x, x, key_padding_mask=arr(5, dtype=bool)),
        "padding-shape": lambda: mha.double()(x, x, x, key_padding_mask=arr(2, 4, dtype=bool)),
        "padding-int": lambda: mha.double()(x, x, x, key_padding_mask=arr(2, 5, dtype=np.int64)),
        "mask-2d-shape": lambda: mha.double()(x, x, x, attn_mask=arr(4, 5)),
        "mask-3d-shape": lambda: mha.double()(x, x, x, attn_mask=arr(2, 5, 5)),
        "mask-4d": lambda: mha.double()(x, x, x, attn_mask=arr(1, 4, 5, 5)),
        "causal-without-mask": lambda: mha.double()(x, x, x, is_causal=True),
        "key-value-shapes": lambda: mha.double()(x, x, arr(4, 2, 8)),
        "heads": lambda: nn.MultiheadAttention(10, 3),
        "zero-heads": lambda: nn.MultiheadAttention(8, 0),
    }


@pytest.mark.parametrize("name", sorted(_mha_error_calls(torch.nn, torch)))
def test_multihead_attention_errors_have_torchs_types(name):
    with pytest.raises(Exception) as t_info:
        _mha_error_calls(torch.nn, torch)[name]()
    with pytest.raises(type(t_info.value)):
        _mha_error_calls(heron.nn, heron)[name]()


# ---------------------------------------------------------------------------- encoder and decoder layers
def _activation(nn, kind):
    if kind == "callable":
        return nn.functional.silu
    if kind == "module":
        return nn.GELU(approximate="tanh")
    return kind


LAYER_OPTIONS = [(norm_first, activation, batch_first) for norm_first in (False, True)
                 for activation in ("relu", "gelu", "callable", "module") for batch_first in (False, True)
                 if batch_first == (activation in ("gelu", "module"))] + [(True, "relu", True), (False, "gelu", False)]


def _layer_inputs(rng, batch_first, N=3, T=5, S=4, E=8):
    def seq(length):
        return rng.standard_normal((N, length, E) if batch_first else (length, N, E))

    pad_t, pad_s = np.zeros((N, T), dtype=bool), np.zeros((N, S), dtype=bool)
    pad_t[0, -1] = pad_s[1, -2:] = True
    return seq(T), seq(S), np.triu(np.full((T, T), -np.inf), 1), pad_t, pad_s


@pytest.mark.parametrize("norm_first, activation, batch_first", LAYER_OPTIONS)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, mode):
    dropout = 0.0 if mode == "train" else 0.2  # eval: dropout is inactive

    def build(nn):
        return nn.TransformerEncoderLayer(8, 2, 16, dropout=dropout, activation=_activation(nn, activation),
                                          layer_norm_eps=1e-4, batch_first=batch_first, norm_first=norm_first)

    t_mod, h_mod = build_pair(build)
    t_mod.train(mode == "train")
    h_mod.train(mode == "train")
    rng = seeded("encoder-layer", norm_first, activation, batch_first, mode)
    src, _, causal, pad, _ = _layer_inputs(rng, batch_first)
    for use_mask, use_pad, is_causal in ((False, False, False), (True, True, False), (True, False, True)):
        (h_src, h_mask, h_pad), (t_src, t_mask, t_pad) = tensors(
            [src, causal if use_mask else None, pad if use_pad else None], True)
        t_out = t_mod(t_src, src_mask=t_mask, src_key_padding_mask=t_pad, is_causal=is_causal)
        h_out = h_mod(h_src, src_mask=h_mask, src_key_padding_mask=h_pad, is_causal=is_causal)
        what = f"mask={use_mask} padding={use_pad} causal={is_causal}"
        assert_close(h_out, t_out, f"{what}: output")
        backward_both(h_out, t_out, rng)
        compare_grads(h_mod, t_mod, [h_src], [t_src], what)
        h_mod.zero_grad()
        t_mod.zero_grad()


@pytest.mark.parametrize("norm_first, activation, batch_first", LAYER_OPTIONS)
def test_decoder_layer_matches_torch(norm_first, activation, batch_first):
    def build(nn):
        return nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=_activation(nn, activation),
                                          batch_first=batch_first, norm_first=norm_first, bias=not norm_first)

    t_mod, h_mod = build_pair(build)
    rng = seeded("decoder-layer", norm_first, activation, batch_first)
    tgt, memory, causal, pad_t, pad_s = _layer_inputs(rng, batch_first)
    memory_mask = rng.standard_normal((5, 4))
    (h_args, t_args) = tensors([tgt, memory, causal, memory_mask, pad_t, pad_s], True)
    t_out = t_mod(*t_args, tgt_is_causal=True)
    h_out = h_mod(*h_args, tgt_is_causal=True)
    assert_close(h_out, t_out, "output")
    backward_both(h_out, t_out, rng)
    compare_grads(h_mod, t_mod, h_args, t_args, "decoder layer")


# ---------------------------------------------------------------------------- stacks and nn.Transformer
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks_match_torch(batch_first):
    def build(nn):
        encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first), 2,
                                        norm=nn.LayerNorm(8), enable_nested_tensor=False)
        decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first), 2)
        return nn.ModuleDict({"encoder": encoder, "decoder": decoder})

    t_mod, h_mod = build_pair(build)
    rng = seeded("stacks", batch_first)
    src, tgt_seq, causal, _, pad_s = _layer_inputs(rng, batch_first, T=4)
    (h_src, h_tgt, h_causal, h_pad), (t_src, t_tgt, t_causal, t_pad) = tensors(
        [src, tgt_seq, causal[:4, :4], pad_s], True)
    t_memory = t_mod["encoder"](t_src, mask=t_causal, src_key_padding_mask=t_pad)  # the causal mask is detected
    h_memory = h_mod["encoder"](h_src, mask=h_causal, src_key_padding_mask=h_pad)
    assert_close(h_memory, t_memory, "encoder output")
    t_out = t_mod["decoder"](t_tgt, t_memory, tgt_mask=t_causal, memory_key_padding_mask=t_pad)
    h_out = h_mod["decoder"](h_tgt, h_memory, tgt_mask=h_causal, memory_key_padding_mask=h_pad)
    assert_close(h_out, t_out, "decoder output")
    backward_both(h_out, t_out, rng)
    compare_grads(h_mod, t_mod, [h_src, h_tgt], [t_src, t_tgt], "stacks")


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "activation": "gelu", "batch_first": True, "bias": False}])
def test_transformer_end_to_end_matches_torch(options):
    def build(nn):
        return nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                              dropout=0.0, layer_norm_eps=1e-6, **options)

    t_mod, h_mod = build_pair(build)
    batch_first = options.get("batch_first", False)
    rng = seeded("transformer", sorted(options))
    src, tgt, _, pad_src, pad_tgt = _layer_inputs(rng, batch_first, T=5, S=4)
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(heron.nn.Transformer.generate_square_subsequent_mask(4, dtype=heron.float64).numpy(),
                                  tgt_mask)
    src_mask = rng.random((5, 5)) < 0.2
    np.fill_diagonal(src_mask, False)
    h_args, t_args = tensors([src, tgt, src_mask, tgt_mask, None, pad_src, pad_tgt, pad_src], True)
    t_out = t_mod(*t_args)
    h_out = h_mod(*h_args)
    assert_close(h_out, t_out, "output")
    backward_both(h_out, t_out, rng)
    compare_grads(h_mod, t_mod, h_args[:2], t_args[:2], "transformer")


def test_transformer_unbatched_and_errors():
    t_mod, h_mod = build_pair(lambda nn: nn.Transformer(8, 2, 1, 1, 16, dropout=0.0))
    rng = seeded("transformer-unbatched")
    (h_src, h_tgt), (t_src, t_tgt) = tensors([rng.standard_normal((4, 8)), rng.standard_normal((3, 8))])
    assert_close(h_mod(h_src, h_tgt), t_mod(t_src, t_tgt), "unbatched output")
    for src_shape, tgt_shape in (((4, 2, 8), (3, 3, 8)), ((4, 2, 8), (3, 2, 6))):
        (h_src, h_tgt), (t_src, t_tgt) = tensors([np.zeros(src_shape), np.zeros(tgt_shape)])
        with pytest.raises(RuntimeError):
            t_mod(t_src, t_tgt)
        with pytest.raises(RuntimeError):
            h_mod(h_src, h_tgt)


def test_heron_state_dict_loads_into_torch():
    h_mod = heron.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0).double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t_mod = torch.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0).double()
    result = t_mod.load_state_dict({k: torch.tensor(v.numpy()) for k, v in h_mod.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    rng = seeded("state-dict")
    (h_src, h_tgt), (t_src, t_tgt) = tensors([rng.standard_normal((4, 2, 8)), rng.standard_normal((3, 2, 8))])
    assert_close(h_mod(h_src, h_tgt), t_mod(t_src, t_tgt), "output with heron's weights")


def test_initialisation_matches_torchs_distributions():
    """Same distributions as torch (values differ: the generators differ): xavier-uniform
    projections, zero biases, xavier-normal bias_k/bias_v, and nn.Transformer re-drawing
    every matrix xavier-uniform."""
    def build(nn):
        return nn.ModuleDict({"mha": nn.MultiheadAttention(96, 4, add_bias_kv=True, kdim=48),
                              "model": nn.Transformer(32, 4, 1, 1, 64)})

    heron.manual_seed(0)
    torch.manual_seed(0)
    h_params = dict(build(heron.nn).named_parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t_params = dict(build(torch.nn).named_parameters())
    assert list(h_params) == list(t_params)
    for name, t_param in t_params.items():
        h, t = h_params[name].detach().numpy(), t_param.detach().numpy()
        if t.std() == 0:  # constants: zero biases, LayerNorm ones
            np.testing.assert_array_equal(h, t, err_msg=name)
            continue
        # Both are samples: the relative standard error of their difference of stds is ~1/sqrt(n).
        assert abs(h.std() - t.std()) < (0.02 + 4 / np.sqrt(t.size)) * t.std(), name
        assert np.abs(h).max() <= np.abs(t).max() * 1.5 + 1e-6, name
