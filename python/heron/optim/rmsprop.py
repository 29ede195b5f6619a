"""RMSprop, as torch.optim.RMSprop."""
from __future__ import annotations

import heron

from . import _functional
from .optimizer import Optimizer, _check_non_negative, _check_unsupported, _new_step_counter


class RMSprop(Optimizer):
    """RMSprop with smoothing constant ``alpha``, optional momentum, ``centered`` variant (divides
    by the estimated variance instead of the raw second moment), L2 weight decay and ``maximize``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        _check_unsupported("RMSprop", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group, params, states in self._groups_with_grads():
            _functional.rmsprop_update(
                params, [p.grad for p in params], [s["square_avg"] for s in states],
                [s["grad_avg"] for s in states] if group["centered"] else [],
                [s["momentum_buffer"] for s in states] if group["momentum"] > 0 else [],
                [s["step"] for s in states], lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                weight_decay=group["weight_decay"], momentum=group["momentum"], centered=group["centered"],
                maximize=group["maximize"])
        return loss

    def _init_state(self, state, param, group):
        state["step"] = _new_step_counter()
        state["square_avg"] = heron.zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = heron.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = heron.zeros_like(param)
