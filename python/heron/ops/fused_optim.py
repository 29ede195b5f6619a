"""Multi-tensor optimizer kernels: one C++ call updates every parameter of a group in place
(heron.optim's update functions use them whenever every tensor qualifies, and fall back to
their composite twins otherwise)."""
from __future__ import annotations

from .. import _C
from .._dtype import float32, float64


def fusable(*tensor_lists) -> bool:
    """True when every tensor is a contiguous float32/float64 CPU tensor of its parameter's
    dtype, which is what the kernels take."""
    params = tensor_lists[0]
    for tensors in tensor_lists:
        for param, t in zip(params, tensors):
            if t is None or t.dtype is not param.dtype or not t.is_contiguous() or t.shape != param.shape:
                return False
    return all(p.dtype in (float32, float64) and p.device.type == "cpu" for p in params)


def adam_step_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1, beta2, eps, weight_decay,
               amsgrad, maximize, decoupled_weight_decay):
    """Adam/AdamW on every parameter; ``steps`` are the step counts after this step's increment."""
    _C.adam_step_([p._a for p in params], [g._a for g in grads], [m._a for m in exp_avgs], [v._a for v in exp_avg_sqs],
                  [v._a for v in max_exp_avg_sqs] if amsgrad else [], [float(s) for s in steps], float(lr), float(beta1),
                  float(beta2), float(eps), float(weight_decay), bool(amsgrad), bool(maximize),
                  bool(decoupled_weight_decay))


def sgd_step_(params, grads, momentum_buffers, *, lr, momentum, dampening, weight_decay, nesterov, maximize,
              first_step):
    """SGD on every parameter; with ``first_step`` the momentum buffers are (re)started from
    the gradient, as torch does when a buffer does not exist yet."""
    _C.sgd_step_([p._a for p in params], [g._a for g in grads], [b._a for b in momentum_buffers] if momentum else [],
                 float(lr), float(momentum), float(dampening), float(weight_decay), bool(nesterov), bool(maximize),
                 bool(first_step))
