"""Recurrent-layer benchmarks (issue #6): heron's fused LSTM, GRU and Elman-RNN (tanh) layers vs
torch.nn.LSTM / GRU / RNN with the same weights, in one run.

    python bench/bench_rnn.py [--quick] [--threads 1,2] [--filter LSTM]

- input 128, hidden 256, one layer: seq 64 / batch 32 (throughput) and seq 100 / batch 1
  (latency, as in online inference and RL), forward (no grad) and forward+backward.
GFLOP/s counts the two GEMMs per step (input and recurrent projections), 3x for fwd+bwd.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
from harness import torch  # noqa: E402

import heron  # noqa: E402


def _case(kind, seq, batch, inputs, hidden, backward):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((seq, batch, inputs), dtype=np.float32)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    reference = getattr(torch.nn, kind)(inputs, hidden) if torch is not None else None
    state = {k: v.detach().numpy() for k, v in (reference.state_dict() if reference is not None else {}).items()}

    def make(lib):
        def factory():
            module = getattr(lib.nn, kind)(inputs, hidden)
            if state:
                module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
            tx = lib.tensor(x, requires_grad=backward)

            def forward():
                with lib.no_grad():
                    return module(tx)[0]

            def forward_backward():
                tx.grad = None
                module.zero_grad()
                module(tx)[0].sum().backward()
                return tx.grad

            return forward_backward if backward else forward
        return factory

    impls = {"heron": make(heron)}
    if torch is not None:
        impls["torch"] = make(torch)
    flops = 2.0 * seq * batch * gates * hidden * (inputs + hidden) * (3 if backward else 1)
    name = f"{kind} {'fwd+bwd' if backward else 'fwd'} T{seq} B{batch} I{inputs} H{hidden}"
    return harness.Case(name, impls, group="rnn", flops=flops, rtol=1e-3, atol=1e-4)


def build_cases(runner: harness.Runner):
    shapes = [(16, 8)] if runner.quick else [(64, 32), (100, 1)]
    return [_case(kind, seq, batch, 128, 256, backward)
            for kind in ("LSTM", "GRU", "RNN") for seq, batch in shapes for backward in (False, True)]


if __name__ == "__main__":
    harness.main("heron recurrent layers vs torch", build_cases)
