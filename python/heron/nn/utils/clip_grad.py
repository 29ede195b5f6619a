"""Gradient clipping by total norm or by value, as torch.nn.utils.clip_grad."""
from __future__ import annotations

import types
import warnings

import heron
from heron.autograd import no_grad  # heron.no_grad is bound after heron.nn is imported


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, heron.Tensor) else list(parameters)


@no_grad()
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    """Scales the gradients of ``parameters`` in place so that their joint ``norm_type`` norm
    (the norm of the per-tensor norms; ``inf`` for the largest magnitude) is at most
    ``max_norm``. Returns the total norm before clipping, as a 0-d tensor. ``foreach`` is
    accepted for torch compatibility; heron has a single CPU path."""
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return heron.tensor(0.0)
    total_norm = heron.norm(heron.stack([heron.norm(g, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and bool(heron.logical_or(total_norm.isnan(), total_norm.isinf())):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    clip_coef = heron.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(clip_coef)
    return total_norm


@no_grad()
def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamps the gradients of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.clamp_(min=-clip_value, max=clip_value)
