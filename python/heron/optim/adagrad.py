"""Adagrad, as torch.optim.Adagrad."""
from __future__ import annotations

import heron

from . import _functional
from .optimizer import Optimizer, _check_unsupported, _new_step_counter


class Adagrad(Optimizer):
    """Adagrad: per-coordinate steps scaled by the root of the summed squared gradients
    (starting at ``initial_accumulator_value``), with ``lr_decay``, L2 weight decay and
    ``maximize``. As in torch, the state of every parameter is created at construction."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_unsupported("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._state_of(p)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            states = [self._state_of(p) for p in params]
            _functional.adagrad_update(params, [p.grad for p in params], [s["sum"] for s in states],
                                       [s["step"] for s in states], lr=group["lr"],
                                       weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                                       eps=group["eps"], maximize=group["maximize"])
        return loss

    def _state_of(self, param):
        state = self.state[param]
        if not state:
            state["step"] = _new_step_counter()
            state["sum"] = heron.full_like(param, self.defaults["initial_accumulator_value"])
        return state
