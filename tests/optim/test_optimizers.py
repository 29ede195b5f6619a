"""heron.optim without torch: the Optimizer base (parameter groups, zero_grad, state_dict,
closures), each optimizer minimising a quadratic, argument validation, and the functional
update seam."""
from __future__ import annotations

import numpy as np
import pytest

import heron
import heron.optim as optim
from heron.optim import _functional

ALL_OPTIMIZERS = {
    "SGD": dict(lr=0.1, momentum=0.9),
    "Adam": dict(lr=0.1),
    "AdamW": dict(lr=0.1),
    "RMSprop": dict(lr=0.05),
    "Adagrad": dict(lr=0.5),
    "Adadelta": dict(lr=1.0, eps=1e-2),
}


def _param(*values):
    return heron.tensor(list(values), requires_grad=True)


def _quadratic_loss(p):
    return ((p - 3.0) ** 2).sum()


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_minimises_a_quadratic(name):
    p = _param(0.0, 10.0, -4.0)
    opt = getattr(optim, name)([p], **ALL_OPTIMIZERS[name])
    start = float(_quadratic_loss(p))
    for _ in range(100):
        opt.zero_grad()
        _quadratic_loss(p).backward()
        opt.step()
    assert float(_quadratic_loss(p)) < 0.05 * start
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_step_records_no_graph_and_skips_params_without_grad(name):
    p, untouched = _param(1.0, 2.0), _param(5.0)
    opt = getattr(optim, name)([p, untouched], **ALL_OPTIMIZERS[name])
    _quadratic_loss(p).backward()
    opt.step()
    assert p.grad_fn is None
    assert untouched.tolist() == [5.0]
    assert untouched not in opt.state or name == "Adagrad"  # Adagrad creates all state up front


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_closure_is_evaluated_with_grad_enabled(name):
    p = _param(1.0, -1.0)
    opt = getattr(optim, name)([p], **ALL_OPTIMIZERS[name])

    def closure():
        opt.zero_grad()
        loss = _quadratic_loss(p)
        loss.backward()
        return loss

    with heron.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(4.0 + 16.0)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_state_dict_round_trip_resumes_identically(name, tmp_path):
    options = ALL_OPTIMIZERS[name]

    def run(opt, p, steps):
        for _ in range(steps):
            opt.zero_grad()
            _quadratic_loss(p).backward()
            opt.step()

    p = _param(0.5, 7.0)
    opt = getattr(optim, name)([p], **options)
    run(opt, p, 3)
    # state_dict() holds live references (as torch's does): save a snapshot to disk.
    heron.save({"optimizer": opt.state_dict(), "param": p}, tmp_path / "checkpoint.safetensors")
    run(opt, p, 4)
    saved = heron.load(tmp_path / "checkpoint.safetensors")
    saved_p = saved["param"]

    q = heron.tensor(saved_p.tolist(), requires_grad=True)
    resumed = getattr(optim, name)([q], **options)
    resumed.load_state_dict(saved["optimizer"])
    before = {k: v.clone() for k, v in saved["optimizer"]["state"][0].items()}
    run(resumed, q, 4)
    assert q.tolist() == p.tolist()
    # The loaded state is a copy: stepping the resumed optimizer left the loaded dict alone.
    assert all(heron.equal(before[k], v) for k, v in saved["optimizer"]["state"][0].items())


def test_param_groups_take_defaults_and_their_own_options():
    a, b = _param(1.0), _param(2.0)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    c = _param(3.0)
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["lr"] == 0.01 and opt.param_groups[2]["nesterov"] is False
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1], [2]]


def test_named_parameters_are_accepted():
    a, b = _param(1.0), _param(2.0)
    opt = optim.Adam([("a", a), ("b", b)])
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]


def test_zero_grad_sets_to_none_or_zeros():
    p = _param(1.0, 2.0)
    opt = optim.SGD([p], lr=0.1)
    _quadratic_loss(p).backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_state_is_cast_to_the_parameter_dtype_on_load():
    p = heron.tensor([1.0, 2.0], dtype=heron.float64, requires_grad=True)
    opt = optim.Adam([p])
    opt.load_state_dict({"state": {0: {"step": heron.tensor(2.0), "exp_avg": heron.ones(2),
                                        "exp_avg_sq": heron.ones(2)}},
                         "param_groups": [dict(opt.state_dict()["param_groups"][0])]})
    state = opt.state[p]
    assert state["exp_avg"].dtype is heron.float64
    assert state["step"].dtype is heron.float32


def test_functional_seam_creates_sgd_momentum_buffers():
    p = heron.tensor([1.0, 1.0])
    buffers = [None]
    _functional.sgd_update([p], [heron.tensor([0.5, -0.5])], buffers, lr=0.1, momentum=0.9, dampening=0.0,
                           weight_decay=0.0, nesterov=False, maximize=False)
    assert buffers[0].tolist() == [0.5, -0.5]
    assert p.tolist() == pytest.approx([0.95, 1.05])


def test_functional_seam_advances_step_counters():
    p, g = heron.zeros(3), heron.ones(3)
    steps = [heron.tensor(4.0)]
    _functional.adam_update([p], [g], [heron.zeros(3)], [heron.zeros(3)], [], steps, lr=0.1, beta1=0.9, beta2=0.999,
                            eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False)
    assert steps[0].item() == 5.0
    assert np.all(p.numpy() < 0)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name, options, message", [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(momentum=-1.0), "Invalid momentum value"),
    ("SGD", dict(weight_decay=-1.0), "Invalid weight_decay value"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adam", dict(lr=-1.0), "Invalid learning rate"),
    ("Adam", dict(eps=-1.0), "Invalid epsilon value"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("AdamW", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value"),
    ("RMSprop", dict(momentum=-0.5), "Invalid momentum value"),
    ("RMSprop", dict(eps=-0.5), "Invalid epsilon value"),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-0.5), "Invalid initial_accumulator_value value"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value"),
])
def test_invalid_options_raise_value_error(name, options, message):
    with pytest.raises(ValueError, match=message.replace("(", "\\(")):
        getattr(optim, name)([_param(1.0)], **options)


@pytest.mark.parametrize("name, option", [("Adam", "capturable"), ("AdamW", "differentiable"),
                                          ("SGD", "differentiable"), ("RMSprop", "capturable"),
                                          ("Adadelta", "capturable"), ("Adagrad", "differentiable")])
def test_unsupported_torch_options_raise_not_implemented(name, option):
    with pytest.raises(NotImplementedError, match=option):
        getattr(optim, name)([_param(1.0)], **{option: True})


def test_bad_parameter_collections():
    p = _param(1.0)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([p], lr=0.1).add_param_group([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([p], lr=0.1).add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", p), _param(2.0)], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_load_state_dict_rejects_mismatched_layouts():
    a, b = _param(1.0), _param(2.0)
    opt = optim.Adam([a, b])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(optim.Adam([a]).state_dict())


def test_step_of_the_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        optim.Optimizer([_param(1.0)], {"lr": 0.1}).step()
