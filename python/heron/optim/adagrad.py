"""Adagrad, as torch.optim.Adagrad."""
from __future__ import annotations

import heron

from . import _functional
from .optimizer import Optimizer, _check_non_negative, _check_unsupported, _new_step_counter


class Adagrad(Optimizer):
    """Adagrad: per-coordinate steps scaled by the root of the summed squared gradients
    (starting at ``initial_accumulator_value``), with ``lr_decay``, L2 weight decay and
    ``maximize``. As in torch, the state of every parameter is created at construction."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                            initial_accumulator_value=initial_accumulator_value, eps=eps)
        _check_unsupported("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state[p], p, group)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group, params, states in self._groups_with_grads():
            _functional.adagrad_update(params, [p.grad for p in params], [s["sum"] for s in states],
                                       [s["step"] for s in states], lr=group["lr"],
                                       weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                                       eps=group["eps"], maximize=group["maximize"])
        return loss

    def _init_state(self, state, param, group):
        # As torch: the accumulator starts at the optimizer's default, whatever the group says.
        state["step"] = _new_step_counter()
        state["sum"] = heron.full_like(param, self.defaults["initial_accumulator_value"])
