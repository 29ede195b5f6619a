"""GEMM benchmarks: heron vs torch (MKL/oneDNN) vs NumPy (OpenBLAS) in one run, GFLOP/s and the
fraction of the machine's measured FMA peak, at 1 and 2 threads.

    python bench/bench_gemm.py                 # full table
    python bench/bench_gemm.py --quick         # smoke run
    python bench/bench_gemm.py --filter square # one family

Cases (issue #3): square n in {8 ... 2048}; the transformer shapes 4096x768 @ 768x3072 and
4096x3072 @ 3072x768; a skinny 512x64 @ 64x512; batched 64 x (128x64 @ 64x128); Linear with a
fused bias+GELU epilogue (heron's ``_addmm_activation`` against torch's linear followed by gelu,
and torch's own ``_addmm_activation``).
"""
from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
from harness import torch  # noqa: E402

import heron  # noqa: E402


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) / np.float32(math.sqrt(shape[-1]))


def _matmul_case(name, a_shape, b_shape, group="gemm"):
    flops = 2.0 * np.prod(a_shape[:-1]) * a_shape[-1] * b_shape[-1]

    def make(wrap):
        def factory():
            a, b = wrap(_rand(a_shape, 1)), wrap(_rand(b_shape, 2))
            return lambda: a @ b
        return factory

    impls = {"heron": make(heron.from_numpy), "numpy": make(lambda x: x)}
    if torch is not None:
        impls["torch"] = make(torch.from_numpy)
    k = a_shape[-1]
    return harness.Case(name, impls, group=group, flops=flops, rtol=1e-4, atol=1e-4 * math.sqrt(k),
                        single_threaded=())


def _linear_gelu_case(m, k, n):
    """y = gelu(x @ W^T + b): heron fuses bias and GELU into the GEMM; torch runs linear then
    gelu (what nn.Linear + nn.GELU does), and NumPy matmul + bias + erf-free tanh GELU."""
    flops = 2.0 * m * k * n

    def heron_factory():
        x, w, b = heron.from_numpy(_rand((m, k), 1)), heron.from_numpy(_rand((n, k), 2)), heron.from_numpy(_rand((n,), 3))
        wt = w.t()
        return lambda: heron._addmm_activation(b, x, wt, use_gelu=True)

    impls = {"heron": heron_factory}
    if torch is not None:
        def torch_factory():
            x, w, b = (torch.from_numpy(_rand((m, k), 1)), torch.from_numpy(_rand((n, k), 2)),
                       torch.from_numpy(_rand((n,), 3)))
            F = torch.nn.functional
            return lambda: F.gelu(F.linear(x, w, b))
        impls["torch"] = torch_factory
    return harness.Case(f"linear+bias+gelu {m}x{k} @ {k}x{n}", impls, group="linear", flops=flops, rtol=1e-4,
                        atol=1e-4, single_threaded=())


def build_cases(runner: harness.Runner):
    sizes = [8, 16, 32, 64, 128, 256, 512] if runner.quick else [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    cases = [_matmul_case(f"square {n}", (n, n), (n, n)) for n in sizes]
    big = 1024 if runner.quick else 4096
    cases.append(_matmul_case(f"transformer {big}x768 @ 768x3072", (big, 768), (768, 3072)))
    cases.append(_matmul_case(f"transformer {big}x3072 @ 3072x768", (big, 3072), (3072, 768)))
    cases.append(_matmul_case("skinny 512x64 @ 64x512", (512, 64), (64, 512)))
    cases.append(_matmul_case("batched 64 x 128x64 @ 64x128", (64, 128, 64), (64, 64, 128)))
    cases.append(_linear_gelu_case(1024 if runner.quick else 4096, 768, 3072))
    cases.append(_linear_gelu_case(64, 256, 256))
    return cases


if __name__ == "__main__":
    harness.main("heron GEMM vs torch and NumPy", build_cases)
