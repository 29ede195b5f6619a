"""CNN benchmarks (issue #5): heron vs torch 2.13 (oneDNN) in one run.

    python bench/bench_conv.py [--quick] [--threads 1,2] [--filter stem]

- conv2d forward, and forward + backward (input and weight gradients), float32, on the ResNet
  layers (N=8: 3x3 64x56x56 -> 64, 3x3 128x28x28 -> 128, 1x1 256x56x56 -> 64, the 7x7/2 stem
  3x224x224 -> 64) and LeNet-5's two layers (N=64: 1x28x28 -> 6 5x5 pad 2, 6x14x14 -> 16 5x5).
  GFLOP/s counts 2 * N * C_out * (C_in * kH * kW) * H_out * W_out per pass (x3 with backward),
  as a fraction of the machine's measured FMA peak;
- the LeNet-5 training step (batch 64, Adam), time per step;
- max_pool2d 3x3/2 pad 1 and BatchNorm2d (training) forward + backward on the ResNet stem's
  output (8x64x112x112), as GB/s against the measured bandwidth. The byte count is the
  minimum traffic: read x and write y forward, read dy (and x or the indices) and write dx
  backward.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402


F32 = 4

# name, N, C_in, H, W, C_out, kernel, stride, padding
CONV_LAYERS = [
    ("resnet 3x3 64x56x56->64", 8, 64, 56, 56, 64, 3, 1, 1),
    ("resnet 3x3 128x28x28->128", 8, 128, 28, 28, 128, 3, 1, 1),
    ("resnet 1x1 256x56x56->64", 8, 256, 56, 56, 64, 1, 1, 0),
    ("resnet stem 7x7/2 3x224x224->64", 8, 3, 224, 224, 64, 7, 2, 3),
    ("lenet conv1 1x28x28->6 5x5", 64, 1, 28, 28, 6, 5, 1, 2),
    ("lenet conv2 6x14x14->16 5x5", 64, 6, 14, 14, 16, 5, 1, 0),
]
QUICK_LAYERS = [("resnet 3x3 16x14x14->16", 2, 16, 14, 14, 16, 3, 1, 1), CONV_LAYERS[4]]


def _conv_case(layer, backward):
    name, n, c, h, w, co, k, s, p = layer
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = (rng.standard_normal((co, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    grad = rng.standard_normal((n, co, ho, wo), dtype=np.float32)

    def make(lib):
        def factory():
            tx, tw = lib.tensor(x, requires_grad=backward), lib.tensor(weight, requires_grad=backward)
            tg = lib.tensor(grad)
            conv = lib.nn.functional.conv2d

            def forward():
                with lib.no_grad():
                    return conv(tx, tw, None, s, p)

            def forward_backward():
                tx.grad = tw.grad = None
                conv(tx, tw, None, s, p).backward(tg)
                return tw.grad

            return forward_backward if backward else forward
        return factory

    flops = 2.0 * n * co * c * k * k * ho * wo * (3 if backward else 1)
    # The weight gradient sums n * ho * wo products: float32 rounding in two summation orders
    # leaves differences of that order near entries that cancel to about zero.
    atol = max(1e-3, 2e-7 * n * ho * wo) if backward else 1e-3
    return harness.Case(f"conv {'fwd+bwd' if backward else 'fwd'} {name} N{n}", harness.heron_and_torch(make), group="conv",
                        flops=flops, rtol=1e-3, atol=atol)


def _lenet_step_case(batch=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)

    def make(lib):
        def factory():
            nn = lib.nn
            lib.manual_seed(0)
            model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
            opt = lib.optim.Adam(model.parameters(), lr=1e-3)
            xs, ys = lib.tensor(x), lib.tensor(y)

            def step():
                opt.zero_grad()
                nn.functional.cross_entropy(model(xs), ys).backward()
                opt.step()

            return step
        return factory

    return harness.Case(f"LeNet-5 train step b{batch} Adam", harness.heron_and_torch(make), group="train", ops=1, check=False,
                        note="us/op = time per training step")


def _pool_norm_cases(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    n, c, h, w = shape
    pooled = (n, c, (h - 1) // 2 + 1, (w - 1) // 2 + 1)
    grad_pool = rng.standard_normal(pooled, dtype=np.float32)
    grad_norm = rng.standard_normal(shape, dtype=np.float32)

    def make_pool(lib):
        def factory():
            tx, tg = lib.tensor(x, requires_grad=True), lib.tensor(grad_pool)

            def run():
                tx.grad = None
                lib.nn.functional.max_pool2d(tx, 3, 2, 1).backward(tg)
                return tx.grad
            return run
        return factory

    def make_norm(lib):
        def factory():
            bn = lib.nn.BatchNorm2d(c)
            tx, tg = lib.tensor(x, requires_grad=True), lib.tensor(grad_norm)

            def run():
                tx.grad = None
                bn(tx).backward(tg)
                return tx.grad
            return run
        return factory

    elements, pooled_elements = x.size, int(np.prod(pooled))
    # forward: read x, write y (+ int64 indices); backward: read dy (+ indices), write dx
    pool_bytes = (elements + pooled_elements) * F32 + pooled_elements * 8 * 2 + (pooled_elements + elements) * F32
    norm_bytes = 2 * elements * F32 + 3 * elements * F32  # forward x->y; backward x, dy -> dx
    dims = "x".join(map(str, shape))
    return [harness.Case(f"max_pool2d 3x3/2 pad1 fwd+bwd {dims}", harness.heron_and_torch(make_pool), group="pool/norm",
                         bytes=pool_bytes, rtol=1e-5, atol=1e-6),
            harness.Case(f"BatchNorm2d train fwd+bwd {dims}", harness.heron_and_torch(make_norm), group="pool/norm",
                         bytes=norm_bytes, rtol=1e-3, atol=1e-4)]


def build_cases(runner: harness.Runner):
    layers = QUICK_LAYERS if runner.quick else CONV_LAYERS
    cases = [_conv_case(layer, backward) for layer in layers for backward in (False, True)]
    cases.append(_lenet_step_case())
    cases += _pool_norm_cases((2, 8, 32, 32) if runner.quick else (8, 64, 112, 112))
    return cases


if __name__ == "__main__":
    harness.main("heron CNN kernels vs torch", build_cases)
