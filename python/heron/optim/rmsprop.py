"""RMSprop, as torch.optim.RMSprop."""
from __future__ import annotations

import heron

from . import _functional
from .optimizer import Optimizer, _check_unsupported, _new_step_counter


class RMSprop(Optimizer):
    """RMSprop with smoothing constant ``alpha``, optional momentum, ``centered`` variant (divides
    by the estimated variance instead of the raw second moment), L2 weight decay and ``maximize``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_unsupported("RMSprop", capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            states = [self._state_of(p, group) for p in params]
            _functional.rmsprop_update(
                params, [p.grad for p in params], [s["square_avg"] for s in states],
                [s["grad_avg"] for s in states] if group["centered"] else [],
                [s["momentum_buffer"] for s in states] if group["momentum"] > 0 else [],
                [s["step"] for s in states], lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                weight_decay=group["weight_decay"], momentum=group["momentum"], centered=group["centered"],
                maximize=group["maximize"])
        return loss

    def _state_of(self, param, group):
        state = self.state[param]
        if not state:
            state["step"] = _new_step_counter()
            state["square_avg"] = heron.zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = heron.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = heron.zeros_like(param)
        return state
