"""Gradient checks for tests.

``check_vjp_random_direction`` is the cheap check the op database runs on every float64
sample: for a random direction ``t`` of the inputs and a random cotangent ``c`` of the outputs,

    <t, vjp(c)>  ==  d/de <f(x + e t), c>  at e = 0   (central difference)

costs two forward calls and one backward, whatever the size of the inputs. The full Jacobian
check is ``heron.autograd.gradcheck`` (use it on small inputs; tests/ops/test_grad.py runs it on
each op's first small sample).
"""
from __future__ import annotations

import numpy as np

import heron
from heron import Tensor

from .tensors import flatten_outputs, from_values, to_numpy


def differentiable_outputs(out):
    """The floating-point tensors among an op's results that carry a graph."""
    return [o for o in flatten_outputs(out) if isinstance(o, Tensor) and o.dtype.is_floating_point and o.requires_grad]


def float_outputs(out):
    return [o for o in flatten_outputs(out) if isinstance(o, Tensor) and o.dtype.is_floating_point]


def random_like(t, rng) -> Tensor:
    return from_values(rng.standard_normal(tuple(t.shape)), t.dtype)


def vjp(fn, inputs, cotangents=None, rng=None):
    """Runs ``fn(*inputs)`` and returns (outputs, cotangents, grads of <outputs, cotangents>)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    out = differentiable_outputs(fn(*inputs))
    if cotangents is None:
        cotangents = [random_like(o, rng) for o in out]
    if not out:
        return out, cotangents, [None] * len(inputs)
    grads = heron.autograd.grad(out, list(inputs), grad_outputs=cotangents, allow_unused=True)
    return out, cotangents, list(grads)


def _pairing(outputs, cotangents):
    return sum(float(np.sum(to_numpy(o) * to_numpy(c))) for o, c in zip(outputs, cotangents))


def check_vjp_random_direction(fn, inputs, *, rng=None, eps=1e-6, rtol=1e-4, atol=1e-6, directions=2):
    """Checks the vector-Jacobian product of ``fn`` at ``inputs`` along random directions.

    ``inputs`` are float64 leaves requiring grad; ``fn(*inputs)`` returns a tensor or a
    sequence (non-float results are ignored). Raises AssertionError with both numbers on a
    mismatch.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    for t in inputs:
        if t.dtype is not heron.float64:
            raise TypeError("check_vjp_random_direction needs float64 inputs")
    outputs, cots, grads = vjp(fn, inputs, rng=rng)
    if not outputs:
        return
    for _ in range(directions):
        dirs = [rng.standard_normal(tuple(x.shape)) for x in inputs]
        analytic = 0.0
        for d, g in zip(dirs, grads):
            if g is not None:
                analytic += float(np.sum(d * to_numpy(g)))
        with heron.no_grad():
            plus = [x.detach() + eps * from_values(d, heron.float64) for x, d in zip(inputs, dirs)]
            minus = [x.detach() - eps * from_values(d, heron.float64) for x, d in zip(inputs, dirs)]
            f_plus = _pairing(float_outputs(fn(*plus)), cots)
            f_minus = _pairing(float_outputs(fn(*minus)), cots)
        numeric = (f_plus - f_minus) / (2 * eps)
        scale = max(abs(analytic), abs(numeric), 1.0)
        if not abs(analytic - numeric) <= atol * scale + rtol * max(abs(analytic), abs(numeric)):
            raise AssertionError(
                f"vjp mismatch along a random direction: analytic {analytic!r}, numeric {numeric!r} "
                f"(difference {analytic - numeric:.3g})"
            )


def torch_vjp(torch_fn, torch_inputs, torch_cotangents):
    """Gradients of <torch_fn(*inputs), cotangents> with torch, None where an input is unused."""
    import torch

    out = [o for o in flatten_outputs(torch_fn(*torch_inputs))
           if isinstance(o, torch.Tensor) and o.dtype.is_floating_point and o.requires_grad]
    if not out:
        return [None] * len(torch_inputs)
    return list(torch.autograd.grad(out, list(torch_inputs), grad_outputs=torch_cotangents, allow_unused=True))
