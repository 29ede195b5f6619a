"""Fused attention benchmarks (issue #7): heron's flash-attention kernel vs torch's
scaled_dot_product_attention in one run.

    python bench/bench_attention.py [--quick] [--threads 1,2] [--filter causal]

- tiny-GPT training step (the example's model: 4 layers, 4 heads, 128-wide, block 128, batch
  16, weight tying, AdamW, gradient clipping), the same model written once for both libraries.
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

    impls = harness.heron_and_torch(make)
    flops = 4.0 * batch * heads * n * n * d * (3.5 if backward else 1.0) * (0.5 if causal else 1.0)
    name = (f"sdpa {'fwd+bwd' if backward else 'fwd'} B{batch} H{heads} N{n} D{d}{' causal' if causal else ''}"
            f"{f' dropout {dropout_p}' if dropout_p else ''}")
    return harness.Case(name, impls, group="attention", flops=flops, rtol=1e-3, atol=1e-4, check=dropout_p == 0.0)


def _gpt_step_case(layers=4, heads=4, width=128, block=128, batch=16, vocab=65):
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, vocab, (batch, block + 1))

    def make(lib):
        nn, F = lib.nn, lib.nn.functional

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1, self.ln_2 = nn.LayerNorm(width, bias=False), nn.LayerNorm(width, bias=False)
                self.c_attn = nn.Linear(width, 3 * width, bias=False)
                self.c_proj = nn.Linear(width, width, bias=False)
                self.mlp = nn.Sequential(nn.Linear(width, 4 * width, bias=False), nn.GELU(),
                                         nn.Linear(4 * width, width, bias=False))

            def forward(self, x):
                B, T, C = x.shape
                q, k, v = (t.reshape(B, T, heads, C // heads).transpose(1, 2)
                           for t in self.c_attn(self.ln_1(x)).split(C, dim=2))
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
                return x + self.mlp(self.ln_2(x))

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(block, width)
                self.blocks = nn.ModuleList(Block() for _ in range(layers))
                self.ln_f = nn.LayerNorm(width, bias=False)
                self.head = nn.Linear(width, vocab, bias=False)
                self.head.weight = self.wte.weight  # weight tying

            def forward(self, idx):
                x = self.wte(idx) + self.wpe(lib.arange(idx.shape[1]))
                for blk in self.blocks:
                    x = blk(x)
                return self.head(self.ln_f(x))

        def factory():
            lib.manual_seed(0)
            model = GPT()
            decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
            other = [p for n, p in model.named_parameters() if p.dim() < 2]
            opt = lib.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99))
            x, y = lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])

            def step():
                opt.zero_grad(set_to_none=True)
                logits = model(x)
                F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)).backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                return None  # the parameters drift with every call: nothing to compare

            return step
        return factory

    impls = harness.heron_and_torch(make)
    return harness.Case(f"tiny-GPT step L{layers} H{heads} E{width} T{block} B{batch} AdamW", impls, group="train",
                        ops=1, check=False, note="us/op = time per training step")


def build_cases(runner: harness.Runner):
    sizes = (256,) if runner.quick else (1024, 2048)
    cases = [_case(4, 8, n, 64, causal, backward)
             for n in sizes for backward in (False, True) for causal in (False, True)]
    cases += [_case(4, 8, sizes[0], 64, True, backward, dropout_p=0.1) for backward in (False, True)]
    return [_gpt_step_case()] + cases


if __name__ == "__main__":
    harness.main("heron fused attention vs torch", build_cases)
