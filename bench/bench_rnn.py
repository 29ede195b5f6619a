"""Recurrent-layer benchmarks (issue #6): heron's fused LSTM, GRU and Elman-RNN (tanh) layers vs
torch.nn.LSTM / GRU / RNN with the same weights, in one run.

    python bench/bench_rnn.py [--quick] [--threads 1,2] [--filter LSTM]

- input 128, hidden 256, one layer: seq 64 / batch 32 (throughput) and seq 100 / batch 1
  (latency, as in online inference and RL), forward (no grad) and forward+backward.
- "packed": the seq 64 / batch 32 input as a PackedSequence of lengths 16 to 64 (a
  variable-length batch, as pack_padded_sequence makes it).
GFLOP/s counts the two GEMMs per step (input and recurrent projections) over the rows each step
holds, 3x for fwd+bwd.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import harness  # noqa: E402
from harness import torch  # noqa: E402

import heron  # noqa: E402


def _case(kind, seq, batch, inputs, hidden, backward, packed=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((seq, batch, inputs), dtype=np.float32)
    lengths = sorted(rng.integers(seq // 4, seq + 1, batch).tolist(), reverse=True) if packed else [seq] * batch
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    reference = getattr(torch.nn, kind)(inputs, hidden) if torch is not None else None
    state = {k: v.detach().numpy() for k, v in (reference.state_dict() if reference is not None else {}).items()}

    def make(lib):
        def factory():
            module = getattr(lib.nn, kind)(inputs, hidden)
            if state:
                module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
            tx = lib.tensor(x, requires_grad=backward)

            def run():
                if not packed:
                    return module(tx)[0]
                return module(lib.nn.utils.rnn.pack_padded_sequence(tx, lengths))[0].data

            def forward():
                with lib.no_grad():
                    return run()

            def forward_backward():
                tx.grad = None
                module.zero_grad()
                run().sum().backward()
                return tx.grad

            return forward_backward if backward else forward
        return factory

    impls = {"heron": make(heron)}
    if torch is not None:
        impls["torch"] = make(torch)
    flops = 2.0 * sum(lengths) * gates * hidden * (inputs + hidden) * (3 if backward else 1)
    name = f"{kind} {'fwd+bwd' if backward else 'fwd'} T{seq} B{batch} I{inputs} H{hidden}{' packed' if packed else ''}"
    return harness.Case(name, impls, group="rnn", flops=flops, rtol=1e-3, atol=1e-4)


def build_cases(runner: harness.Runner):
    shapes = [(16, 8, False), (16, 8, True)] if runner.quick else [(64, 32, False), (100, 1, False), (64, 32, True)]
    return [_case(kind, seq, batch, 128, 256, backward, packed)
            for kind in ("LSTM", "GRU", "RNN") for seq, batch, packed in shapes for backward in (False, True)]


if __name__ == "__main__":
    harness.main("heron recurrent layers vs torch", build_cases)
