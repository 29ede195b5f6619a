"""Fits a small MLP to a noisy sine with heron's autograd and prints the loss going down.

    python -m heron.examples.demo [--steps 500] [--hidden 64] [--lr 0.05] [--threads N]

This is heron's main job until the training toolkit (nn.Module, optimizers) lands: every
parameter update below is written with plain tensors, so it exercises the kernels, the autograd
engine and in-place updates under no_grad.
"""
from __future__ import annotations

import argparse
import math
import time

import heron


def make_data(n: int):
    x = heron.linspace(-math.pi, math.pi, n).reshape(n, 1)
    noise = heron.randn(n, 1) * 0.05
    return x, heron.sin(x) + noise


def init_params(hidden: int):
    def layer(fan_in, fan_out):
        bound = 1.0 / math.sqrt(fan_in)
        w = heron.empty(fan_in, fan_out).uniform_(-bound, bound).requires_grad_()
        b = heron.empty(fan_out).uniform_(-bound, bound).requires_grad_()
        return w, b

    return [*layer(1, hidden), *layer(hidden, hidden), *layer(hidden, 1)]


def forward(params, x):
    w1, b1, w2, b2, w3, b3 = params
    h = heron.tanh(x @ w1 + b1)
    h = heron.nn.functional.gelu(h @ w2 + b2)
    return h @ w3 + b3


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        heron.set_num_threads(args.threads)
    heron.manual_seed(args.seed)

    x, y = make_data(args.points)
    params = init_params(args.hidden)
    velocity = [heron.zeros_like(p) for p in params]
    print(f"heron {heron.__version__} | ISA {heron._C.cpu_capability()} | threads {heron.get_num_threads()}")
    print(f"fitting sin(x) with a 1-{args.hidden}-{args.hidden}-1 MLP, {args.steps} steps of SGD with momentum")
    start = time.perf_counter()
    first = loss_value = None
    for step in range(1, args.steps + 1):
        loss = ((forward(params, x) - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with heron.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(0.9).add_(p.grad)
                p.sub_(v * args.lr)
        loss_value = loss.item()
        first = loss_value if first is None else first
        if step == 1 or step % max(1, args.steps // 10) == 0:
            print(f"step {step:5d}  loss {loss_value:.6f}")
    elapsed = time.perf_counter() - start
    print(f"loss {first:.4f} -> {loss_value:.4f} in {elapsed:.2f} s ({args.steps / elapsed:.0f} steps/s)")
    return loss_value


if __name__ == "__main__":
    main()
