"""Finite-difference checks of analytical gradients (use float64 inputs)."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _flat_inputs(inputs):
    from .._tensor import Tensor

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    return tuple(inputs)


def _outputs(func, inputs):
    from .._tensor import Tensor

    out = func(*inputs)
    if isinstance(out, Tensor):
        out = (out,)
    return tuple(o for o in out if isinstance(o, Tensor))


def _numerical_jacobian(func, inputs, target, eps):
    """J[j][i]: d out_j / d target_i by central differences, perturbing target's storage in place."""
    from .. import _C
    from .grad_mode import no_grad

    with no_grad():
        base = np.asarray(target._a)  # a view: edits reach the tensor
        if not target.is_contiguous():
            raise GradcheckError("gradcheck: inputs must be contiguous")
        flat = base.reshape(-1)
        cols = []
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = [np.asarray(o.detach()).astype(np.float64).ravel().copy() for o in _outputs(func, inputs)]
            flat[i] = orig - eps
            minus = [np.asarray(o.detach()).astype(np.float64).ravel().copy() for o in _outputs(func, inputs)]
            flat[i] = orig
            cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
        target._a.bump_version()
    n_out = len(cols[0]) if cols else len(_outputs(func, inputs))
    return [np.stack([c[j] for c in cols], axis=1) if cols else None for j in range(n_out)]


def _analytical_jacobian(func, inputs, target_index):
    from .. import ops
    from . import grad

    outs = _outputs(func, inputs)
    target = inputs[target_index]
    jac = []
    for o in outs:
        rows = []
        if not o.requires_grad:
            jac.append(np.zeros((o.numel(), target.numel())))
            continue
        for k in range(o.numel()):
            g = ops.zeros_like(o).reshape(-1)
            g[k] = 1.0
            (gi,) = grad(o, target, grad_outputs=g.reshape(o.shape), retain_graph=True, allow_unused=True)
            rows.append(np.zeros(target.numel()) if gi is None else np.asarray(gi.detach()).astype(np.float64).ravel())
        jac.append(np.stack(rows, axis=0) if rows else np.zeros((0, target.numel())))
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, fast_mode=False, **unused):
    """True when analytical and numerical Jacobians of ``func`` at ``inputs`` agree."""
    inputs = _flat_inputs(inputs)
    from .._tensor import Tensor

    for idx, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if t.dtype._name != "float64":
            import warnings

            warnings.warn("gradcheck: input is not float64; finite differences will be inaccurate", stacklevel=2)
        numerical = _numerical_jacobian(func, inputs, t, eps)
        analytical = _analytical_jacobian(func, inputs, idx)
        for j, (a, n) in enumerate(zip(analytical, numerical)):
            if n is None:
                continue
            if not np.allclose(a, n, atol=atol, rtol=rtol):
                msg = (f"Jacobian mismatch for output {j} with respect to input {idx},\n"
                       f"numerical:{n}\nanalytical:{a}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **unused):
    """gradcheck of the backward pass itself (second derivatives)."""
    from .. import ops
    from . import grad

    inputs = _flat_inputs(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        gen = np.random.default_rng(0)
        grad_outputs = tuple(ops.tensor(gen.standard_normal(o.shape), dtype=o.dtype, requires_grad=True) for o in outs)
    diff_inputs = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]

    def first_grads(*args):
        ins, gos = args[: len(inputs)], args[len(inputs):]
        o = _outputs(func, ins)
        pairs = [(oo, g) for oo, g in zip(o, gos) if oo.requires_grad]
        gs = grad([p[0] for p in pairs], [ins[i] for i in diff_inputs], grad_outputs=[p[1] for p in pairs],
                  create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
