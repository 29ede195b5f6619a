"""heron.datasets.CharDataset and TinyShakespeare: vocabulary, encode/decode, shifted blocks and
random batches."""
from __future__ import annotations

import os

import pytest

import heron
from heron.datasets import CharDataset, DatasetNotFoundError, TinyShakespeare

SHARED = "/work/shared/data"


def test_vocabulary_and_round_trip():
    ds = CharDataset("hello world", block_size=3)
    assert ds.vocab == [" ", "d", "e", "h", "l", "o", "r", "w"] and ds.vocab_size == 8
    assert ds.decode(ds.encode("low door")) == "low door"
    assert ds.decode(heron.tensor(ds.encode("hod"))) == "hod"


def test_items_are_blocks_and_their_next_characters():
    ds = CharDataset("abcdefg", block_size=3)
    assert len(ds) == 4
    x, y = ds[1]
    assert ds.decode(x) == "bcd" and ds.decode(y) == "cde" and x.dtype is heron.int64
    assert ds.decode(ds[-1][1]) == "efg"
    with pytest.raises(IndexError):
        ds[4]


def test_get_batch_is_seeded_and_shifted():
    ds = CharDataset("the quick brown fox jumps over the lazy dog", block_size=5)
    x, y = ds.get_batch(4, generator=heron.Generator().manual_seed(1))
    again, _ = ds.get_batch(4, generator=heron.Generator().manual_seed(1))
    assert x.shape == y.shape == (4, 5) and x.tolist() == again.tolist()
    for row_x, row_y in zip(x.tolist(), y.tolist()):
        assert row_x[1:] == row_y[:-1]
        assert ds.decode(row_x + row_y[-1:]) in "the quick brown fox jumps over the lazy dog"


def test_bad_input():
    ds = CharDataset("abc", block_size=1)
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        ds.encode("az")
    with pytest.raises(ValueError, match="too short"):
        CharDataset("ab", block_size=2)
    with pytest.raises(ValueError, match="block_size must be positive"):
        CharDataset("abc", block_size=0)
    with pytest.raises(ValueError, match="split must be"):
        TinyShakespeare(SHARED, split="test")


def test_tiny_shakespeare_from_a_small_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = "To be, or not to be: that is the question.\n"
    (tmp_path / "input.txt").write_text(text)
    train = TinyShakespeare(tmp_path, block_size=4, split="train", train_fraction=0.5, download=False)
    val = TinyShakespeare(tmp_path, block_size=4, split="val", train_fraction=0.5, download=False)
    assert train.vocab == val.vocab  # one vocabulary for both splits
    assert train.decode(train.data) + val.decode(val.data) == text
    with pytest.raises(DatasetNotFoundError, match="input.txt"):
        TinyShakespeare(tmp_path / "missing", download=False)


@pytest.mark.skipif(not os.path.isfile(os.path.join(SHARED, "tinyshakespeare", "input.txt")),
                    reason="Tiny Shakespeare not present")
def test_real_tiny_shakespeare():
    train = TinyShakespeare(SHARED, block_size=64, download=False)
    val = TinyShakespeare(os.path.join(SHARED, "tinyshakespeare"), block_size=64, split="val", download=False)
    assert train.vocab_size == 65
    assert train.decode(train.data[:14]) == "First Citizen:"
    assert len(train.data) + len(val.data) == 1115394
    assert len(train.data) == int(1115394 * 0.9)
