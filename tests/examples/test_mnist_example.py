"""The main job, python -m heron.examples.mnist, on a fraction of an epoch: it learns, prints
its report, and saves a checkpoint that heron.load (and torch, via safetensors) reads back."""
from __future__ import annotations

import os
import re

import pytest

import heron
from heron.examples import mnist

DATA = "/work/shared/data"
pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "mnist")), reason="MNIST files not present")


def _torch_threads():
    """torch's thread count (to restore after the run), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()


def _has_torch():
    return _torch_threads() is not None


def test_a_short_run_learns_and_saves_a_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / "lenet.safetensors"
    # One thread: quicker than two on a busy machine, and it checks --threads.
    args = ["--data", DATA, "--epochs", "1", "--limit-train-batches", "60", "--checkpoint", str(checkpoint),
            "--no-progress", "--threads", "1"]
    if _has_torch():
        args.append("--compare-torch")
    threads = heron.get_num_threads()
    torch_threads = _torch_threads()
    try:
        accuracy = mnist.main(args)
    finally:
        heron.set_num_threads(threads)
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)
    output = capsys.readouterr().out
    assert "1 thread(s)" in output

    assert accuracy > 0.8  # from 10% at the start, after 60 batches of 64 (about 85%)
    report = re.search(r"epoch 1/1  loss ([\d.]+)  test accuracy ([\d.]+)%  ([\d,]+) samples/s", output)
    assert report is not None, output
    if _has_torch():  # same weights, same batches: the same mean loss to printing precision
        torch_loss = float(re.search(r"torch: loss ([\d.]+)", output).group(1))
        assert abs(torch_loss - float(report.group(1))) < 2e-3
        assert "heron is" in output

    weights = heron.load(checkpoint)
    assert list(weights) == [f"{layer}.{name}" for layer in (0, 3, 7, 9, 11) for name in ("weight", "bias")]
    assert weights["0.weight"].shape == (6, 1, 5, 5) and weights["7.weight"].shape == (120, 400)


def test_bad_options_exit_with_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        mnist.parse_args(["--batch-size", "0"])
    assert "--batch-size must be a positive integer" in capsys.readouterr().err
