"""Train a character-level LSTM language model on Tiny Shakespeare with heron.

    python -m heron.examples.char_lstm [--data PATH] [--epochs 10] [--max-iters N] [--hidden 512]
                                       [--threads N] [--seed 0] [--checkpoint PATH] [--resume PATH]

char-rnn's model: an embedding of the characters, a 2-layer LSTM (512 hidden units by default)
and a Linear layer back to the vocabulary. The training text is cut into ``--batch-size``
contiguous streams read side by side in chunks of ``--seq-len`` characters; the LSTM's state
is carried from one chunk to the next, detached (truncated backpropagation through time), so
each stream is read as one long sequence while gradients span one chunk. Adam, gradient-norm
clipping. After each epoch it prints the validation loss in nats per character (the whole
validation text, read the same way) and saves a checkpoint (model, optimizer, the position in
the epoch, the carried state and the random-generator state, with ``heron.save``) that
``--resume`` (given the same options) continues from exactly. Log lines give the mean time of a
training step. At the end it samples text with ``--temperature``.

``--data`` is the ``input.txt`` file or a directory holding it (or a ``tinyshakespeare/``
sub-directory); by default $HERON_DATA or ~/.cache/heron is searched and the file downloaded
(checksum verified) when missing. The first 90% of the text is for training, the rest for
validation.
"""
from __future__ import annotations

import argparse
import math
import time

import heron
from heron import nn
from heron.examples._options import add_run_options, apply_run_options, check_options
from heron.examples.mnist import progress_bar
from heron.examples.tiny_gpt import load_splits
from heron.nn import functional as F


# ---------------------------------------------------------------------------- model
class CharLSTM(nn.Module):
    """Embedding -> LSTM (batch_first) -> Linear. ``forward(ids, state)`` returns the logits
    of the next character at every position and the LSTM's final (h, c)."""

    def __init__(self, vocab_size, embed=128, hidden=512, layers=2, dropout=0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, dropout=dropout, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embedding(ids), state)
        return self.head(out), state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @heron.no_grad()
    def sample(self, prompt_ids, length, temperature=1.0, generator=None):
        """``length`` ids drawn one at a time from softmax(logits / temperature), after
        reading ``prompt_ids`` (a list of ints)."""
        was_training = self.training
        self.eval()
        logits, state = self(heron.tensor([prompt_ids], dtype=heron.int64))
        drawn = []
        for _ in range(length):
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)
            next_id = int(heron.multinomial(probs, 1, generator=generator).item())
            drawn.append(next_id)
            logits, state = self(heron.tensor([[next_id]], dtype=heron.int64), state)
        self.train(was_training)
        return drawn


# ---------------------------------------------------------------------------- data
def streams(ids, batch_size):
    """The ids (N,) as ``batch_size`` contiguous streams (batch_size, N // batch_size)."""
    length = len(ids) // batch_size
    if length < 2:
        raise SystemExit(f"{len(ids)} characters are too few for {batch_size} streams")
    return ids[:batch_size * length].reshape(batch_size, length)


def num_chunks(data, seq_len):
    return -(-(data.shape[1] - 1) // seq_len)


def chunk(data, index, seq_len):
    """Inputs and next-character targets of chunk ``index`` (the last chunk may be shorter)."""
    start = index * seq_len
    length = min(seq_len, data.shape[1] - 1 - start)
    return data[:, start:start + length], data[:, start + 1:start + 1 + length]


def detached(state):
    return tuple(s.detach() for s in state)


@heron.no_grad()
def evaluate(model, data, seq_len):
    """Mean cross-entropy per character (nats) over all of ``data``'s streams, the state
    carried across chunks as in training."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for index in range(num_chunks(data, seq_len)):
        x, y = chunk(data, index, seq_len)
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / count


# ---------------------------------------------------------------------------- options
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m heron.examples.char_lstm", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--data", default=None, help="Tiny Shakespeare's input.txt, or a directory holding it")
    add("--epochs", type=int, default=10)
    add("--max-iters", type=int, default=None, help="stop after this many training steps in all")
    add("--max-minutes", type=float, default=None, help="stop (with a validation pass) after this many minutes")
    add("--batch-size", type=int, default=64, help="streams read side by side")
    add("--seq-len", type=int, default=100, help="characters per chunk (the truncation of backpropagation)")
    add("--embed", type=int, default=128)
    add("--hidden", type=int, default=512)
    add("--layers", type=int, default=2)
    add("--dropout", type=float, default=0.2, help="dropout between the LSTM layers")
    add("--lr", type=float, default=2e-3)
    add("--grad-clip", type=float, default=5.0, help="clip the gradient norm to this (0: no clipping)")
    add("--val-chars", type=int, default=None, help="validate on the first this many validation characters "
        "(default: all)")
    add("--log-interval", type=int, default=20)
    add_run_options(add, "char_lstm.safetensors", "checkpoint written after each epoch")
    return check_options(parser, parser.parse_args(argv), ("epochs", "max_iters", "batch_size", "seq_len", "embed",
                                                           "hidden", "layers", "val_chars", "log_interval", "threads"))


# ---------------------------------------------------------------------------- training
class Trainer:
    """The model and optimizer, the position in the run (epoch, chunk, carried state), one
    training step and checkpoints."""

    def __init__(self, args, vocab_size):
        self.args = args
        self.shape = {"vocab": vocab_size, "embed": args.embed, "hidden": args.hidden, "layers": args.layers}
        self.model = CharLSTM(vocab_size, args.embed, args.hidden, args.layers, args.dropout)
        self.optimizer = heron.optim.Adam(self.model.parameters(), lr=args.lr)
        self.step = self.epoch = self.next_chunk = 0
        self.state = None
        self.val_losses = []

    def train_step(self, data):
        x, y = chunk(data, self.next_chunk, self.args.seq_len)
        logits, state = self.model(x, self.state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        if self.args.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
        self.optimizer.step()
        self.state = detached(state)  # carried to the next chunk, without its graph
        self.step += 1
        self.next_chunk += 1
        return loss.item()

    def end_epoch(self):
        self.epoch += 1
        self.next_chunk, self.state = 0, None

    def save(self, path):
        heron.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                    "epoch": self.epoch, "next_chunk": self.next_chunk,
                    "state": None if self.state is None else list(self.state), "shape": self.shape,
                    "val_losses": self.val_losses, "rng": heron.get_rng_state()}, path)

    def load(self, path):
        saved = heron.load(path)
        if saved["shape"] != self.shape:
            raise SystemExit(f"--resume: {path} holds a model of shape {saved['shape']}, not {self.shape}")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        heron.set_rng_state(saved["rng"])
        self.step, self.epoch, self.next_chunk = saved["step"], saved["epoch"], saved["next_chunk"]
        self.state = None if saved["state"] is None else tuple(saved["state"])
        self.val_losses = list(saved["val_losses"])


def main(argv=None):
    """Trains, then samples; returns a summary dict (losses, steps, milliseconds per step)."""
    args = apply_run_options(parse_args(argv))
    train_text, val_text = load_splits(args.data, args.seq_len)
    train_data = streams(train_text.data, args.batch_size)
    val_data = streams(val_text.data[:args.val_chars], args.batch_size)
    trainer = Trainer(args, train_text.vocab_size)
    if args.resume:
        trainer.load(args.resume)
    chunks = num_chunks(train_data, args.seq_len)
    print(f"heron {heron.__version__}: char-LSTM with {trainer.model.num_parameters() / 1e6:.2f}M parameters "
          f"(embed {args.embed}, {args.layers} x LSTM {args.hidden}), {args.batch_size} streams x {args.seq_len} "
          f"characters per step, {chunks} steps per epoch, vocabulary {train_text.vocab_size}, "
          f"{heron.get_num_threads()} thread(s)", flush=True)

    train_losses = []
    step_seconds, steps_timed, started = 0.0, 0, time.perf_counter()
    stop = False
    while trainer.epoch < args.epochs and not stop:
        progress = progress_bar(chunks - trainer.next_chunk, f"epoch {trainer.epoch + 1}/{args.epochs}",
                                not args.no_progress)
        while trainer.next_chunk < chunks:
            start = time.perf_counter()
            loss = trainer.train_step(train_data)
            seconds = time.perf_counter() - start
            if steps_timed or train_losses:  # the first step of a run includes one-time costs
                step_seconds, steps_timed = step_seconds + seconds, steps_timed + 1
            train_losses.append(loss)
            progress.update(1)
            progress.set_postfix_str(f"loss {loss:.3f}")
            if trainer.step % args.log_interval == 0:
                print(f"step {trainer.step}: loss {loss:.4f}, {1000 * step_seconds / max(steps_timed, 1):.0f} ms/step",
                      flush=True)
            out_of_time = args.max_minutes is not None and time.perf_counter() - started > 60 * args.max_minutes
            if (args.max_iters is not None and trainer.step >= args.max_iters) or out_of_time:
                stop = True
                break
        progress.close()
        epoch_done = trainer.next_chunk >= chunks
        val_loss = evaluate(trainer.model, val_data, args.seq_len)
        trainer.val_losses.append(val_loss)
        where = f"epoch {trainer.epoch + 1}/{args.epochs}"
        if not epoch_done:
            where += f" (stopped at step {trainer.step})"
        print(f"{where}: validation loss {val_loss:.4f} nats/char ({val_loss / math.log(2):.3f} bits/char)",
              flush=True)
        if epoch_done:
            trainer.end_epoch()
        if args.checkpoint:
            trainer.save(args.checkpoint)
    ms_per_step = 1000 * step_seconds / max(steps_timed, 1)
    chars_per_second = args.batch_size * args.seq_len / (ms_per_step / 1000) if steps_timed else 0.0
    print(f"trained {trainer.step} steps, {ms_per_step:.0f} ms/step ({chars_per_second:,.0f} characters/s)")

    if args.sample_tokens:
        ids = trainer.model.sample(train_text.encode(args.prompt), args.sample_tokens, args.temperature,
                                   generator=heron.Generator().manual_seed(args.seed))
        print("---- sample ----\n" + args.prompt + train_text.decode(ids) + "\n----------------")
    return {"train_loss": train_losses, "val_loss": trainer.val_losses, "ms_per_step": ms_per_step,
            "steps": trainer.step}


if __name__ == "__main__":
    main()
