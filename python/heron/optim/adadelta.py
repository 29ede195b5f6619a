"""Adadelta, as torch.optim.Adadelta."""
from __future__ import annotations

import heron

from . import _functional
from .optimizer import Optimizer, _check_non_negative, _check_unsupported, _new_step_counter


class Adadelta(Optimizer):
    """Adadelta with decay ``rho``, learning-rate scale ``lr`` (default 1.0), L2 weight decay
    and ``maximize``; state ``step``, ``square_avg``, ``acc_delta`` as in torch."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative(eps=eps, weight_decay=weight_decay)
        _check_unsupported("Adadelta", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group, params, states in self._groups_with_grads():
            _functional.adadelta_update(params, [p.grad for p in params], [s["square_avg"] for s in states],
                                        [s["acc_delta"] for s in states], [s["step"] for s in states],
                                        lr=group["lr"], rho=group["rho"], eps=group["eps"],
                                        weight_decay=group["weight_decay"], maximize=group["maximize"])
        return loss

    def _init_state(self, state, param, group):
        state["step"] = _new_step_counter()
        state["square_avg"] = heron.zeros_like(param)
        state["acc_delta"] = heron.zeros_like(param)
