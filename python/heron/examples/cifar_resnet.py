"""Train a ResNet-18 on CIFAR-10 with heron.

    python -m heron.examples.cifar_resnet --data DIR [--epochs 30] [--batch-size 128] [--lr 0.1]
                                          [--width 64] [--threads N] [--seed 0] [--checkpoint PATH]
                                          [--resume PATH] [--synthetic]

The CIFAR form of ResNet-18 (He et al., 2016): a 3x3 convolution stem without max pooling, four
stages of two BasicBlocks (3x3 conv, BatchNorm, ReLU, 3x3 conv, BatchNorm, plus the block's
input, through a 1x1 convolution and BatchNorm where the shape changes) of widths w, 2w, 4w, 8w
(w = --width, 64 by default: 11.2M parameters) at strides 1, 2, 2, 2, global average pooling
and a Linear classifier. Parameter names follow torchvision's ResNet (conv1, bn1, layer1.0.conv1,
layer2.0.downsample.0, ..., fc). SGD with Nesterov momentum and weight decay, the learning rate
cosine-annealed to zero over the run, step by step; training images are randomly cropped (after
4-pixel zero padding) and flipped left-right.

Each epoch prints the mean training loss and accuracy, the test accuracy and the time per step,
and saves a checkpoint (model, optimizer, scheduler, epoch, with ``heron.save``) that
``--resume`` (given the same options) continues from exactly: each epoch's shuffling and
augmentation are drawn from a generator seeded by (--seed, epoch). ``--max-iters`` may stop a
run inside an epoch, which is then evaluated but not saved.

``--data`` is a directory holding CIFAR-10's python-pickle batches (``cifar-10-batches-py/``:
data_batch_1 ... data_batch_5, test_batch) or its binary ones (``cifar-10-batches-bin/``:
data_batch_1.bin ..., test_batch.bin), or either of those folders itself. ``--synthetic`` trains
on generated images instead (each class a fixed random pattern plus noise), a quick smoke run.
"""
from __future__ import annotations

import argparse
import os
import pickle
import time

import numpy as np

import heron
from heron import nn
from heron.examples._options import add_training_options, apply_run_options, check_positive
from heron.examples.mnist import progress_bar
from heron.nn import functional as F

# Per-channel mean and standard deviation of CIFAR-10's training pixels (in [0, 1]).
CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)
NUM_CLASSES = 10
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"


# ---------------------------------------------------------------------------- model
class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut being the identity, or
    a strided 1x1 convolution and BatchNorm (``downsample``) when the shape changes."""

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet18(nn.Module):
    """The CIFAR ResNet-18: 3x3 stem, stages of widths (1, 2, 4, 8) x ``width``, average pool, fc."""

    def __init__(self, num_classes=NUM_CLASSES, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        widths = [width, 2 * width, 4 * width, 8 * width]
        self.layer1 = self._stage(width, widths[0], stride=1)
        self.layer2 = self._stage(widths[0], widths[1], stride=2)
        self.layer3 = self._stage(widths[1], widths[2], stride=2)
        self.layer4 = self._stage(widths[2], widths[3], stride=2)
        self.fc = nn.Linear(widths[3], num_classes)

    @staticmethod
    def _stage(in_channels, channels, stride):
        return nn.Sequential(BasicBlock(in_channels, channels, stride), BasicBlock(channels, channels))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))  # global average pooling

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ---------------------------------------------------------------------------- data
def _read_pickle_batch(path):
    # The official python batches are pickles (which can run code when loaded: use trusted files).
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    return np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(batch[b"labels"], np.int64)


def _read_binary_batch(path):
    """Records of one label byte then 3 x 32 x 32 pixel bytes."""
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, 1 + 3 * 32 * 32)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def find_batches(data_dir):
    """(folder, reader) of the CIFAR-10 batches in or under ``data_dir``."""
    for folder in [data_dir] + [os.path.join(data_dir, f"cifar-10-batches-{kind}") for kind in ("py", "bin")]:
        if os.path.isfile(os.path.join(folder, TRAIN_BATCHES[0])):
            return folder, lambda name: _read_pickle_batch(os.path.join(folder, name))
        if os.path.isfile(os.path.join(folder, TRAIN_BATCHES[0] + ".bin")):
            return folder, lambda name: _read_binary_batch(os.path.join(folder, name + ".bin"))
    raise SystemExit(f"--data {data_dir}: no CIFAR-10 batches found (data_batch_1 or data_batch_1.bin, in the folder "
                     "or in cifar-10-batches-py/ or cifar-10-batches-bin/)")


def load_cifar10(data_dir):
    """((train images, labels), (test images, labels)): uint8 (N, 3, 32, 32) and int64 (N,)."""
    _, read = find_batches(data_dir)
    train = [read(name) for name in TRAIN_BATCHES]
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])), read(TEST_BATCH)


def synthetic_cifar10(seed, train_size=512, test_size=256):
    """Images of CIFAR-10's shape whose class is a fixed random pattern of 8 x 8 colour blocks
    under as much noise: learnable in a few steps, for smoke runs without the dataset."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(NUM_CLASSES, 3, 4, 4))
    patterns = blocks.repeat(8, axis=2).repeat(8, axis=3)

    def split(size):
        labels = rng.integers(0, NUM_CLASSES, size=size)
        noise = rng.integers(0, 256, size=(size, 3, 32, 32))
        return ((patterns[labels] + noise) // 2).astype(np.uint8), labels.astype(np.int64)

    return split(train_size), split(test_size)


def normalize(images):
    """uint8 (N, 3, 32, 32) -> float32, standardised per channel."""
    return (images.astype(np.float32) / 255.0 - CIFAR_MEAN) / CIFAR_STD


def augment(images, rng, pad=4):
    """A random 32 x 32 crop of each image zero-padded by ``pad``, flipped left-right half the time."""
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    tops, lefts = rng.integers(0, 2 * pad + 1, size=n), rng.integers(0, 2 * pad + 1, size=n)
    flips = rng.random(n) < 0.5
    out = np.empty_like(images)
    for i in range(n):
        crop = padded[i, :, tops[i]:tops[i] + h, lefts[i]:lefts[i] + w]
        out[i] = crop[:, :, ::-1] if flips[i] else crop
    return out


def epoch_batches(num_samples, batch_size, rng):
    """One epoch's shuffled index batches (the last one may be smaller)."""
    order = rng.permutation(num_samples)
    return [order[i:i + batch_size] for i in range(0, num_samples, batch_size)]


# ---------------------------------------------------------------------------- options
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m heron.examples.cifar_resnet",
                                     description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--data", default=None, help="directory holding CIFAR-10's python or binary batches")
    add("--synthetic", action="store_true", help="train on generated images instead of CIFAR-10 (a smoke run)")
    add("--epochs", type=int, default=30)
    add("--max-iters", type=int, default=None, help="stop after this many training steps in all")
    add("--batch-size", type=int, default=128)
    add("--width", type=int, default=64, help="channels of the first stage (doubled at each later stage)")
    add("--lr", type=float, default=0.1, help="SGD's initial learning rate")
    add("--momentum", type=float, default=0.9)
    add("--weight-decay", type=float, default=5e-4)
    add("--eval-batch-size", type=int, default=500)
    add_training_options(add, "cifar_resnet18.safetensors", "checkpoint written after each epoch")
    args = check_positive(parser, parser.parse_args(argv),
                          ("epochs", "max_iters", "batch_size", "width", "eval_batch_size", "threads"))
    if not args.synthetic and args.data is None:
        parser.error("give --data DIR (CIFAR-10's batches) or --synthetic")
    return args


# ---------------------------------------------------------------------------- training
class Trainer:
    """The model, optimizer and scheduler, one epoch of training, evaluation and checkpoints."""

    def __init__(self, args, steps_per_epoch):
        self.args = args
        self.model = ResNet18(width=args.width)
        self.optimizer = heron.optim.SGD(self.model.parameters(), lr=args.lr, momentum=args.momentum,
                                         weight_decay=args.weight_decay, nesterov=args.momentum > 0)
        self.scheduler = heron.optim.lr_scheduler.CosineAnnealingLR(self.optimizer,
                                                                    T_max=args.epochs * steps_per_epoch)
        self.epoch = self.step = 0

    def train_step(self, images, labels):
        """One SGD step on a batch; returns (loss, number of correct predictions)."""
        logits = self.model(heron.from_numpy(images))
        loss = F.cross_entropy(logits, heron.from_numpy(labels))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return loss.item(), int((logits.argmax(dim=1) == heron.from_numpy(labels)).sum())

    def train_epoch(self, train, progress, max_steps):
        """One epoch (or ``max_steps`` steps of it); returns the per-step losses and the accuracy."""
        images, labels = train
        rng = np.random.default_rng((self.args.seed, self.epoch))  # the same draws when resumed
        self.model.train()
        losses, correct, seen = [], 0, 0
        for batch in epoch_batches(len(labels), self.args.batch_size, rng)[:max_steps]:
            loss, hits = self.train_step(normalize(augment(images[batch], rng)), labels[batch])
            losses.append(loss)
            correct, seen = correct + hits, seen + len(batch)
            progress.update(1)
            progress.set_postfix_str(f"loss {loss:.3f}")
        return losses, correct / max(seen, 1)

    @heron.no_grad()
    def accuracy(self, images, labels):
        self.model.eval()
        correct = 0
        for start in range(0, len(labels), self.args.eval_batch_size):
            logits = self.model(heron.from_numpy(normalize(images[start:start + self.args.eval_batch_size])))
            correct += int((logits.argmax(dim=1) == heron.from_numpy(labels[start:start + len(logits)])).sum())
        return correct / len(labels)

    def save(self, path):
        heron.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(), "epoch": self.epoch, "step": self.step,
                    "width": self.args.width}, path)

    def load(self, path):
        saved = heron.load(path)
        if saved["width"] != self.args.width:
            raise SystemExit(f"--resume: {path} holds a model of width {saved['width']}, not {self.args.width}")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.epoch, self.step = saved["epoch"], saved["step"]


def main(argv=None):
    """Trains and evaluates; returns a summary dict (per-step losses, test accuracies, ms per step)."""
    args = apply_run_options(parse_args(argv))
    train, test = synthetic_cifar10(args.seed) if args.synthetic else load_cifar10(args.data)
    steps_per_epoch = -(-len(train[1]) // args.batch_size)
    trainer = Trainer(args, steps_per_epoch)
    if args.resume:
        trainer.load(args.resume)
    print(f"heron {heron.__version__}: ResNet-18 (width {args.width}, {trainer.model.num_parameters() / 1e6:.2f}M "
          f"parameters) on {'synthetic images' if args.synthetic else 'CIFAR-10'}, {len(train[1])} training images, "
          f"SGD lr {args.lr} (cosine), batch {args.batch_size}, {heron.get_num_threads()} thread(s)", flush=True)

    losses, test_accuracies, seconds = [], [], 0.0
    while trainer.epoch < args.epochs:
        steps = steps_per_epoch if args.max_iters is None else min(steps_per_epoch, args.max_iters - trainer.step)
        if steps <= 0:
            break
        where = f"epoch {trainer.epoch + 1}/{args.epochs}"
        progress = progress_bar(steps, where, not args.no_progress)
        start = time.perf_counter()
        epoch_losses, train_accuracy = trainer.train_epoch(train, progress, steps)
        seconds += time.perf_counter() - start
        progress.close()
        losses += epoch_losses
        test_accuracies.append(trainer.accuracy(*test))
        complete = steps == steps_per_epoch
        if not complete:
            where += f" (stopped at step {trainer.step})"
        print(f"{where}: loss {np.mean(epoch_losses):.4f}, train accuracy {100 * train_accuracy:.2f}%, test accuracy "
              f"{100 * test_accuracies[-1]:.2f}%, {1000 * seconds / len(losses):.0f} ms/step", flush=True)
        if complete:  # checkpoints hold whole epochs: a resumed run starts the next one
            trainer.epoch += 1
            if args.checkpoint:
                trainer.save(args.checkpoint)
    ms_per_step = 1000 * seconds / max(len(losses), 1)
    return {"train_loss": losses, "test_accuracy": test_accuracies, "ms_per_step": ms_per_step, "steps": trainer.step}


if __name__ == "__main__":
    main()
