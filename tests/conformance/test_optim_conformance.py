"""Optimizers and learning-rate schedulers against real torch: the same initial parameters and
gradient sequence give the same trajectories (20 steps, several option combinations per
optimizer), the same state_dict layout, and the same lr sequences. Skipped without torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron
import heron.optim as optim
from heron.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 20
# Relative rounding differences (fused multiply-adds in torch's kernels) stay at this level.
TOLERANCE = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}

OPTIMIZER_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.5))),  # beta1 < 0.5: torch's other lerp branch
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
]


def _case_id(case):
    name, options = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in options.items()) or "defaults")


def _to_torch(value):
    return torch.from_numpy(np.array(value.detach().numpy())) if isinstance(value, heron.Tensor) else value


def _initial_params(rng, dtype):
    return [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]


def _pair(name, options, rng, dtype):
    """The same optimizer over the same parameters in heron and torch (two parameter groups,
    the second with half the learning rate)."""
    values = _initial_params(rng, dtype)
    heron_params = [heron.tensor(v, requires_grad=True) for v in values]
    torch_params = [torch.tensor(v, requires_grad=True) for v in values]
    lr = options.get("lr", getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults["lr"])
    heron_groups = [{"params": heron_params[:1]}, {"params": heron_params[1:], "lr": lr / 2}]
    torch_groups = [{"params": torch_params[:1]}, {"params": torch_params[1:], "lr": lr / 2}]
    return (getattr(optim, name)(heron_groups, foreach=False, **options), heron_params,
            getattr(torch.optim, name)(torch_groups, foreach=False, **options), torch_params)


def _assert_state_matches(heron_opt, torch_opt, tolerance):
    heron_sd, torch_sd = heron_opt.state_dict(), torch_opt.state_dict()
    assert heron_sd["state"].keys() == torch_sd["state"].keys()
    for index, torch_state in torch_sd["state"].items():
        heron_state = heron_sd["state"][index]
        assert list(heron_state) == list(torch_state)
        for key, expected in torch_state.items():
            got = heron_state[key]
            assert tuple(got.shape) == tuple(expected.shape), key
            assert got.dtype._name == str(expected.dtype).removeprefix("torch."), key
            np.testing.assert_allclose(got.numpy(), expected.numpy(), **tolerance, err_msg=key)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=_case_id)
def test_trajectory_and_state_match_torch(case, dtype, rng):
    name, options = case
    heron_opt, heron_params, torch_opt, torch_params = _pair(name, options, rng, dtype)
    tolerance = TOLERANCE[dtype]
    for step in range(STEPS):
        for hp, tp in zip(heron_params, torch_params):
            grad = rng.standard_normal(hp.shape).astype(dtype)
            hp.grad, tp.grad = heron.tensor(grad), torch.tensor(grad)
        if step == 7:  # a parameter without gradient is skipped by both
            heron_params[1].grad = torch_params[1].grad = None
        heron_opt.step()
        torch_opt.step()
        for hp, tp in zip(heron_params, torch_params):
            np.testing.assert_allclose(hp.detach().numpy(), tp.detach().numpy(), **tolerance,
                                       err_msg=f"{name} step {step}")
    _assert_state_matches(heron_opt, torch_opt, tolerance)


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=_case_id)
def test_state_dict_layout_matches_torch(case, rng):
    name, options = case
    heron_opt, heron_params, torch_opt, torch_params = _pair(name, options, rng, "float32")
    for hp, tp in zip(heron_params, torch_params):
        grad = rng.standard_normal(hp.shape).astype("float32")
        hp.grad, tp.grad = heron.tensor(grad), torch.tensor(grad)
    heron_opt.step()
    torch_opt.step()
    heron_sd, torch_sd = heron_opt.state_dict(), torch_opt.state_dict()
    assert list(heron_sd) == list(torch_sd) == ["state", "param_groups"]
    assert heron_sd["param_groups"] == torch_sd["param_groups"]  # same keys, order, values, param indices
    assert repr(heron_opt) == repr(torch_opt)


@pytest.mark.parametrize("case", [c for c in OPTIMIZER_CASES if c[0] != "SGD" or "momentum" in c[1]], ids=_case_id)
def test_resuming_from_a_torch_state_dict_continues_torch_trajectory(case, rng):
    name, options = case
    heron_opt, heron_params, torch_opt, torch_params = _pair(name, options, rng, "float64")
    grads = [[rng.standard_normal(p.shape) for p in heron_params] for _ in range(6)]
    for step_grads in grads[:3]:
        for tp, g in zip(torch_params, step_grads):
            tp.grad = torch.tensor(g)
        torch_opt.step()
    # Move torch's parameters and optimizer state over to heron, then continue both.
    with heron.no_grad():
        for hp, tp in zip(heron_params, torch_params):
            hp.copy_(heron.tensor(tp.detach().numpy()))
    torch_sd = torch_opt.state_dict()
    heron_opt.load_state_dict({"state": {i: {k: heron.tensor(v.numpy()) for k, v in s.items()}
                                         for i, s in torch_sd["state"].items()},
                               "param_groups": torch_sd["param_groups"]})
    for step_grads in grads[3:]:
        for hp, tp, g in zip(heron_params, torch_params, step_grads):
            hp.grad, tp.grad = heron.tensor(g), torch.tensor(g)
        heron_opt.step()
        torch_opt.step()
    for hp, tp in zip(heron_params, torch_params):
        np.testing.assert_allclose(hp.detach().numpy(), tp.detach().numpy(), **TOLERANCE["float64"])


def test_default_arguments_match_torch():
    import inspect

    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"):
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        assert list(ours) == list(theirs), name
        for parameter in theirs.values():
            assert ours[parameter.name].default == parameter.default, (name, parameter.name)
            assert ours[parameter.name].kind == parameter.kind, (name, parameter.name)


# ---------------------------------------------------------------------------- schedulers
def _scheduler_pair(make, optimizer_name="SGD", options=None, groups=2):
    """``make(module, optimizer)`` applied to equivalent heron and torch optimizers."""
    options = options or dict(lr=0.1, momentum=0.9)

    def build(lib, opt_module):
        params = [lib.zeros(2, requires_grad=True) for _ in range(groups)]
        group_list = [{"params": [p], "lr": options["lr"] * (i + 1)} for i, p in enumerate(params)]
        return getattr(opt_module, optimizer_name)(group_list, **options)

    heron_opt, torch_opt = build(heron, optim), build(torch, torch.optim)
    return heron_opt, make(lr_scheduler, heron_opt), torch_opt, make(torch.optim.lr_scheduler, torch_opt)


SCHEDULER_CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda epoch: 1.0 / (1 + epoch)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 0.9 ** e, lambda e: 1 + e]),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=25),
    "OneCycleLR-three-phase-linear": lambda m, o: m.OneCycleLR(o, max_lr=0.5, epochs=5, steps_per_epoch=5,
                                                               anneal_strategy="linear", three_phase=True,
                                                               pct_start=0.2),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4),
                                                    m.ExponentialLR(o, gamma=0.8),
                                                    m.CosineAnnealingLR(o, T_max=5)], milestones=[4, 10]),
}


def _lrs_and_momenta(opt):
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


@pytest.mark.parametrize("name", SCHEDULER_CASES)
def test_scheduler_lr_sequence_matches_torch(name):
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(SCHEDULER_CASES[name])
    for step in range(25):
        np.testing.assert_allclose(heron_sched.get_last_lr(), torch_sched.get_last_lr(), rtol=1e-13,
                                   err_msg=f"{name} step {step}")
        np.testing.assert_allclose(np.array(_lrs_and_momenta(heron_opt), dtype=float),
                                   np.array(_lrs_and_momenta(torch_opt), dtype=float), rtol=1e-13)
        heron_opt.step()
        torch_opt.step()
        heron_sched.step()
        torch_sched.step()


def test_one_cycle_cycles_adams_beta1_like_torch():
    make = SCHEDULER_CASES["OneCycleLR"]
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(make, "Adam", dict(lr=1e-3))
    for _ in range(20):
        heron_betas = [beta for g in heron_opt.param_groups for beta in g["betas"]]
        torch_betas = [beta for g in torch_opt.param_groups for beta in g["betas"]]
        assert heron_betas == pytest.approx(torch_betas, rel=1e-13)
        heron_opt.step()
        torch_opt.step()
        heron_sched.step()
        torch_sched.step()


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_closed_form_step_with_epoch_matches_torch(name):
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(SCHEDULER_CASES[name])
    for epoch in (4, 9, 2):
        with pytest.warns(UserWarning):
            heron_sched.step(epoch)
        with pytest.warns(UserWarning):
            torch_sched.step(epoch)
        np.testing.assert_allclose(heron_sched.get_last_lr(), torch_sched.get_last_lr(), rtol=1e-13)


@pytest.mark.parametrize("options", [dict(), dict(mode="max", factor=0.5, patience=2, threshold=0.1,
                                                   threshold_mode="abs", cooldown=2, min_lr=[0.02, 0.01])])
def test_reduce_lr_on_plateau_matches_torch(options):
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(
        lambda m, o: m.ReduceLROnPlateau(o, **options))
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.94, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.9, 1.2, 1.19] * 3
    for metric in metrics:
        heron_sched.step(metric)
        torch_sched.step(metric)
        assert heron_sched.get_last_lr() == pytest.approx(torch_sched.get_last_lr(), rel=1e-13)
        assert heron_sched.num_bad_epochs == torch_sched.num_bad_epochs


@pytest.mark.parametrize("name", SCHEDULER_CASES)
def test_scheduler_state_dict_keys_match_torch(name):
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(SCHEDULER_CASES[name])
    heron_opt.step()
    heron_sched.step()
    torch_opt.step()
    torch_sched.step()
    heron_keys = {k for k in heron_sched.state_dict() if not k.startswith("_") or k in ("_last_lr", "_step_count")}
    torch_keys = {k for k in torch_sched.state_dict() if not k.startswith("_") or k in ("_last_lr", "_step_count")}
    assert heron_keys == torch_keys
    assert heron_sched.state_dict()["last_epoch"] == torch_sched.state_dict()["last_epoch"]
    # Scheduler options saved in the parameter groups (initial_lr, OneCycleLR's max_lr, ...) match too.
    assert [set(g) - {"params"} for g in heron_opt.state_dict()["param_groups"]] == \
           [set(g) - {"params"} for g in torch_opt.state_dict()["param_groups"]]


def test_scheduler_warns_when_stepped_before_optimizer_like_torch():
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(SCHEDULER_CASES["StepLR"])
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        heron_sched.step()
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        torch_sched.step()


def test_cosine_annealing_is_finite_over_many_periods():
    heron_opt, heron_sched, torch_opt, torch_sched = _scheduler_pair(SCHEDULER_CASES["CosineAnnealingLR"])
    for _ in range(60):
        heron_opt.step()
        torch_opt.step()
        heron_sched.step()
        torch_sched.step()
    assert all(math.isfinite(lr) for lr in heron_sched.get_last_lr())
    np.testing.assert_allclose(heron_sched.get_last_lr(), torch_sched.get_last_lr(), rtol=1e-10)
