"""The Optimizer base class: parameter groups, per-parameter state and their state_dict, as in
torch.optim.Optimizer. Subclasses gather each group's tensors and hand them to one update
function per algorithm (``heron.optim._functional``)."""
from __future__ import annotations

import functools
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import heron


class _RequiredParameter:
    """Marks a default that every parameter group must set (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, heron.Tensor):
        return obj.type()
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts that define
    parameter groups (each with its own options; missing options take ``defaults``). ``state``
    maps each parameter to its per-parameter state (moment buffers, step counts).
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        if isinstance(params, heron.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Remember that step() ran, so a scheduler stepped first can warn as torch's does.
        if "step" in cls.__dict__:
            step = cls.__dict__["step"]

            @functools.wraps(step)
            def recorded_step(self, *args, **kw):
                self._opt_called = True
                return step(self, *args, **kw)

            cls.step = recorded_step

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Adds a parameter group (a dict with ``"params"`` and optional per-group options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, heron.Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)

        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, heron.Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        if len({id(p) for p in tensors}) != len(tensors):
            import warnings

            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all optimized tensors (to None by default, else to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure=None):
        """Performs one update of every parameter that has a gradient; ``closure`` re-evaluates
        the model and returns the loss (it runs with gradients enabled)."""
        raise NotImplementedError

    def _evaluate_closure(self, closure):
        if closure is None:
            return None
        with heron.enable_grad():
            return closure()

    def _init_state(self, state: dict, param, group: dict) -> None:
        """Fills the empty state of ``param`` before its first update (optimizers with state)."""
        raise NotImplementedError

    def _groups_with_grads(self):
        """For each parameter group: ``(group, params, states)`` for the parameters that have a
        gradient, creating their state on first use."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            states = []
            for p in params:
                state = self.state[p]
                if not state:
                    self._init_state(state, p, group)
                states.append(state)
            yield group, params, states

    # ------------------------------------------------------------------ state_dict
    def state_dict(self) -> dict:
        """The optimizer's state in torch's layout: ``{'state': {index: {...}}, 'param_groups':
        [{options..., 'params': [indices]}]}``, parameters numbered in group order from 0.
        State tensors are returned by reference, as torch does."""
        index_of: dict[int, int] = {}
        next_index = 0

        def pack_group(group):
            nonlocal next_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], next_index):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            next_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(index_of[id(k)] if isinstance(k, heron.Tensor) else k): v for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restores state saved by :meth:`state_dict` into an optimizer built over the same
        parameter layout. State tensors are copied and cast to their parameter's dtype
        (except the step counts)."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")

        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = _copy_state_like(param, value)
            else:
                state[key] = value

        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})


def _copy_state_like(param, value, key=None):
    """A copy of one parameter's saved state, its tensors cast to the parameter's dtype
    (step counters keep theirs)."""
    if isinstance(value, heron.Tensor):
        if key != "step" and param.is_floating_point():
            return value.detach().to(param.dtype, copy=True)
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _copy_state_like(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state_like(param, v) for v in value)
    return value


_OPTION_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_non_negative(**options) -> None:
    """Raises torch's ValueError ("Invalid learning rate: -1") for the first negative option."""
    for name, value in options.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_OPTION_LABELS.get(name, name + ' value')}: {value}")


def _check_unsupported(optimizer_name: str, **options) -> None:
    """Raises NotImplementedError for torch options that heron's CPU optimizers do not offer."""
    for name, value in options.items():
        if value:
            raise NotImplementedError(f"{optimizer_name}: the option {name}=True is not supported by heron")


def _new_step_counter():
    """A per-parameter step count: a 0-d float32 tensor, as torch keeps it (the state_dict
    layout follows)."""
    return heron.tensor(0.0, dtype=heron.float32)
