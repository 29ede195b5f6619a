"""Every compiled CPU ISA level the machine supports gives correct results.

``heron._C.set_cpu_capability(name)`` selects the kernels of one level for the process and
returns the level actually set (lower when the hardware cannot run the requested one); each
test restores the original level.
"""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.testing.opdb import ops_by_name
from heron.testing.tensors import assert_close, flatten_outputs, tolerance

LEVELS = list(heron._C.compiled_capabilities())

# Ops whose kernels are compiled once per ISA level: elementwise math, reductions, softmax,
# scans, indexing and copies.
ISA_OPS = ["add", "mul", "div", "pow", "maximum", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
           "sigmoid", "gelu", "silu", "softplus", "leaky_relu", "relu", "abs", "clamp", "where", "eq", "lt", "to", "sum",
           "mean", "prod", "amax", "argmax", "var", "norm", "logsumexp", "softmax", "log_softmax", "cumsum", "gather",
           "index_select", "scatter_add", "sort", "topk", "cat", "contiguous", "copy_", "fill_"]
DTYPES = [heron.float32, heron.float64, heron.float16, heron.bfloat16, heron.int64]


def test_levels_are_known():
    assert LEVELS[0] == "default"
    assert set(LEVELS) <= {"default", "avx2", "avx512"}
    assert heron._C.cpu_capability() in LEVELS
    assert heron._C.hardware_capability() in ("default", "avx2", "avx512")


def test_unknown_level_is_rejected():
    original = heron._C.cpu_capability()
    try:
        with pytest.raises((ValueError, RuntimeError)):
            heron._C.set_cpu_capability("sse9")
    finally:
        heron._C.set_cpu_capability(original)
    assert heron._C.cpu_capability() == original


@pytest.mark.parametrize("name", ISA_OPS)
def test_ops_match_numpy_at_each_level(level, name, rng):
    op = ops_by_name[name]
    for dtype in (d for d in DTYPES if d in op.dtypes):
        for sample in op.sample_inputs(dtype, rng):
            expected = flatten_outputs(op.reference(sample, dtype))
            out = flatten_outputs(op.op(*sample.args, **sample.kwargs))
            for a, e in zip(out, expected):
                rtol, atol = tolerance(a.dtype, op.tol)
                assert_close(a, e, rtol=rtol, atol=atol, msg=f"[{level}] {name} {sample}: ")


def test_levels_agree_on_large_inputs(rng):
    """Long vectors exercise the SIMD main loops; every level must stay within tolerance of
    float64 NumPy (the levels may differ in the last bits: FMA contracts differently)."""
    x64 = rng.standard_normal(100_003) * 3
    x = heron.tensor(x64, dtype=heron.float32)
    xr = x.double().numpy()
    original = heron._C.cpu_capability()
    try:
        for lvl in LEVELS:
            if heron._C.set_cpu_capability(lvl) != lvl:
                continue
            assert_close(x.exp(), np.exp(xr), rtol=2e-6, atol=1e-6, msg=f"[{lvl}] exp ")
            assert_close(heron.tanh(x), np.tanh(xr), rtol=2e-6, atol=1e-6, msg=f"[{lvl}] tanh ")
            assert_close(x.abs().log(), np.log(np.abs(xr)), rtol=2e-6, atol=1e-6, msg=f"[{lvl}] log ")
            assert_close(x.sum(), xr.sum(), rtol=1e-5, atol=1e-3, msg=f"[{lvl}] sum ")
            assert_close(x.amax(), xr.max(), msg=f"[{lvl}] amax ")
            assert x.argmax().item() == int(np.argmax(xr))
            assert_close(heron.softmax(x, 0).sum(), 1.0, rtol=1e-5, msg=f"[{lvl}] softmax ")
    finally:
        heron._C.set_cpu_capability(original)
