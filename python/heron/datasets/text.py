"""Character-level text datasets: a vocabulary over characters and (input, next-character
target) blocks, as used to train small language models on Tiny Shakespeare."""
from __future__ import annotations

import numpy as np

import heron
from heron.utils.data import Dataset

from . import _files


class CharDataset(Dataset):
    """Blocks of ``block_size`` character ids from ``text``.

    Item ``i`` is ``(x, y)``: int64 tensors ``ids[i : i + block_size]`` and the same block
    shifted by one character. ``vocab`` (default: the sorted characters of ``text``) fixes
    the id of each character; ``encode``/``decode`` convert between strings and ids.
    """

    def __init__(self, text: str, block_size: int, vocab=None):
        if block_size < 1:
            raise ValueError(f"block_size must be positive, got {block_size}")
        self.vocab = sorted(set(text)) if vocab is None else list(vocab)
        self.stoi = {ch: i for i, ch in enumerate(self.vocab)}
        self.itos = dict(enumerate(self.vocab))
        self.block_size = block_size
        self.data = heron.from_numpy(np.array(self.encode(text), dtype=np.int64))
        if len(self.data) <= block_size:
            raise ValueError(f"text of {len(self.data)} characters is too short for blocks of {block_size} "
                             "characters plus a target")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        if isinstance(ids, heron.Tensor):
            ids = ids.tolist()
        return "".join(self.itos[int(i)] for i in ids)

    def __len__(self) -> int:
        return len(self.data) - self.block_size

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} blocks")
        block = self.data[index:index + self.block_size + 1]
        return block[:-1], block[1:]

    def get_batch(self, batch_size: int, generator=None):
        """``batch_size`` blocks at random offsets: int64 tensors ``x`` and ``y`` of shape
        (batch_size, block_size), drawn from ``generator`` (heron's default one if None)."""
        starts = heron.randint(0, len(self), (batch_size,), generator=generator)
        positions = starts.unsqueeze(1) + heron.arange(self.block_size).unsqueeze(0)
        return self.data[positions], self.data[positions + 1]


class TinyShakespeare(CharDataset):
    """Tiny Shakespeare (1.1M characters, 65 distinct), split into the first ``train_fraction``
    of the text (``split="train"``) and the rest (``split="val"``), with the vocabulary of the
    whole text. ``input.txt`` is read from ``root`` (or ``$HERON_DATA``), its
    ``tinyshakespeare/`` sub-directory or ``~/.cache/heron/tinyshakespeare``, and downloaded
    there (checksum verified) when missing and ``download`` is true."""

    mirrors = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"]
    sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

    def __init__(self, root=None, block_size: int = 128, split: str = "train", train_fraction: float = 0.9,
                 download: bool = True):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        path = _files.locate_or_download("TinyShakespeare", root, ["tinyshakespeare"], "input.txt", [], self.mirrors,
                                         download_allowed=download, sha256=self.sha256)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        boundary = int(len(text) * train_fraction)
        self.split = split
        super().__init__(text[:boundary] if split == "train" else text[boundary:], block_size,
                         vocab=sorted(set(text)))
