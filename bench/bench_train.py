"""Training-toolkit benchmarks (issue #4): heron vs torch in one run.

    python bench/bench_train.py [--quick] [--threads 1]

- MLP training step: batch 64, 64-256-256-8, ReLU, cross_entropy, Adam (forward, backward, step);
- Adam step on 10M float32 parameters, as GB/s against the measured memory bandwidth (the
  update reads param, grad, exp_avg, exp_avg_sq and writes param, exp_avg, exp_avg_sq);
- cross_entropy forward + backward on 4096 x 32000 logits (an LM head's vocabulary).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402


F32 = 4


def _mlp_step_case(batch=64, sizes=(64, 256, 256, 8)):
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((o, i)).astype(np.float32) / np.sqrt(i), np.zeros(o, np.float32))
               for i, o in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)

    def make(lib):
        def factory():
            nn = lib.nn
            layers = []
            for i, (w, b) in enumerate(weights):
                lin = nn.Linear(w.shape[1], w.shape[0])
                with lib.no_grad():
                    lin.weight.copy_(lib.tensor(w))
                    lin.bias.copy_(lib.tensor(b))
                layers.append(lin)
                if i + 1 < len(weights):
                    layers.append(nn.ReLU())
            model = nn.Sequential(*layers)
            opt = lib.optim.Adam(model.parameters(), lr=1e-3)
            xs, ys = lib.tensor(x), lib.tensor(y)

            def step():
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(xs), ys)
                loss.backward()
                opt.step()
                return None  # the parameters drift with every call: nothing to compare

            return step
        return factory

    impls = harness.heron_and_torch(make)
    return harness.Case(f"MLP step b{batch} {'-'.join(map(str, sizes))} Adam", impls, group="train", ops=1,
                        check=False, note="us/op = time per training step")


def _adam_case(numel):
    def make(lib):
        def factory():
            p = lib.nn.Parameter(lib.zeros(numel))
            p.grad = lib.ones(numel) * 1e-3
            opt = lib.optim.Adam([p], lr=1e-3)
            opt.step()  # creates the state
            return lambda: opt.step()
        return factory

    impls = harness.heron_and_torch(make)
    return harness.Case(f"Adam step {numel / 1e6:.0f}M params", impls, group="train", bytes=7 * numel * F32,
                        check=False)


def _cross_entropy_case(rows, classes):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((rows, classes), dtype=np.float32)
    target = rng.integers(0, classes, rows)

    def make(lib):
        def factory():
            x = lib.tensor(logits, requires_grad=True)
            t = lib.tensor(target)

            def step():
                x.grad = None
                lib.nn.functional.cross_entropy(x, t).backward()
                return x.grad
            return step
        return factory

    impls = harness.heron_and_torch(make)
    # forward reads the logits twice (max, exp-sum), backward reads them and writes the gradient
    return harness.Case(f"cross_entropy fwd+bwd {rows}x{classes}", impls, group="train", bytes=4 * rows * classes * F32,
                        rtol=1e-4, atol=1e-8)


def build_cases(runner: harness.Runner):
    if runner.quick:
        return [_mlp_step_case(), _adam_case(1_000_000), _cross_entropy_case(512, 32000)]
    return [_mlp_step_case(), _adam_case(10_000_000), _cross_entropy_case(4096, 32000)]


if __name__ == "__main__":
    harness.main("heron training toolkit vs torch", build_cases)
