"""Recurrent-layer benchmarks (issue #6): heron's fused LSTM, GRU and Elman-RNN (tanh) layers vs
torch.nn.LSTM / GRU / RNN with the same weights, in one run.

    python bench/bench_rnn.py [--quick] [--threads 1,2] [--filter LSTM]

- input 128, hidden 256, one layer: seq 64 / batch 32 (throughput) and seq 100 / batch 1
  (latency, as in online inference and RL), forward (no grad) and forward+backward.
- the char-LSTM example's training step (batch 64, seq 100, 2 x 512 hidden): the epoch ratio.
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

    impls = harness.heron_and_torch(make)
    flops = 2.0 * sum(lengths) * gates * hidden * (inputs + hidden) * (3 if backward else 1)
    name = f"{kind} {'fwd+bwd' if backward else 'fwd'} T{seq} B{batch} I{inputs} H{hidden}{' packed' if packed else ''}"
    return harness.Case(name, impls, group="rnn", flops=flops, rtol=1e-3, atol=1e-4)


def _char_lstm_case(batch, seq, hidden, layers, vocab=65, embed=128):
    """One training step of the char-LSTM example's model (embedding, LSTM with dropout 0.2
    between layers, linear head; cross-entropy, Adam, gradient clipping at 5) on random
    characters: the epoch time ratio, since an epoch is a fixed number of such steps."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab, (batch, seq + 1))

    def make(lib):
        def factory():
            lib.manual_seed(0)
            embedding = lib.nn.Embedding(vocab, embed)
            lstm = lib.nn.LSTM(embed, hidden, num_layers=layers, dropout=0.2, batch_first=True)
            head = lib.nn.Linear(hidden, vocab)
            params = [p for m in (embedding, lstm, head) for p in m.parameters()]
            optimizer = lib.optim.Adam(params, lr=2e-3)
            x, y = lib.tensor(ids[:, :-1]), lib.tensor(ids[:, 1:])

            def step():
                out, _ = lstm(embedding(x))
                logits = head(out)
                loss = lib.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
                optimizer.zero_grad()
                loss.backward()
                lib.nn.utils.clip_grad_norm_(params, 5.0)
                optimizer.step()
                return loss.item()
            return step
        return factory

    impls = harness.heron_and_torch(make)
    flops = 3 * 2.0 * batch * seq * (4 * hidden * (embed + hidden + (layers - 1) * 2 * hidden) + hidden * vocab)
    return harness.Case(f"char-LSTM train step B{batch} T{seq} H{hidden}x{layers}", impls, group="rnn", flops=flops,
                        check=False, note="different initial weights and dropout draws: no value check")


def build_cases(runner: harness.Runner):
    shapes = [(16, 8, False), (16, 8, True)] if runner.quick else [(64, 32, False), (100, 1, False), (64, 32, True)]
    return [_case(kind, seq, batch, 128, 256, backward, packed)
            for kind in ("LSTM", "GRU", "RNN") for seq, batch, packed in shapes for backward in (False, True)] + [
        _char_lstm_case(8, 16, 64, 2) if runner.quick else _char_lstm_case(64, 100, 512, 2)]


if __name__ == "__main__":
    harness.main("heron recurrent layers vs torch", build_cases)
