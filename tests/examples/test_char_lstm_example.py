"""python -m heron.examples.char_lstm on a few dozen steps of a small model: the loss falls, the
report and a sample are printed, the checkpoint holds the run's position, and a run resumed
from it (mid-epoch, with the carried LSTM state) continues exactly as an uninterrupted one."""
from __future__ import annotations

import os

import pytest

import heron
from heron.examples import char_lstm

TEXT = "/work/shared/data/tinyshakespeare/input.txt"
pytestmark = pytest.mark.skipif(not os.path.isfile(TEXT), reason="Tiny Shakespeare not present")
SMALL = ["--data", TEXT, "--embed", "16", "--hidden", "48", "--batch-size", "8", "--seq-len", "24", "--lr", "1e-2",
         "--val-chars", "2000", "--log-interval", "10", "--no-progress", "--threads", "1"]


def test_a_short_run_learns_and_samples(tmp_path, capsys):
    checkpoint = tmp_path / "char_lstm.safetensors"
    summary = char_lstm.main(SMALL + ["--max-iters", "40", "--checkpoint", str(checkpoint), "--sample-tokens", "20"])
    output = capsys.readouterr().out
    losses = summary["train_loss"]
    assert len(losses) == 40 and summary["steps"] == 40
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5, losses  # from ln(65) ~ 4.17 towards the frequencies
    assert summary["val_loss"][-1] < 3.6
    assert "ms/step" in output and "nats/char" in output and "---- sample ----" in output
    assert summary["ms_per_step"] > 0
    state = heron.load(checkpoint)
    assert state["step"] == 40 and state["epoch"] == 0 and state["next_chunk"] == 40
    assert state["model"]["lstm.weight_hh_l1"].shape == (4 * 48, 48)
    assert [s.shape for s in state["state"]] == [(2, 8, 48), (2, 8, 48)]


def test_resuming_mid_epoch_continues_exactly(tmp_path):
    checkpoint = str(tmp_path / "char_lstm.safetensors")
    common = SMALL + ["--sample-tokens", "0"]
    straight = char_lstm.main(common + ["--max-iters", "12", "--checkpoint", ""])
    char_lstm.main(common + ["--max-iters", "6", "--checkpoint", checkpoint])
    resumed = char_lstm.main(common + ["--max-iters", "12", "--resume", checkpoint, "--checkpoint", ""])
    assert resumed["train_loss"] == straight["train_loss"][6:]
    assert resumed["val_loss"][-1] == straight["val_loss"][-1]


def test_streams_and_chunks_cover_the_text_once():
    ids = heron.arange(103)
    data = char_lstm.streams(ids, 4)
    assert data.shape == (4, 25) and data[1, 0].item() == 25
    n = char_lstm.num_chunks(data, 10)
    pieces = [char_lstm.chunk(data, i, 10) for i in range(n)]
    assert [x.shape[1] for x, _ in pieces] == [10, 10, 4]
    x, y = pieces[-1]
    assert (y[:, :-1] == x[:, 1:]).all() and y[0, -1].item() == 24


def test_bad_options_exit_with_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        char_lstm.parse_args(["--hidden", "0"])
    assert "--hidden must be a positive integer" in capsys.readouterr().err
