"""python -m heron.examples.cifar_resnet on synthetic images with a narrow ResNet-18: the loss
falls, the checkpoint has torchvision's parameter names, a resumed run continues exactly as an
uninterrupted one; CIFAR-10's python-pickle and binary batch files are read alike."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import heron
from heron.examples import cifar_resnet

# 512 synthetic training images in batches of 32: 16 steps per epoch.
SMALL = ["--synthetic", "--width", "4", "--batch-size", "32", "--lr", "0.05", "--eval-batch-size", "128",
         "--no-progress", "--threads", "1"]
STEPS_PER_EPOCH = 16


def test_a_synthetic_run_learns_and_saves_a_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / "resnet.safetensors"
    summary = cifar_resnet.main(SMALL + ["--epochs", "2", "--checkpoint", str(checkpoint)])
    output = capsys.readouterr().out
    losses = summary["train_loss"]
    assert summary["steps"] == len(losses) == 2 * STEPS_PER_EPOCH
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.5, losses  # from ln(10) ~ 2.3
    assert summary["test_accuracy"][-1] > 0.3  # chance is 0.1
    assert "epoch 2/2: loss" in output and "ms/step" in output and summary["ms_per_step"] > 0
    state = heron.load(checkpoint)
    assert state["epoch"] == 2 and state["step"] == 2 * STEPS_PER_EPOCH
    model = state["model"]
    for key in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.num_batches_tracked", "layer4.1.bn2.running_var", "fc.bias"):
        assert key in model, key
    assert "layer1.0.downsample.0.weight" not in model  # same shape in stage 1: identity shortcut
    assert model["layer4.1.conv2.weight"].shape == (32, 32, 3, 3) and model["fc.weight"].shape == (10, 32)


def test_resuming_from_a_checkpoint_continues_exactly(tmp_path):
    checkpoint = str(tmp_path / "resnet.safetensors")
    common = SMALL + ["--epochs", "2"]
    straight = cifar_resnet.main(common + ["--checkpoint", ""])
    cifar_resnet.main(common + ["--max-iters", str(STEPS_PER_EPOCH), "--checkpoint", checkpoint])
    resumed = cifar_resnet.main(common + ["--resume", checkpoint, "--checkpoint", ""])
    assert resumed["train_loss"] == straight["train_loss"][STEPS_PER_EPOCH:]
    assert resumed["test_accuracy"] == straight["test_accuracy"][1:]


def _write_batches(folder, images, labels, binary):
    """CIFAR-10's six batch files, each holding ``images`` and ``labels`` (shifted per file)."""
    folder.mkdir()
    for i, name in enumerate(cifar_resnet.TRAIN_BATCHES + [cifar_resnet.TEST_BATCH]):
        batch_labels = (labels + i) % 10
        if binary:
            records = np.concatenate([batch_labels[:, None].astype(np.uint8), images.reshape(len(labels), -1)], axis=1)
            records.tofile(folder / f"{name}.bin")
        else:
            with open(folder / name, "wb") as f:
                pickle.dump({b"data": images.reshape(len(labels), -1), b"labels": batch_labels.tolist()}, f)


@pytest.mark.parametrize("binary", [False, True], ids=["pickle", "binary"])
def test_both_batch_formats_load(tmp_path, binary):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=6)
    _write_batches(tmp_path / ("cifar-10-batches-bin" if binary else "cifar-10-batches-py"), images, labels, binary)
    (train_x, train_y), (test_x, test_y) = cifar_resnet.load_cifar10(str(tmp_path))
    assert train_x.shape == (30, 3, 32, 32) and train_x.dtype == np.uint8 and train_y.dtype == np.int64
    np.testing.assert_array_equal(train_x[6:12], images)
    np.testing.assert_array_equal(train_y[6:12], (labels + 1) % 10)
    np.testing.assert_array_equal(test_y, (labels + 5) % 10)


def test_augmentation_crops_and_flips_within_the_padding():
    images = np.arange(2 * 3 * 32 * 32, dtype=np.uint8).reshape(2, 3, 32, 32)
    out = cifar_resnet.augment(images, np.random.default_rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images, ((0, 0), (0, 0), (4, 4), (4, 4)))
    for i in range(2):  # each output is one of the padded image's 32 x 32 windows, maybe mirrored
        windows = [padded[i, :, t:t + 32, s:s + 32] for t in range(9) for s in range(9)]
        assert any(np.array_equal(out[i], w) or np.array_equal(out[i], w[:, :, ::-1]) for w in windows)


def test_bad_options_exit_with_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cifar_resnet.parse_args(["--width", "0", "--synthetic"])
    assert "--width must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cifar_resnet.parse_args([])
    assert "--data DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no CIFAR-10 batches"):
        cifar_resnet.load_cifar10(str(tmp_path))
