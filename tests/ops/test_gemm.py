"""heron's GEMM against NumPy float64: awkward sizes (edge tiles, several K slices and row
blocks), every stride layout, batch broadcasting, each compiled ISA level, the fused epilogue
against its composite twin, and bit-identical results for 1 and 2 threads."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import heron
from heron.ops.linalg import linear

SIZES = [1, 7, 17, 127, 129]


def _operand(rng, shape, dtype, transposed):
    """A heron tensor with the given logical shape; a transposed view when asked."""
    data = rng.standard_normal(shape[::-1] if transposed else shape).astype(dtype)
    t = heron.from_numpy(data)
    return (t.t(), data.T) if transposed else (t, data)


def _check(got, ref, k, dtype):
    tol = 2e-5 * np.sqrt(max(k, 1)) if dtype == np.float32 else 1e-12 * max(k, 1)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sizes_and_layouts_match_numpy(level, dtype, rng):
    for m, n, k in itertools.product(SIZES, SIZES, [1, 17, 129]):
        ta, tb = bool(rng.integers(2)), bool(rng.integers(2))
        a, an = _operand(rng, (m, k), dtype, ta)
        b, bn = _operand(rng, (k, n), dtype, tb)
        _check((a @ b).numpy(), an.astype(np.float64) @ bn.astype(np.float64), k, dtype)


@pytest.mark.parametrize("shape", [(1000, 40, 300), (300, 1000, 40), (130, 70, 1000), (64, 64, 64)])
def test_large_dims_cross_every_block_boundary(level, shape, rng):
    m, n, k = shape
    for ta, tb in [(False, False), (True, True)]:
        a, an = _operand(rng, (m, k), np.float32, ta)
        b, bn = _operand(rng, (k, n), np.float32, tb)
        _check((a @ b).numpy(), an.astype(np.float64) @ bn.astype(np.float64), k, np.float32)


def test_degenerate_dims(rng):
    for m, n, k in [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)]:
        a = heron.randn(m, k)
        b = heron.randn(k, n)
        out = a @ b
        assert out.shape == (m, n)
        np.testing.assert_array_equal(out.numpy(), np.zeros((m, n), np.float32))


def test_strided_rows_and_broadcast_batches(rng):
    base = heron.randn(4, 10, 12)
    a = base[:, ::2, 1::2]  # strides in every dim
    b = heron.randn(3, 1, 6, 5)
    ref = np.matmul(a.numpy().astype(np.float64), b.numpy().astype(np.float64))
    _check((a @ b).numpy(), ref, 6, np.float32)
    # a shared 2-D right operand joins the batch into one taller product
    x = heron.randn(2, 3, 7, 6)
    w = heron.randn(6, 9).t().contiguous().t()
    _check((x @ w).numpy(), x.numpy().astype(np.float64) @ w.numpy().astype(np.float64), 6, np.float32)


def test_batch_dims_folded_into_rows_skip_size_one_strides(rng):
    # (2, 1, 1, 7) with the m dim's (arbitrary) stride 1: the rows lie 7 apart, not 1.
    base = rng.standard_normal(14)
    x = heron.tensor(base).as_strided((2, 1, 1, 7), (7, 7, 1, 1))
    w = rng.standard_normal((7, 3))
    np.testing.assert_allclose((x @ heron.tensor(w)).numpy(), base.reshape(2, 1, 1, 7) @ w, rtol=1e-12)
    for shape, strides in [((3, 1, 2, 4), (1, 5, 0, 3)), ((2, 3, 1, 2), (6, 2, 9, 1)), ((1, 2, 1, 3), (0, 3, 1, 1))]:
        x = heron.tensor(base).as_strided(shape, strides)
        np.testing.assert_allclose((x @ heron.tensor(w[:shape[-1]])).numpy(), x.numpy() @ w[:shape[-1]], rtol=1e-12)


def test_gemv_layouts(rng):
    for rows_contiguous in (True, False):
        m = heron.randn(300, 257) if rows_contiguous else heron.randn(257, 300).t()
        v = heron.randn(257 * 2)[::2]
        _check(heron.mv(m, v).numpy(), m.numpy().astype(np.float64) @ v.numpy().astype(np.float64), 257, np.float32)
        row = heron.randn(1, 300)
        _check((row @ m).numpy(), row.numpy().astype(np.float64) @ m.numpy().astype(np.float64), 300, np.float32)


@pytest.mark.parametrize("shape", [(1, 33, 70), (64, 96, 64), (257, 200, 300)])
def test_thread_count_does_not_change_a_bit(shape):
    m, n, k = shape
    heron.manual_seed(3)
    a, b, bias = heron.randn(m, k), heron.randn(k, n), heron.randn(n)
    batched_a, batched_b = heron.randn(3, m, k), heron.randn(3, k, n)
    before = heron.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            heron.set_num_threads(threads)
            results.append([(a @ b).numpy(), (batched_a @ batched_b).numpy(),
                            heron._addmm_activation(bias, a, b, use_gelu=True).numpy()])
    finally:
        heron.set_num_threads(before)
    for other in results[1:]:
        for x, y in zip(results[0], other):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("use_gelu", [False, True])
def test_fused_epilogue_matches_its_composite_twin(use_gelu, rng):
    x, w, bias = heron.randn(37, 50), heron.randn(70, 50), heron.randn(70)
    fused = heron._addmm_activation(bias, x, w.t(), use_gelu=use_gelu)
    z = heron.addmm(bias, x, w.t())
    twin = heron.nn.functional.gelu(z) if use_gelu else heron.nn.functional.relu(z)
    np.testing.assert_allclose(fused.numpy(), twin.numpy(), rtol=1e-6, atol=1e-6)
    for act in ("relu", "gelu", "gelu_tanh"):
        got = heron._C.linear(x._a, w._a, bias._a, act)
        assert tuple(got.shape) == (37, 70)


def test_linear_bias_epilogue_and_backward(rng):
    x = heron.randn(2, 5, 8, dtype=heron.float64, requires_grad=True)
    w = heron.randn(3, 8, dtype=heron.float64, requires_grad=True)
    b = heron.randn(3, dtype=heron.float64, requires_grad=True)
    out = linear(x, w, b)
    ref = x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12)
    assert heron.autograd.gradcheck(lambda *t: linear(*t), (x, w, b))


def test_half_precision_computes_in_float32():
    a, b = heron.randn(9, 20), heron.randn(20, 11)
    for dt in (heron.float16, heron.bfloat16):
        out = a.to(dt) @ b.to(dt)
        assert out.dtype is dt
        ref = a.to(dt).float().numpy().astype(np.float64) @ b.to(dt).float().numpy().astype(np.float64)
        np.testing.assert_allclose(out.float().numpy(), ref, rtol=2e-2, atol=2e-2 * np.abs(ref).max())


def test_errors_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"2x3 and 4x5"):
        heron.randn(2, 3) @ heron.randn(4, 5)
    with pytest.raises(RuntimeError, match=r"\[2, 2, 3\] and \[2, 4, 5\]"):
        heron.randn(2, 2, 3) @ heron.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="at least 1D"):
        heron.tensor(1.0) @ heron.randn(3)
    with pytest.raises(RuntimeError, match="same dtype"):
        heron.randn(2, 3) @ heron.randn(3, 2, dtype=heron.float64)
    with pytest.raises(NotImplementedError, match="int64"):
        heron.ones(2, 2, dtype=heron.int64) @ heron.ones(2, 2, dtype=heron.int64)
    with pytest.raises(ValueError, match="unknown activation"):
        heron._C.linear(heron.randn(2, 3)._a, heron.randn(4, 3)._a, None, "swish")
    with pytest.raises(RuntimeError, match="bias"):
        linear(heron.randn(2, 3), heron.randn(4, 3), heron.randn(5))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        heron.addmm(heron.randn(3, 3), heron.randn(2, 4), heron.randn(4, 3))
