"""The fused attention kernel against its composite twin (F._sdpa_reference).

Tolerance rule (flash-attention's): in float32 the fused result's error against the float64
composite is at most twice the float32 composite's error, plus a small absolute slack for
outputs that are exactly representable. float64 agrees with the twin to 1e-12. Also: the
calls that must take the fused path do, double backward goes through the twin, thread count
changes no bit, and memory stays O(N * D) at N = 8192."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import heron
import heron.nn.functional as F
from heron.ops import attention

ERROR_FACTOR = 2.0      # fused float32 error <= ERROR_FACTOR * composite float32 error + SLACK
SLACK = 1e-6
FLOAT64_TOLERANCE = 1e-12

# (batch dims, heads, kv heads, L, S, E, Ev): head dims from the issue plus odd ones, L != S,
# lengths on both sides of the 64-row / 128-key blocks.
SHAPES = [
    ((2,), 3, 3, 17, 17, 32, 32),
    ((1,), 2, 2, 130, 200, 64, 64),
    ((2,), 4, 2, 65, 129, 80, 48),
    ((), 1, 1, 1, 300, 96, 96),
    ((1,), 2, 1, 200, 70, 128, 128),
    ((1,), 1, 1, 9, 5, 7, 3),
]


def _operands(lead, heads, kv_heads, L, S, E, Ev, dtype, seed=0):
    heron.manual_seed(seed)
    q = heron.randn(*lead, heads, L, E, dtype=dtype)
    k = heron.randn(*lead, kv_heads, S, E, dtype=dtype)
    v = heron.randn(*lead, kv_heads, S, Ev, dtype=dtype)
    return q, k, v


def _mask(kind, lead, heads, L, S, dtype):
    if kind is None:
        return None
    heron.manual_seed(7)
    if kind == "bool":
        m = heron.rand(L, S) > 0.3
        m[:, 0] = True  # every row keeps a key (fully masked rows are tested on their own)
        return m
    if kind == "float":
        return heron.randn(*lead, 1, L, S, dtype=dtype)
    raise ValueError(kind)


def _run(fn, q, k, v, mask, causal, gqa, grad):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=gqa)
    if grad is None:
        return out.detach().numpy(), None
    (out * grad).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in (q, k, v)]


def _cases():
    for shape in SHAPES:
        for mask_kind, causal in ((None, False), (None, True), ("bool", False), ("float", False)):
            yield pytest.param(shape, mask_kind, causal, id=f"{shape}-{mask_kind}-{'causal' if causal else 'full'}")


@pytest.mark.parametrize("shape,mask_kind,causal", list(_cases()))
def test_float32_error_within_twice_the_composites(shape, mask_kind, causal):
    lead, heads, kv_heads, L, S, E, Ev = shape
    gqa = heads != kv_heads
    q, k, v = _operands(lead, heads, kv_heads, L, S, E, Ev, heron.float64)
    mask64 = _mask(mask_kind, lead, heads, L, S, heron.float64)
    mask32 = None if mask64 is None else (mask64 if mask64.dtype is heron.bool else mask64.float())
    heron.manual_seed(3)
    grad = heron.randn(*lead, heads, L, Ev, dtype=heron.float64)
    exact = _run(F._sdpa_reference, q, k, v, mask64, causal, gqa, grad)
    q32, k32, v32, g32 = q.float(), k.float(), v.float(), grad.float()
    assert attention.fused_sdpa_applies(q32, k32, v32, mask32, 0.0, causal, None, gqa)
    naive = _run(F._sdpa_reference, q32, k32, v32, mask32, causal, gqa, g32)
    fused = _run(F.scaled_dot_product_attention, q32, k32, v32, mask32, causal, gqa, g32)
    for name, e, n, f in zip(("out", "dq", "dk", "dv"), [exact[0], *exact[1]], [naive[0], *naive[1]],
                             [fused[0], *fused[1]]):
        naive_err = np.abs(n - e).max()
        fused_err = np.abs(f - e).max()
        assert fused_err <= ERROR_FACTOR * naive_err + SLACK, (name, fused_err, naive_err)


@pytest.mark.parametrize("shape,mask_kind,causal", list(_cases())[::3])
def test_float64_matches_the_twin(shape, mask_kind, causal):
    lead, heads, kv_heads, L, S, E, Ev = shape
    gqa = heads != kv_heads
    q, k, v = _operands(lead, heads, kv_heads, L, S, E, Ev, heron.float64)
    mask = _mask(mask_kind, lead, heads, L, S, heron.float64)
    grad = heron.randn(*lead, heads, L, Ev, dtype=heron.float64)
    exact = _run(F._sdpa_reference, q, k, v, mask, causal, gqa, grad)
    fused = _run(F.scaled_dot_product_attention, q, k, v, mask, causal, gqa, grad)
    for e, f in zip([exact[0], *exact[1]], [fused[0], *fused[1]]):
        np.testing.assert_allclose(f, e, rtol=FLOAT64_TOLERANCE, atol=FLOAT64_TOLERANCE)


def test_fully_masked_rows_give_zeros_and_zero_gradients():
    q, k, v = _operands((1,), 2, 2, 5, 6, 8, 8, heron.float64)
    mask = heron.ones(5, 6, dtype=heron.bool)
    mask[2] = False
    grad = heron.randn(1, 2, 5, 8, dtype=heron.float64)
    exact = _run(F._sdpa_reference, q, k, v, mask, False, False, grad)
    fused = _run(F.scaled_dot_product_attention, q, k, v, mask, False, False, grad)
    assert np.all(fused[0][:, :, 2] == 0) and np.all(fused[1][0][:, :, 2] == 0)
    for e, f in zip([exact[0], *exact[1]], [fused[0], *fused[1]]):
        np.testing.assert_allclose(f, e, rtol=1e-12, atol=1e-12)


def test_unbatched_and_extra_batch_dims_take_the_fused_path():
    for lead in ((), (2, 3)):
        q, k, v = _operands(lead, 2, 2, 10, 12, 16, 16, heron.float64)
        if not lead:  # 2-D: (L, E)
            q, k, v = q[0], k[0], v[0]
        assert attention.fused_sdpa_applies(q, k, v, None, 0.0, False, None, False)
        exact = _run(F._sdpa_reference, q, k, v, None, False, False, None)[0]
        np.testing.assert_allclose(_run(F.scaled_dot_product_attention, q, k, v, None, False, False, None)[0], exact,
                                   rtol=1e-12, atol=1e-12)


def test_calls_outside_the_kernel_fall_back_to_the_twin():
    q, k, v = _operands((2,), 2, 2, 4, 4, 8, 8, heron.float32)
    assert attention.fused_sdpa_applies(q, k, v, None, 0.1, False, None, False)  # dropout is fused
    assert not attention.fused_sdpa_applies(q.half(), k.half(), v.half(), None, 0.0, False, None, False)
    assert not attention.fused_sdpa_applies(q, k[:1], v[:1], None, 0.0, False, None, False)  # broadcast batch
    m = heron.zeros(4, 4, requires_grad=True)
    assert not attention.fused_sdpa_applies(q, k, v, m, 0.0, False, None, False)  # mask gradient
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    out.sum().backward()
    assert m.grad is not None


def test_double_backward_goes_through_the_twin():
    q, k, v = (t.requires_grad_() for t in _operands((1,), 1, 1, 3, 4, 2, 2, heron.float64))
    assert heron.autograd.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                                        (q, k, v))


def test_gradcheck_in_float64():
    q, k, v = (t.requires_grad_() for t in _operands((1,), 2, 1, 5, 3, 4, 3, heron.float64))
    mask = heron.randn(5, 3, dtype=heron.float64)
    assert heron.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True), (q, k, v))


def test_thread_count_does_not_change_a_bit():
    q, k, v = _operands((2,), 4, 2, 150, 260, 64, 64, heron.float32)
    grad = heron.randn(2, 4, 150, 64)
    before = heron.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            heron.set_num_threads(threads)
            for causal in (False, True):
                out, grads = _run(F.scaled_dot_product_attention, q, k, v, None, causal, True, grad)
                results.append((threads, causal, out, grads))
    finally:
        heron.set_num_threads(before)
    for (_, c1, o1, g1), (_, c2, o2, g2) in zip(results[:2], results[2:]):
        assert c1 == c2 and np.array_equal(o1, o2)
        assert all(np.array_equal(a, b) for a, b in zip(g1, g2))


def test_kernel_entry_checks_its_operands():
    q, k, v = _operands((1,), 2, 2, 4, 4, 8, 8, heron.float32)
    with pytest.raises(RuntimeError, match="4-D"):
        heron._C.attention_forward(q[0]._a, k._a, v._a, None, 1.0, False)
    with pytest.raises(RuntimeError, match="multiple"):
        heron._C.attention_forward(heron.randn(1, 3, 4, 8)._a, k._a, v._a, None, 1.0, False)
    with pytest.raises(RuntimeError, match="dtype"):
        heron._C.attention_forward(q._a, k.double()._a, v._a, None, 1.0, False)
    with pytest.raises(RuntimeError, match="broadcast"):
        heron._C.attention_forward(q._a, k._a, v._a, heron.zeros(3, 4)._a, 1.0, False)
    with pytest.raises(NotImplementedError):
        heron._C.attention_forward(q.half()._a, k.half()._a, v.half()._a, None, 1.0, False)


# ---------------------------------------------------------------------------- dropout
def _philox_words(seed, counters):
    """Philox4x32-10 of each counter (uint64) under ``seed`` in NumPy: the four words, [n, 4]."""
    lo = np.uint64(0xFFFFFFFF)
    c0, c1 = counters & lo, counters >> np.uint64(32)
    c2 = c3 = np.zeros_like(counters)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    for _ in range(10):
        p0, p1 = np.uint64(0xD2511F53) * c0, np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & lo, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & lo
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & lo, (k1 + np.uint64(0xBB67AE85)) & lo
    return np.stack([c0, c1, c2, c3], axis=1)


def _numpy_dropout_mask(numel, p, seed, offset):
    """The dropout stream's definition: element e reads word e % 4 of counter block offset +
    e / 4 and is kept when that word's 24-bit uniform is below 1 - p."""
    e = np.arange(numel, dtype=np.uint64)
    words = _philox_words(seed, np.uint64(offset) + e // np.uint64(4))[np.arange(numel), (e % np.uint64(4)).astype(np.int64)]
    uniform = (words >> np.uint64(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return np.where(uniform < np.float32(1.0 - p), 1.0 / (1.0 - p), 0.0)


@pytest.mark.parametrize("seed,offset", [(0, 0), (12345678901234, 5), (7, 2**32 - 3), (2**64 - 1, 2**40 + 1)])
def test_dropout_stream_matches_a_numpy_philox(seed, offset):
    # 1003 elements: whole groups of 8 blocks and a ragged tail; offsets across a 2^32 carry.
    for dtype in (heron.float32, heron.float64):
        mask = heron.ops.creation.dropout_stream_mask((17, 59), dtype, 0.3, (seed, offset)).numpy().ravel()
        np.testing.assert_allclose(mask, _numpy_dropout_mask(17 * 59, 0.3, seed, offset), rtol=1e-6)


def _dropout_run(fn, q, k, v, grad, seed=11, **kwargs):
    heron.manual_seed(seed)
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = fn(q, k, v, **kwargs)
    (out * grad).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in (q, k, v)]


@pytest.mark.parametrize("shape", SHAPES[:5], ids=str)
@pytest.mark.parametrize("causal", [False, True])
def test_dropout_matches_the_twin_with_the_same_generator_state(shape, causal):
    # The fused kernel and the composite draw the same mask from the same generator state, so
    # forward and all three gradients agree to float64 rounding.
    lead, heads, kv_heads, L, S, E, Ev = shape
    q, k, v = _operands(lead, heads, kv_heads, L, S, E, Ev, heron.float64)
    grad = heron.randn(*lead, heads, L, Ev, dtype=heron.float64)
    kwargs = dict(dropout_p=0.3, is_causal=causal, enable_gqa=heads != kv_heads)
    assert attention.fused_sdpa_applies(q, k, v, None, 0.3, causal, None, heads != kv_heads)
    fused = _dropout_run(F.scaled_dot_product_attention, q, k, v, grad, **kwargs)
    exact = _dropout_run(F._sdpa_reference, q, k, v, grad, **kwargs)
    for f, e in zip(fused, exact):
        np.testing.assert_allclose(f, e, rtol=FLOAT64_TOLERANCE, atol=FLOAT64_TOLERANCE)
    assert not np.allclose(fused[0], _dropout_run(F._sdpa_reference, q, k, v, grad, is_causal=causal,
                                                  enable_gqa=heads != kv_heads)[0])  # dropout did something


def test_dropout_statistics():
    # Each probability is dropped with probability p and the rest scaled by 1 / (1 - p): the
    # dropped fraction is p, and the output is unbiased (its mean over masks is the output).
    p = 0.25
    q, k, v = _operands((1,), 2, 2, 40, 50, 16, 8, heron.float64)
    heron.manual_seed(5)
    mask = heron.ops.creation.dropout_stream_mask((1000, 1000), heron.float32, p, heron.ops.creation.dropout_stream_key(10**6))
    dropped = float((mask == 0).float().mean())
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / 10**6)
    assert set(np.unique(mask.numpy())) == {0.0, np.float32(1 / (1 - p))}
    exact = F.scaled_dot_product_attention(q, k, v).numpy()
    draws = 400
    mean = sum(F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy() for _ in range(draws)) / draws
    # The mean's standard error is about |v| sqrt(p / (1 - p) / (S * draws)): well under 0.05.
    assert np.abs(mean - exact).max() < 0.05
    assert np.abs(mean - exact).max() > 0  # the draws differ from call to call
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert np.all(zero.numpy() == 0)


def test_dropout_gradcheck_and_threads():
    q, k, v = (t.requires_grad_() for t in _operands((1,), 2, 1, 6, 5, 4, 3, heron.float64))

    def attend(q, k, v):
        heron.manual_seed(2)  # the same mask on every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4, enable_gqa=True, is_causal=True)

    assert heron.autograd.gradcheck(attend, (q, k, v))
    q, k, v = _operands((2,), 4, 2, 150, 260, 64, 64, heron.float32)
    grad = heron.randn(2, 4, 150, 64)
    before = heron.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            heron.set_num_threads(threads)
            runs.append(_dropout_run(F.scaled_dot_product_attention, q, k, v, grad, dropout_p=0.2, enable_gqa=True))
    finally:
        heron.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_dropout_probability_is_checked_at_the_kernel_entry():
    q, k, v = _operands((1,), 2, 2, 4, 4, 8, 8, heron.float32)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability"):
            heron._C.attention_forward(q._a, k._a, v._a, None, 1.0, False, p, 0, 0)
        with pytest.raises(ValueError, match="dropout probability"):
            heron.ops.creation.dropout_stream_mask((3,), heron.float32, p, (0, 0))
    with pytest.raises(TypeError, match="float32 or float64"):
        heron.ops.creation.dropout_stream_mask((3,), heron.int32, 0.5, (0, 0))


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import heron, heron.nn.functional as F
    n, d = 8192, 64
    q, k, v = (heron.randn(1, 1, n, d).requires_grad_() for _ in range(3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    out.sum().backward()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024)
""")


def test_memory_stays_linear_in_sequence_length():
    """Forward + backward at N = 8192, D = 64: one N x N float32 score matrix is 256 MiB; the
    fused kernel's peak growth must stay at least 10x below that."""
    env = dict(os.environ, HERON_ALLOCATOR_CACHE_MB="0")
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300, check=True)
    grown = int(result.stdout.strip().splitlines()[-1])
    score_matrix = 8192 * 8192 * 4
    assert grown < score_matrix / 10, f"peak RSS grew by {grown / 2**20:.1f} MiB"
