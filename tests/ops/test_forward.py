"""Forward results of every op in the op database against its NumPy float64 reference."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.testing.opdb import op_db
from heron.testing.tensors import assert_close, flatten_outputs, tensors_in, to_numpy, tolerance


def op_dtype_cases(pred):
    return [pytest.param(op, dt, id=f"{op.name}-{dt._name}") for op in op_db if pred(op) for dt in op.dtypes]


def op_cases(pred):
    return [pytest.param(op, id=op.name) for op in op_db if pred(op)]


def check_against_reference(op, sample, out, expected):
    actual = flatten_outputs(out)
    expected = flatten_outputs(expected)
    assert len(actual) == len(expected), f"{sample}: {len(actual)} results, reference has {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert isinstance(a, heron.Tensor), f"{sample}: result {i} is {type(a).__name__}, expected a Tensor"
        rtol, atol = tolerance(a.dtype, op.tol)
        assert_close(a, e, rtol=rtol, atol=atol, msg=f"{op.name} {sample} result {i}: ")


@pytest.mark.parametrize("op, dtype", op_dtype_cases(lambda op: op.ref is not None))
def test_matches_numpy_reference(op, dtype, rng):
    for sample in op.sample_inputs(dtype, rng):
        expected = op.reference(sample, dtype)  # before the call: in-place ops mutate their input
        out = op.op(*sample.args, **sample.kwargs)
        if op.inplace:
            assert out is sample.args[0], f"{sample}: in-place op must return its input"
        check_against_reference(op, sample, out, expected)


@pytest.mark.parametrize("op, dtype", op_dtype_cases(lambda op: op.method is not None and not op.statistical))
def test_method_matches_function(op, dtype, rng):
    for sample in op.sample_inputs(dtype, rng):
        self, *rest = sample.args
        via_function = flatten_outputs(op.op(*sample.args, **sample.kwargs))
        via_method = flatten_outputs(getattr(self, op.method)(*rest, **sample.kwargs))
        assert len(via_function) == len(via_method)
        for f, m in zip(via_function, via_method):
            assert f.dtype is m.dtype and f.shape == m.shape, sample
            assert_close(m, to_numpy(f), msg=f"{sample}: ")


@pytest.mark.parametrize("op, dtype", op_dtype_cases(lambda op: op.view))
def test_view_shares_memory(op, dtype, rng):
    fill = (False, True) if dtype is heron.bool else (0, 1)
    for sample in op.sample_inputs(dtype, rng):
        base = sample.args[0]
        outs = [o for o in tensors_in(op.op(*sample.args, **sample.kwargs)) if o.numel()]
        for value in fill:
            base.fill_(value)
            for o in outs:
                assert (to_numpy(o) == value).all(), f"{op.name} {sample}: result does not see writes to its input"


@pytest.mark.parametrize("op", op_cases(lambda op: op.cost is not None))
def test_cost_counts(op, rng):
    dtype = op.dtypes[0]
    for sample in op.sample_inputs(dtype, rng):
        out = op.op(*sample.args, **sample.kwargs)
        flops, nbytes = op.cost(sample, out)
        assert isinstance(flops, int) and isinstance(nbytes, int) and flops >= 0 and nbytes >= 0, (sample, flops, nbytes)


# ---------------------------------------------------------------------------- random ops
@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
def test_multinomial_with_replacement_frequencies(dtype):
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    gen = heron.Generator().manual_seed(1234)
    n = 40000
    draws = to_numpy(heron.multinomial(heron.tensor(probs * 3.0, dtype=dtype), n, True, generator=gen))
    assert draws.shape == (n,) and draws.min() >= 0 and draws.max() <= 3
    counts = np.bincount(draws, minlength=4)
    sigma = np.sqrt(n * probs * (1 - probs))
    assert (np.abs(counts - n * probs) < 5 * sigma).all(), counts


def test_multinomial_without_replacement():
    gen = heron.Generator().manual_seed(7)
    probs = heron.tensor([[0.0, 1.0, 2.0, 3.0, 0.0], [5.0, 0.0, 1.0, 1.0, 1.0]])
    for _ in range(50):
        draws = to_numpy(heron.multinomial(probs, 3, generator=gen))
        assert draws.shape == (2, 3)
        for row, p in zip(draws, to_numpy(probs)):
            assert len(set(row.tolist())) == 3, "without replacement, indices are distinct"
            assert (p[row] > 0).all(), "a zero-probability category was drawn"


def test_multinomial_first_draw_follows_probabilities():
    gen = heron.Generator().manual_seed(99)
    probs = np.array([0.5, 0.25, 0.125, 0.125])
    trials = 4000
    batch = heron.tensor(np.tile(probs, (trials, 1)))
    first = to_numpy(heron.multinomial(batch, 2, generator=gen))[:, 0]
    counts = np.bincount(first, minlength=4)
    sigma = np.sqrt(trials * probs * (1 - probs))
    assert (np.abs(counts - trials * probs) < 5 * sigma).all(), counts


def test_multinomial_zero_dim_input_rejected_like_torch():
    with pytest.raises(RuntimeError):
        heron.multinomial(heron.tensor(1.0), 1)


# ---------------------------------------------------------------------------- known C++ bugs
KNOWN_FAILURES = [
    pytest.param(op, dt, k.desc, id=f"{op.name}-{dt._name}-{k.desc}", marks=pytest.mark.xfail(strict=True, reason=k.reason))
    for op in op_db for k in op.known_failures for dt in op.dtypes if (k.dtypes is None or dt in k.dtypes) and "forward" in k.tests
]


@pytest.mark.parametrize("op, dtype, desc", KNOWN_FAILURES)
def test_known_failure(op, dtype, desc, rng):
    samples = [s for s in op.sample_inputs(dtype, rng, known_failures=True) if desc in ("*", s.desc)]
    assert samples
    for sample in samples:
        expected = op.reference(sample, dtype)
        check_against_reference(op, sample, op.op(*sample.args, **sample.kwargs), expected)


# ---------------------------------------------------------------------------- the database itself
# Ops whose inputs cannot take one of the required forms (torch rejects them), and why.
NO_NON_CONTIGUOUS = {"as_strided": "its strides are relative to a contiguous input"}
NO_ZERO_DIM = {
    "cat": "needs at least 1-D", "split": "needs at least 1-D", "chunk": "needs at least 1-D", "tril": "needs 2-D",
    "triu": "needs 2-D", "unflatten": "needs at least 1-D", "narrow": "needs at least 1-D",
    "index_add_": "needs at least 1-D", "multinomial": "needs 1-D or 2-D", "as_strided": "see above",
    "linear": "needs at least 1-D", "bilinear": "needs at least 1-D", "embedding_bag": "bags need 1-D or 2-D indices",
    "layer_norm": "normalizes at least one dim", "rms_norm": "normalizes at least one dim",
    "batch_norm": "needs a channel dim", "cosine_similarity": "reduces a dim",
}
NO_ZERO_DIM.update({name: "needs channel and spatial dims" for name in (
    "pad", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "interpolate", "pixel_shuffle", "group_norm")})
NO_ZERO_DIM.update({name: "GEMM operands are at least 1-D" for name in (
    "matmul", "mm", "bmm", "mv", "dot", "outer", "tensordot", "einsum", "_addmm_activation")})
NO_EMPTY = {"multinomial": "needs a category with positive probability", "as_strided": "see above"}


@pytest.mark.parametrize("op", op_cases(lambda op: True))
def test_samples_cover_the_required_forms(op, rng):
    """Every op's samples include non-contiguous, 0-d and empty tensors (where the op allows)."""
    samples = list(op.sample_inputs(op.dtypes[0], rng))
    assert samples, "no samples"
    inputs = [t for s in samples for t in tensors_in((s.args, s.kwargs))]
    if op.name not in NO_NON_CONTIGUOUS:  # noqa: SIM102
        assert any(not t.is_contiguous() for t in inputs), "no non-contiguous input"
    if op.name not in NO_ZERO_DIM:
        assert any(t.ndim == 0 for t in inputs), "no 0-d input"
    if op.name not in NO_EMPTY:
        assert any(t.numel() == 0 for t in inputs), "no empty input"
    assert len({s.desc for s in samples}) > 1 or len(samples) == 1
