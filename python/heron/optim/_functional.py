"""One update function per optimizer algorithm: the seam for fused multi-tensor kernels.

Each function updates every parameter of one parameter group in place. It receives parallel
lists (parameters, their gradients, their state tensors, their 0-d float32 step counters) and
the group's options as plain Python numbers, and returns nothing. The optimizer classes only
gather these lists; all arithmetic lives here.

SGD and Adam/AdamW run heron's fused multi-tensor kernels (heron.ops.fused_optim) whenever
every tensor is a contiguous float32/float64 CPU tensor; the bodies below are then their
composite twins and the reference: heron's in-place tensor ops under ``no_grad``,
one parameter at a time, in the same operation order as torch's single-tensor ("foreach=False")
implementation, so trajectories agree with torch to rounding. A fused C++ multi-tensor kernel
can replace a body without touching the optimizer classes, provided it keeps the contract:

- updates ``params``, the state lists and ``steps`` in place (``steps[i] += 1`` before use);
- ``sgd_update`` may find ``None`` in ``momentum_buffers`` (first step): it must store the new
  buffer (a copy of the gradient after weight decay) into that list slot;
- ``grads`` are never modified;
- matches this composite version within the optimizer tolerances of the conformance tests.
"""
from __future__ import annotations

import heron
from heron.ops import fused_optim


def _lerp_(start, end, weight: float):
    """``start.lerp_(end, weight)`` with torch's formula (two branches for accuracy)."""
    difference = end - start
    if abs(weight) < 0.5:
        return start.add_(difference.mul_(weight))
    return start.copy_(end - difference.mul_(1.0 - weight))


def _addcmul_(target, tensor1, tensor2, value: float):
    """``target += value * tensor1 * tensor2`` with torch's association ((value * t1) * t2)."""
    return target.add_(tensor1.mul(value).mul_(tensor2))


def _addcdiv_(target, tensor1, tensor2, value: float):
    """``target += value * tensor1 / tensor2`` with torch's association ((value * t1) / t2)."""
    return target.add_(tensor1.mul(value).div_(tensor2))


def _increment(steps) -> list:
    """Adds one to each 0-d step counter and returns the new counts as Python floats."""
    counts = []
    for step in steps:
        step += 1
        counts.append(step.item())
    return counts


@heron.no_grad()
def sgd_update(params, grads, momentum_buffers, *, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool, maximize: bool) -> None:
    """SGD with optional momentum (heavy-ball or Nesterov), dampening and L2 weight decay."""
    if fused_optim.fusable(params, grads):
        first_step = momentum != 0 and all(buf is None for buf in momentum_buffers)
        if momentum == 0 or first_step or fused_optim.fusable(params, momentum_buffers):
            if first_step:  # the kernel starts each buffer from the gradient
                momentum_buffers[:] = [heron.empty_like(p) for p in params]
            fused_optim.sgd_step_(params, grads, momentum_buffers, lr=lr, momentum=momentum, dampening=dampening,
                                  weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                                  first_step=first_step)
            return
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None:
                buf = grad.detach().clone()
                momentum_buffers[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        param.add_(grad, alpha=-lr)


@heron.no_grad()
def adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr: float, beta1: float,
                beta2: float, eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
                decoupled_weight_decay: bool) -> None:
    """Adam (``decoupled_weight_decay=False``) and AdamW (``True``), with optional AMSGrad.
    ``max_exp_avg_sqs`` is empty unless ``amsgrad``."""
    counts = _increment(steps)
    if fused_optim.fusable(params, grads, exp_avgs, exp_avg_sqs, *((max_exp_avg_sqs,) if amsgrad else ())):
        fused_optim.adam_step_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, counts, lr=lr, beta1=beta1,
                               beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                               decoupled_weight_decay=decoupled_weight_decay)
        return
    for i, (param, step) in enumerate(zip(params, counts)):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)

        _lerp_(exp_avg, grad, 1 - beta1)
        _addcmul_(exp_avg_sq.mul_(beta2), grad, grad, 1 - beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            max_exp_avg_sqs[i].copy_(heron.maximum(max_exp_avg_sqs[i], exp_avg_sq))
            second_moment = max_exp_avg_sqs[i]
        else:
            second_moment = exp_avg_sq
        denom = second_moment.sqrt().div_(bias_correction2_sqrt).add_(eps)
        _addcdiv_(param, exp_avg, denom, -step_size)


@heron.no_grad()
def rmsprop_update(params, grads, square_avgs, grad_avgs, momentum_buffers, steps, *, lr: float, alpha: float,
                   eps: float, weight_decay: float, momentum: float, centered: bool, maximize: bool) -> None:
    """RMSprop; ``grad_avgs`` is empty unless ``centered``, ``momentum_buffers`` empty unless
    ``momentum > 0``."""
    _increment(steps)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        square_avg = square_avgs[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)

        _addcmul_(square_avg.mul_(alpha), grad, grad, 1 - alpha)
        if centered:
            grad_avg = _lerp_(grad_avgs[i], grad, 1 - alpha)
            avg = (square_avg - grad_avg * grad_avg).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)

        if momentum > 0:
            buf = momentum_buffers[i]
            _addcdiv_(buf.mul_(momentum), grad, avg, 1.0)
            param.add_(buf, alpha=-lr)
        else:
            _addcdiv_(param, grad, avg, -lr)


@heron.no_grad()
def adagrad_update(params, grads, state_sums, steps, *, lr: float, weight_decay: float, lr_decay: float,
                   eps: float, maximize: bool) -> None:
    """Adagrad with learning-rate decay ``lr / (1 + (step - 1) * lr_decay)``."""
    for param, grad, state_sum, step in zip(params, grads, state_sums, _increment(steps)):
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        clr = lr / (1 + (step - 1) * lr_decay)
        _addcmul_(state_sum, grad, grad, 1.0)
        std = state_sum.sqrt().add_(eps)
        _addcdiv_(param, grad, std, -clr)


@heron.no_grad()
def adadelta_update(params, grads, square_avgs, acc_deltas, steps, *, lr: float, rho: float, eps: float,
                    weight_decay: float, maximize: bool) -> None:
    """Adadelta: steps scaled by the ratio of running RMS of updates and of gradients."""
    _increment(steps)
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        _addcmul_(square_avg.mul_(rho), grad, grad, 1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        _addcmul_(acc_delta.mul_(rho), delta, delta, 1 - rho)
        param.add_(delta, alpha=-lr)
