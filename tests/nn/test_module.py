"""nn.Module mechanics: registration and attribute routing, traversal, modes, conversion,
hooks, state_dict round trips and errors, printing, copying and memory."""
from __future__ import annotations

import copy
import gc
import weakref
from collections import OrderedDict

import numpy as np
import pytest

import heron
from heron import nn


class Block(nn.Module):
    """A module with a parameter, a persistent and a non-persistent buffer, and a child."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(heron.ones(3))
        self.register_buffer("count", heron.zeros(3))
        self.register_buffer("scratch", heron.zeros(2), persistent=False)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x * self.scale)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(2, 1, bias=False)

    def forward(self, x):
        return self.head(self.block(x))


# ---------------------------------------------------------------------------- registration
def test_assignment_registers_parameters_buffers_and_modules():
    m = Block()
    assert list(m._parameters) == ["scale"]
    assert list(m._buffers) == ["count", "scratch"]
    assert list(m._modules) == ["fc"]
    assert m.scale is m._parameters["scale"] and m.fc is m._modules["fc"]
    assert "scale" not in m.__dict__ and "fc" not in m.__dict__


def test_plain_tensor_attribute_is_not_a_buffer():
    m = nn.Module()
    m.t = heron.zeros(2)
    assert "t" in m.__dict__ and not list(m.buffers())


def test_reassigning_a_name_moves_it_between_registries():
    m = Block()
    m.fc = nn.Parameter(heron.zeros(1))  # a module name now holds a parameter
    assert "fc" not in m._modules and "fc" in m._parameters
    m.count = heron.ones(3)  # assigning a tensor to a buffer name keeps it a buffer
    assert m._buffers["count"].tolist() == [1.0, 1.0, 1.0]
    m.scale = None  # None keeps the parameter slot, skipped everywhere
    assert m._parameters["scale"] is None
    assert [n for n, _ in m.named_parameters()] == ["fc"]


def test_assignment_type_errors():
    m = Block()
    with pytest.raises(TypeError, match="cannot assign 'heron.FloatTensor' as parameter 'scale'"):
        m.scale = heron.zeros(3)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc'"):
        m.fc = 3
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'count'"):
        m.count = "x"


def test_registration_errors():
    m = Block()
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        m.register_buffer("forward", heron.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty string"):
        m.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="parameter name should be a string"):
        m.register_parameter(1, None)
    with pytest.raises(TypeError, match="nn.Parameter or None required"):
        m.register_parameter("p", heron.zeros(1))


def test_assigning_before_init_raises():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(heron.zeros(1))

    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Early()


def test_missing_attribute_and_delattr():
    m = Block()
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        m.nope
    del m.scale, m.count, m.fc
    assert not m._parameters and "count" not in m._buffers and not m._modules
    m.plain = 1
    del m.plain
    assert not hasattr(m, "plain")


def test_constructor_arguments_rejected():
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        nn.Module(x=1)
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        nn.Module(1)


def test_forward_missing():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(heron.zeros(1))


# ---------------------------------------------------------------------------- traversal
def test_named_parameters_prefix_and_recurse():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert [n for n, _ in net.named_parameters(prefix="model")] == [
        "model.block.scale", "model.block.fc.weight", "model.block.fc.bias", "model.head.weight"]
    assert [n for n, _ in net.block.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_buffers()] == ["block.count", "block.scratch"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "head"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert len(list(net.parameters())) == 4 and len(list(net.buffers())) == 2
    assert len(list(net.modules())) == 4 and len(list(net.children())) == 2


def test_shared_modules_and_parameters_are_listed_once_unless_asked():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in seq.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # state_dict keeps every path


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_submodule("") is net
    assert net.get_parameter("block.fc.bias") is net.block.fc.bias
    assert net.get_buffer("block.count") is net.block.count
    with pytest.raises(AttributeError, match="Block has no attribute `nope`"):
        net.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.get_submodule("block.scale")
    with pytest.raises(AttributeError, match="`count` is not an nn.Parameter"):
        net.get_parameter("block.count")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        net.get_buffer("block.scale")


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Block", "Linear", "Net"]


def test_dir_lists_registered_names():
    names = dir(Block())
    assert {"scale", "count", "fc", "forward"} <= set(names)


# ---------------------------------------------------------------------------- modes and gradients
def test_train_eval_propagate():
    net = Net()
    assert net.training and net.block.fc.training
    assert net.eval() is net
    assert not net.training and not net.block.training and not net.block.fc.training
    net.train()
    assert net.block.fc.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    net = Net()
    net(heron.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert not net(heron.randn(2, 3)).requires_grad


# ---------------------------------------------------------------------------- conversion
def test_to_double_keeps_parameter_identity_and_integer_buffers():
    bn = nn.BatchNorm1d(3)
    weight = bn.weight
    bn(heron.randn(4, 3)).sum().backward()
    assert bn.double() is bn
    assert bn.weight is weight and weight.dtype is heron.float64 and weight.grad.dtype is heron.float64
    assert bn.running_mean.dtype is heron.float64
    assert bn.num_batches_tracked.dtype is heron.int64
    bn.to(heron.float32)
    assert bn.weight.dtype is heron.float32
    bn.to(heron.randn(1, dtype=heron.float64))
    assert bn.weight.dtype is heron.float64
    bn.to("cpu", heron.float32).float().cpu()
    assert bn.weight.dtype is heron.float32 and bn.weight.requires_grad and bn.weight.is_leaf


def test_to_rejects_integer_dtype_and_bad_arguments():
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        nn.Linear(2, 2).to(heron.int64)
    with pytest.raises(TypeError):
        nn.Linear(2, 2).to(3.5)


# ---------------------------------------------------------------------------- hooks
def test_forward_pre_hook_replaces_arguments_and_handle_removes_it():
    lin = nn.Linear(2, 2)
    calls = []
    handle = lin.register_forward_pre_hook(lambda m, args: calls.append(args) or (args[0] * 0,))
    out = lin(heron.ones(1, 2))
    assert len(calls) == 1 and np.allclose(out.detach().numpy(), lin.bias.detach().numpy())
    handle.remove()
    handle.remove()  # a second remove is harmless
    lin(heron.ones(1, 2))
    assert len(calls) == 1


def test_forward_hook_order_kwargs_prepend_and_replacement():
    lin = nn.Linear(2, 2)
    order = []
    lin.register_forward_hook(lambda m, args, out: order.append("a"))
    lin.register_forward_hook(lambda m, args, out: order.append("b") or out * 0, prepend=True)
    lin.register_forward_hook(lambda m, args, kwargs, out: order.append(("c", kwargs)), with_kwargs=True)
    out = lin(heron.ones(1, 2))
    assert order == ["b", "a", ("c", {})] and not out.detach().any()


def test_pre_hook_with_kwargs_must_return_a_pair():
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, args, kwargs: "nonsense", with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        m(heron.zeros(1))


def test_always_call_hook_runs_when_forward_raises():
    seen = []
    m = nn.Linear(2, 2)
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(RuntimeError):
        m(heron.zeros(3, 5))
    assert seen == [None]


def test_handle_as_context_manager():
    m = nn.Identity()
    with m.register_forward_hook(lambda mod, args, out: out + 1):
        assert m(heron.zeros(1)).item() == 1
    assert m(heron.zeros(1)).item() == 0


# ---------------------------------------------------------------------------- state_dict
def test_state_dict_keys_detached_and_shared():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["block.scale", "block.count", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert not sd["block.scale"].requires_grad
    sd["block.scale"].fill_(5.0)  # the entries share memory with the module
    assert net.block.scale.tolist() == [5.0, 5.0, 5.0]
    assert net.state_dict(keep_vars=True)["block.scale"] is net.block.scale
    assert list(net.state_dict(prefix="m.")) [0] == "m.block.scale"


def test_load_state_dict_round_trip():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and np.array_equal(pa.numpy(), pb.numpy())
    assert b.block.scale.requires_grad  # copied in place: still a parameter


def test_load_state_dict_strict_errors_read_like_torch():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["block.extra"] = heron.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == ('Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "head.weight". '
                               '\n\tUnexpected key(s) in state_dict: "block.extra". ')
    result = net.load_state_dict(sd, strict=False)
    assert result == (["head.weight"], ["block.extra"])
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["block.extra"]


def test_load_state_dict_shape_mismatch_raises_even_when_not_strict():
    net = Net()
    sd = net.state_dict()
    sd["head.weight"] = heron.zeros(3, 3)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for head.weight: copying a param with shape "
                                               r"heron.Size\(\[3, 3\]\) from checkpoint, the shape in current model is "
                                               r"heron.Size\(\[1, 2\]\)"):
            net.load_state_dict(sd, strict=strict)


def test_load_state_dict_type_errors():
    net = Net()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net.load_state_dict([1, 2])
    sd = net.state_dict()
    sd["head.weight"] = np.zeros((1, 2))
    with pytest.raises(RuntimeError, match="expected heron.Tensor or Tensor-like object"):
        net.load_state_dict(sd)


def test_load_state_dict_assign_takes_the_given_tensors():
    lin = nn.Linear(2, 2)
    weight = heron.ones(2, 2)
    lin.load_state_dict({"weight": weight, "bias": heron.zeros(2)}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    weight.fill_(3.0)
    assert lin.weight.tolist() == [[3.0, 3.0], [3.0, 3.0]]  # the same memory


def test_extra_state_round_trip():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.note = "fresh"

        def get_extra_state(self):
            return {"note": self.note}

        def set_extra_state(self, state):
            self.note = state["note"]

    a, b = WithState(), WithState()
    a.note = "trained"
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b.load_state_dict(sd)
    assert b.note == "trained"
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "_extra_state"'):
        nn.Linear(1, 1).load_state_dict({"weight": heron.zeros(1, 1), "bias": heron.zeros(1), "_extra_state": 1})


# ---------------------------------------------------------------------------- printing, copying, memory
def test_repr_of_custom_module_with_multiline_extra_repr():
    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(1, 2), nn.Tanh())

        def extra_repr(self):
            return "first\nsecond"

    assert repr(Multi()) == ("Multi(\n  first\n  second\n  (inner): Sequential(\n    (0): Linear(in_features=1, "
                             "out_features=2, bias=True)\n    (1): Tanh()\n  )\n)")


def test_deepcopy_copies_parameters_and_keeps_sharing():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    clone = copy.deepcopy(seq)
    assert clone[0] is clone[1] and clone[0] is not shared
    assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
    clone[0].weight.data.fill_(0.0)
    assert shared.weight.abs().sum().item() > 0


def test_parameter_basics():
    data = heron.ones(2)
    p = nn.Parameter(data)
    assert isinstance(p, heron.Tensor) and p.requires_grad and p.is_leaf
    data.fill_(2.0)
    assert p.tolist() == [2.0, 2.0]  # shares memory with data, as in torch
    assert type(p * 2) is heron.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor([2., 2.], requires_grad=True)")
    assert not nn.Parameter(heron.ones(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError, match="must be Tensor"):
        nn.Parameter([1.0])
    with pytest.raises(RuntimeError):
        nn.Parameter(heron.tensor([1, 2]))  # integer tensors cannot require grad


def test_a_trained_model_is_freed_without_the_cycle_collector():
    net = Net()
    net(heron.randn(4, 3)).sum().backward()
    ref = weakref.ref(net)
    gc.disable()
    try:
        del net
        assert ref() is None
    finally:
        gc.enable()


def test_sequential_from_ordered_dict_names_modules():
    seq = nn.Sequential(OrderedDict([("embed", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["embed.weight", "embed.bias"]
    assert seq.embed is seq[0]
