"""python -m heron.examples.tiny_gpt on a few dozen steps of a small model: the loss falls, the
report and sample are printed, and a run resumed from a checkpoint continues exactly as an
uninterrupted one. Uses Tiny Shakespeare from ../shared/data when present, else synthetic text."""
from __future__ import annotations

from pathlib import Path

import pytest

import heron
from heron.examples import tiny_gpt

SHARED_TEXT = Path(__file__).resolve().parents[3] / "shared" / "data" / "tinyshakespeare" / "input.txt"
SMALL = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "8",
         "--lr", "1e-2", "--warmup-iters", "5", "--eval-iters", "2", "--log-interval", "10", "--no-progress",
         "--threads", "1"]


@pytest.fixture
def text_file(tmp_path):
    if SHARED_TEXT.is_file():
        return str(SHARED_TEXT)
    path = tmp_path / "input.txt"
    lines = ["First Citizen:\nBefore we proceed any further, hear me speak.\n",
             "All:\nSpeak, speak.\n", "First Citizen:\nYou are all resolved rather to die than to famish?\n"]
    path.write_text("".join(lines[i % 3] for i in range(400)), encoding="utf-8")
    return str(path)


def test_a_short_run_learns_and_samples(text_file, tmp_path, capsys):
    checkpoint = tmp_path / "gpt.safetensors"
    summary = tiny_gpt.main(["--data", text_file, "--max-iters", "40", "--eval-interval", "40", "--checkpoint",
                             str(checkpoint), "--sample-tokens", "20"] + SMALL)
    output = capsys.readouterr().out
    (_, _, val_before), (_, _, val_after) = summary["eval"][0], summary["eval"][-1]
    assert val_after < val_before - 0.5, output  # from ln(vocab) ~ 4.2 towards the character frequencies
    assert sum(summary["train_loss"][-5:]) < sum(summary["train_loss"][:5]) - 2.5
    assert "ms/step" in output and "---- sample ----" in output and summary["ms_per_step"] > 0
    state = heron.load(checkpoint)
    assert state["step"] == 40 and "lm_head.weight" in state["model"]
    assert state["model"]["lm_head.weight"].shape == state["model"]["transformer.wte.weight"].shape


def test_resuming_from_a_checkpoint_continues_exactly(text_file, tmp_path):
    checkpoint = str(tmp_path / "gpt.safetensors")
    common = ["--data", text_file, "--eval-interval", "6", "--sample-tokens", "0"] + SMALL
    straight = tiny_gpt.main(common + ["--max-iters", "12", "--checkpoint", ""])
    tiny_gpt.main(common + ["--max-iters", "6", "--lr-decay-iters", "12", "--checkpoint", checkpoint])
    resumed = tiny_gpt.main(common + ["--max-iters", "12", "--resume", checkpoint, "--checkpoint", ""])
    assert resumed["train_loss"] == straight["train_loss"][6:]
    assert resumed["eval"][-1] == straight["eval"][-1]


def test_weight_decay_groups_and_tied_weights():
    model = tiny_gpt.GPT(tiny_gpt.GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8, bias=True))
    assert model.lm_head.weight is model.transformer.wte.weight
    decay, no_decay = model.optimizer_groups(0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in decay["params"]) == [
        "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight", "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight"]
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    assert no_decay["weight_decay"] == 0.0 and all(not n.endswith("c_attn.weight") for n in
                                                   (names[id(p)] for p in no_decay["params"]))


def test_lr_schedule_warms_up_then_decays():
    factors = [tiny_gpt.lr_factor(s, 10, 100, 0.1) for s in range(120)]
    assert factors[0] < factors[9] < 1.0 and max(factors) <= 1.0
    assert factors[10] == pytest.approx(1.0) and factors[55] == pytest.approx(0.55)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:])) and factors[-1] == pytest.approx(0.1)


def test_bad_options_exit_with_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        tiny_gpt.parse_args(["--n-layer", "0"])
    assert "--n-layer must be a positive integer" in capsys.readouterr().err
