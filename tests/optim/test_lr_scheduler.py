"""heron.optim.lr_scheduler without torch: step semantics, state_dict round trips and argument
validation (the torch comparison lives in tests/conformance/test_optim_conformance.py)."""
from __future__ import annotations

import pytest

import heron
from heron.optim import SGD, Adam, lr_scheduler


def _optimizer(lr=1.0, groups=1):
    return SGD([{"params": [heron.zeros(1, requires_grad=True)]} for _ in range(groups)], lr=lr, momentum=0.9)


def _run(scheduler, optimizer, epochs):
    lrs = []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return lrs


def test_step_lr_sequence_and_initial_lr():
    opt = _optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 1.0 and sched.last_epoch == 0
    assert _run(sched, opt, 6) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_linear_warmup_then_cosine_with_sequential_lr():
    opt = _optimizer()
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    sched = lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[2])
    assert _run(sched, opt, 5) == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.0], abs=1e-12)


def test_one_cycle_starts_low_peaks_at_max_lr_and_ends_near_zero():
    opt = _optimizer()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=2.0, total_steps=10, pct_start=0.3)
    lrs = _run(sched, opt, 10)
    assert lrs[0] == pytest.approx(2.0 / 25) and max(lrs) == pytest.approx(2.0) and lrs[-1] < 1e-3
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        sched.step()


def test_reduce_lr_on_plateau_waits_for_patience():
    opt = _optimizer()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for metric in (1.0, 1.0, 1.0, 1.0, 1.0):
        sched.step(metric)
    assert sched.get_last_lr() == [0.25]


def test_state_dict_round_trip_continues_the_schedule():
    opt = _optimizer()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    _run(sched, opt, 2)
    saved = sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 2

    opt2 = _optimizer()
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    resumed = lr_scheduler.MultiStepLR(opt2, milestones=[7], gamma=0.5)
    resumed.load_state_dict(saved)
    assert _run(resumed, opt2, 3) == _run(sched, opt, 3)


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = _optimizer(groups=2)
    sched = lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda epoch: 1.0])
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(_optimizer(groups=2), [Decay(0.9), lambda epoch: 1.0])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].rate == 0.5


def test_one_cycle_cycles_momentum_or_beta1():
    sgd = _optimizer()
    lr_scheduler.OneCycleLR(sgd, max_lr=1.0, total_steps=10)
    assert sgd.param_groups[0]["momentum"] == pytest.approx(0.95)
    adam = Adam([heron.zeros(1, requires_grad=True)])
    lr_scheduler.OneCycleLR(adam, max_lr=1.0, total_steps=10, base_momentum=0.8, max_momentum=0.9)
    assert adam.param_groups[0]["betas"] == pytest.approx((0.9, 0.999))


# ---------------------------------------------------------------------------- bad input
def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau(object())


def test_resuming_without_initial_lr_raises_key_error():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(_optimizer(), gamma=0.9, last_epoch=3)


@pytest.mark.parametrize("make, message", [
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), "Starting multiplicative factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), "Ending multiplicative factor"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), "Expected 1 lr_lambdas, but got 2"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), "You must define either total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=0), "Expected positive integer total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, epochs=-1, steps_per_epoch=2), "positive integer epochs"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=2.0), "pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="exp"), "anneal_strategy"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=5), "max_lr must have the same length"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "Factor should be < 1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), "mode up is unknown"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="ratio"), "threshold mode ratio is unknown"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "expected 1 min_lrs, got 2"),
    (lambda o: lr_scheduler.SequentialLR(o, [], milestones=[]), "at least one scheduler"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 1)], milestones=[3]),
     "one more than the number of milestone"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], milestones=[]),
     "does not support `ReduceLROnPlateau`"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(_optimizer(), 1)], milestones=[]),
     "belong to the same optimizer"),
])
def test_invalid_scheduler_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make(_optimizer())


def test_one_cycle_without_momentum_raises():
    from heron.optim import Adagrad

    with pytest.raises(ValueError, match="optimizer must support momentum"):
        lr_scheduler.OneCycleLR(Adagrad([heron.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=4)
