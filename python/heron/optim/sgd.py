"""Stochastic gradient descent, as torch.optim.SGD."""
from __future__ import annotations

from . import _functional
from .optimizer import Optimizer, _check_non_negative, _check_unsupported


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum,
    L2 weight decay and ``maximize``; torch's defaults and state layout
    (``state[p] = {'momentum_buffer': tensor}`` when momentum is used)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_unsupported("SGD", differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            uses_momentum = group["momentum"] != 0
            buffers = [self.state[p].get("momentum_buffer") for p in params] if uses_momentum else []
            _functional.sgd_update(params, [p.grad for p in params], buffers, lr=group["lr"],
                                   momentum=group["momentum"], dampening=group["dampening"],
                                   weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                                   maximize=group["maximize"])
            if uses_momentum:  # the first step creates the buffers
                for p, buf in zip(params, buffers):
                    self.state[p]["momentum_buffer"] = buf
        return loss
