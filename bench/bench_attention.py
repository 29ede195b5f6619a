"""Fused attention benchmarks (issue #7): heron's flash-attention kernel vs torch's
scaled_dot_product_attention in one run.

    python bench/bench_attention.py [--quick] [--threads 1,2] [--filter causal]

- B=4, H=8, D=64 float32 at N = 1024 and 2048, causal and not: forward, and forward+backward;
  at N = 1024 also with dropout 0.1 (each library its own mask, so results are not compared);
  GFLOP/s counts the useful multiply-adds (QK^T and PV: 4*N*N*D per head forward; backward
  adds 2.5x that; causal halves both), as a fraction of the machine's measured FMA peak.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
from harness import torch  # noqa: E402

import heron  # noqa: E402


def _case(batch, heads, n, d, causal, backward, dropout_p=0.0):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((batch, heads, n, d), dtype=np.float32) for _ in range(3))
    grad = rng.standard_normal((batch, heads, n, d), dtype=np.float32)

    def make(lib):
        def factory():
            tq, tk, tv = (lib.tensor(a, requires_grad=backward) for a in (q, k, v))
            tg = lib.tensor(grad)
            sdpa = lib.nn.functional.scaled_dot_product_attention

            def forward():
                with lib.no_grad():
                    return sdpa(tq, tk, tv, is_causal=causal, dropout_p=dropout_p)

            def forward_backward():
                for t in (tq, tk, tv):
                    t.grad = None
                sdpa(tq, tk, tv, is_causal=causal, dropout_p=dropout_p).backward(tg)
                return tq.grad

            return forward_backward if backward else forward
        return factory

    impls = {"heron": make(heron)}
    if torch is not None:
        impls["torch"] = make(torch)
    flops = 4.0 * batch * heads * n * n * d * (3.5 if backward else 1.0) * (0.5 if causal else 1.0)
    name = (f"sdpa {'fwd+bwd' if backward else 'fwd'} B{batch} H{heads} N{n} D{d}{' causal' if causal else ''}"
            f"{f' dropout {dropout_p}' if dropout_p else ''}")
    return harness.Case(name, impls, group="attention", flops=flops, rtol=1e-3, atol=1e-4, check=dropout_p == 0.0)


def build_cases(runner: harness.Runner):
    sizes = (256,) if runner.quick else (1024, 2048)
    cases = [_case(4, 8, n, 64, causal, backward)
             for n in sizes for backward in (False, True) for causal in (False, True)]
    return cases + [_case(4, 8, sizes[0], 64, True, backward, dropout_p=0.1) for backward in (False, True)]


if __name__ == "__main__":
    harness.main("heron fused attention vs torch", build_cases)
