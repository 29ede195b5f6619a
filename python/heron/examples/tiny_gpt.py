"""Train a character-level GPT on Tiny Shakespeare with heron.

    python -m heron.examples.tiny_gpt [--data PATH] [--max-iters 5000] [--threads N] [--seed 0]
                                      [--checkpoint PATH] [--resume PATH] [--max-minutes M]

nanoGPT's "shakespeare-char" model scaled to a small CPU: a decoder-only Transformer (4 layers,
4 heads, 128-wide embeddings, blocks of 128 characters, batches of 16) with pre-norm blocks,
causal ``scaled_dot_product_attention``, GELU MLPs and the output matrix tied to the token
embedding. Trained with AdamW (weight decay on the Linear weights only, not on biases, norms or
embeddings), a linear warmup then cosine decay of the learning rate (a LambdaLR), and gradient
clipping. Every ``--eval-interval`` steps it prints the mean train and validation loss over
``--eval-iters`` fixed batches and saves a checkpoint (model, optimizer, scheduler, step and
random-generator states, with ``heron.save``) that ``--resume`` (given the same options)
continues from exactly. Each log line gives the mean time of a training step. At the end it
samples text with ``--temperature`` and ``--top-k``.

``--data`` is the ``input.txt`` file or a directory holding it (or a ``tinyshakespeare/``
sub-directory); by default $HERON_DATA or ~/.cache/heron is searched and the file downloaded
(checksum verified) when missing. The first 90% of the text is for training, the rest for
validation.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass

import heron
from heron import nn
from heron.examples._options import add_run_options, apply_run_options, check_options
from heron.examples.mnist import progress_bar
from heron.nn import functional as F


# ---------------------------------------------------------------------------- model
@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # biases in the Linear and LayerNorm layers


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one Linear makes q, k and v for all heads."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd ({config.n_embd}) must be a multiple of n_head ({config.n_head})")
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.dropout = config.dropout

    def forward(self, x):
        B, T, C = x.shape
        heads = [t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2)]
        y = F.scaled_dot_product_attention(*heads, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm Transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token and position embeddings, ``n_layer`` blocks, a final LayerNorm and the output
    layer, whose weight is the token embedding's (weight tying)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "wpe": nn.Embedding(config.block_size, config.n_embd),
            "drop": nn.Dropout(config.dropout),
            "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
        })
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        # GPT-2's initialisation: N(0, 0.02), the residual projections scaled by 1/sqrt(2 n_layer).
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab) for the ids ``idx`` (B, T); with ``targets``, also the mean
        cross-entropy of predicting them."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens is longer than the block size {self.config.block_size}")
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(heron.arange(T)))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))

    def optimizer_groups(self, weight_decay):
        """Two AdamW parameter groups: Linear weights decay; biases, LayerNorm weights and
        embeddings (so the tied output matrix too) do not."""
        no_decay = {id(m.weight) for m in self.modules() if isinstance(m, (nn.Embedding, nn.LayerNorm))}
        params = list(self.parameters())  # each shared parameter once
        decay = [p for p in params if p.ndim >= 2 and id(p) not in no_decay]
        rest = [p for p in params if p.ndim < 2 or id(p) in no_decay]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    @heron.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Appends ``max_new_tokens`` sampled ids to ``idx`` (B, T): each drawn from the
        softmax of the last logits divided by ``temperature``, restricted to the ``top_k``
        most likely ids when given."""
        was_training = self.training
        self.eval()
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            logits = logits[:, -1, :] / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = heron.topk(logits, top_k)[0][:, -1:]
                logits = logits.masked_fill(logits < kth, -math.inf)
            next_id = heron.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            idx = heron.cat([idx, next_id], dim=1)
        self.train(was_training)
        return idx


# ---------------------------------------------------------------------------- training
def lr_factor(step, warmup_iters, decay_iters, min_ratio):
    """nanoGPT's schedule as a multiple of the peak rate: linear warmup over ``warmup_iters``,
    cosine decay to ``min_ratio`` at ``decay_iters``, then constant."""
    if step < warmup_iters:
        return (step + 1) / (warmup_iters + 1)
    if step >= decay_iters:
        return min_ratio
    progress = (step - warmup_iters) / max(decay_iters - warmup_iters, 1)
    return min_ratio + 0.5 * (1.0 + math.cos(math.pi * progress)) * (1.0 - min_ratio)


def load_splits(path, block_size):
    """(train, val) CharDatasets of the first 90% and the rest of the text, sharing the
    vocabulary of the whole text. ``path``: the text file, a directory holding it, or None."""
    from heron.datasets import CharDataset, TinyShakespeare

    if path is not None and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        boundary, vocab = int(len(text) * 0.9), sorted(set(text))
        return CharDataset(text[:boundary], block_size, vocab), CharDataset(text[boundary:], block_size, vocab)
    return (TinyShakespeare(path, block_size, split="train"), TinyShakespeare(path, block_size, split="val"))


@heron.no_grad()
def estimate_loss(model, splits, batch_size, eval_iters, seed):
    """Mean loss over ``eval_iters`` batches of each split; the same batches every time."""
    was_training = model.training
    model.eval()
    losses = {}
    for name, data in splits.items():
        generator = heron.Generator().manual_seed(seed)
        total = 0.0
        for _ in range(eval_iters):
            x, y = data.get_batch(batch_size, generator)
            total += model(x, y)[1].item()
        losses[name] = total / eval_iters
    model.train(was_training)
    return losses


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m heron.examples.tiny_gpt", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--data", default=None, help="Tiny Shakespeare's input.txt, or a directory holding it")
    add("--max-iters", type=int, default=5000, help="training steps in all (a resumed run continues to this)")
    add("--max-minutes", type=float, default=None, help="stop (with a final evaluation) after this many minutes")
    add("--batch-size", type=int, default=16)
    add("--block-size", type=int, default=128)
    add("--n-layer", type=int, default=4)
    add("--n-head", type=int, default=4)
    add("--n-embd", type=int, default=128)
    add("--dropout", type=float, default=0.0)
    add("--bias", action="store_true", help="biases in the Linear and LayerNorm layers")
    add("--lr", type=float, default=1e-3, help="peak learning rate")
    add("--min-lr", type=float, default=1e-4, help="learning rate at the end of the cosine decay")
    add("--warmup-iters", type=int, default=100)
    add("--lr-decay-iters", type=int, default=None, help="end of the cosine decay (default: --max-iters)")
    add("--weight-decay", type=float, default=0.1)
    add("--beta2", type=float, default=0.99)
    add("--grad-clip", type=float, default=1.0, help="clip the gradient norm to this (0: no clipping)")
    add("--eval-interval", type=int, default=250)
    add("--eval-iters", type=int, default=20)
    add("--log-interval", type=int, default=50)
    add_run_options(add, "tiny_gpt.safetensors", "checkpoint written at each evaluation")
    add("--top-k", type=int, default=40)
    return check_options(parser, parser.parse_args(argv), ("max_iters", "batch_size", "block_size", "n_layer", "n_head",
                                                           "n_embd", "eval_interval", "eval_iters", "log_interval",
                                                           "threads"))


class Trainer:
    """The model, optimizer, scheduler and batch generator, with checkpointing."""

    def __init__(self, args, vocab_size):
        self.args = args
        self.config = GPTConfig(vocab_size, args.block_size, args.n_layer, args.n_head, args.n_embd, args.dropout,
                                args.bias)
        self.model = GPT(self.config)
        self.optimizer = heron.optim.AdamW(self.model.optimizer_groups(args.weight_decay), lr=args.lr,
                                           betas=(0.9, args.beta2))
        decay_iters = args.lr_decay_iters or args.max_iters
        self.scheduler = heron.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, args.warmup_iters, decay_iters, args.min_lr / args.lr))
        self.batches = heron.Generator().manual_seed(args.seed)
        self.step = 0
        self.best_val_loss = math.inf

    def train_step(self, data):
        x, y = data.get_batch(self.args.batch_size, self.batches)
        _, loss = self.model(x, y)
        self.optimizer.zero_grad()
        loss.backward()
        if self.args.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return loss.item()

    def save(self, path):
        heron.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(), "step": self.step, "best_val_loss": self.best_val_loss,
                    "config": asdict(self.config), "batch_generator": self.batches.get_state(),
                    "rng": heron.get_rng_state()}, path)

    def load(self, path):
        state = heron.load(path)
        if state["config"] != asdict(self.config):
            raise SystemExit(f"--resume: {path} holds a model with {state['config']}, not {asdict(self.config)}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batches.set_state(state["batch_generator"])
        heron.set_rng_state(state["rng"])
        self.step, self.best_val_loss = state["step"], state["best_val_loss"]


def main(argv=None):
    """Trains, then samples; returns a summary dict (losses, steps, milliseconds per step)."""
    args = apply_run_options(parse_args(argv))
    train_data, val_data = load_splits(args.data, args.block_size)
    splits = {"train": train_data, "val": val_data}
    trainer = Trainer(args, train_data.vocab_size)
    if args.resume:
        trainer.load(args.resume)
    model = trainer.model
    print(f"heron {heron.__version__}: GPT with {model.num_parameters() / 1e6:.2f}M parameters (L{args.n_layer} "
          f"H{args.n_head} E{args.n_embd} T{args.block_size}), batch {args.batch_size}, vocabulary "
          f"{train_data.vocab_size}, {heron.get_num_threads()} thread(s); steps {trainer.step} -> {args.max_iters}",
          flush=True)

    history = {"eval": [], "train_loss": []}

    def evaluate():
        losses = estimate_loss(model, splits, args.batch_size, args.eval_iters, args.seed + 1)
        history["eval"].append((trainer.step, losses["train"], losses["val"]))
        print(f"step {trainer.step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}", flush=True)
        trainer.best_val_loss = min(trainer.best_val_loss, losses["val"])
        if args.checkpoint and trainer.step > 0:
            trainer.save(args.checkpoint)

    evaluate()
    progress = progress_bar(args.max_iters - trainer.step, "training", not args.no_progress)
    step_seconds, steps_timed, started = 0.0, 0, time.perf_counter()
    while trainer.step < args.max_iters:
        start = time.perf_counter()
        loss = trainer.train_step(train_data)
        seconds = time.perf_counter() - start
        if trainer.step > 1 or args.resume:  # the first step includes one-time costs
            step_seconds, steps_timed = step_seconds + seconds, steps_timed + 1
        history["train_loss"].append(loss)
        progress.update(1)
        progress.set_postfix_str(f"loss {loss:.4f}")
        if trainer.step % args.log_interval == 0:
            print(f"step {trainer.step}: loss {loss:.4f}, lr {trainer.scheduler.get_last_lr()[0]:.2e}, "
                  f"{1000 * step_seconds / max(steps_timed, 1):.1f} ms/step", flush=True)
        out_of_time = args.max_minutes is not None and time.perf_counter() - started > 60 * args.max_minutes
        if trainer.step % args.eval_interval == 0 or trainer.step == args.max_iters or out_of_time:
            evaluate()
        if out_of_time:
            print(f"stopping after {args.max_minutes} minutes", flush=True)
            break
    progress.close()
    ms_per_step = 1000 * step_seconds / max(steps_timed, 1)
    print(f"trained {trainer.step} steps, {ms_per_step:.1f} ms/step; best val loss {trainer.best_val_loss:.4f}")

    if args.sample_tokens:
        prompt = heron.tensor([train_data.encode(args.prompt)], dtype=heron.int64)
        ids = model.generate(prompt, args.sample_tokens, args.temperature, args.top_k,
                             generator=heron.Generator().manual_seed(args.seed))
        print("---- sample ----\n" + train_data.decode(ids[0].tolist()) + "\n----------------")
    return {"eval": history["eval"], "train_loss": history["train_loss"], "ms_per_step": ms_per_step,
            "steps": trainer.step, "best_val_loss": trainer.best_val_loss}


if __name__ == "__main__":
    main()
