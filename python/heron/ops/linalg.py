"""matmul and its relatives: mm, bmm, mv, dot, outer, addmm, baddbmm, addmv, linear, einsum,
tensordot. They all run on heron's GEMM (csrc/cpu/kernels/gemm.cpp), which reads transposed and
broadcast operands in place, so backward passes transposed views and never copies them. The
bias add and the ReLU/GELU of ``linear`` and ``_addmm_activation`` are fused into the GEMM."""
from __future__ import annotations

from .. import _C
from .._tensor import Tensor
from ..autograd.function import Function
from ._util import grad_needed, sum_to, wrap


def _check_tensors(name, *tensors):
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor arguments, but got {type(t).__name__}")


# ---------------------------------------------------------------------------- matmul
class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return wrap(_C.matmul(a._a, b._a))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:  # dot product: g is 0-d
            return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        if ctx.needs_input_grad[0]:
            ga = sum_to(matmul(g2, b2.transpose(-1, -2)), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(matmul(a2.transpose(-1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


def matmul(input, other):
    _check_tensors("matmul", input, other)
    if grad_needed(input, other):
        return MatMul.apply(input, other)
    return wrap(_C.matmul(input._a, other._a))


def mm(input, mat2):
    _check_tensors("mm", input, mat2)
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix, got {input.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    return matmul(input, mat2)


def bmm(input, mat2):
    _check_tensors("bmm", input, mat2)
    if input.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor, got {input.ndim}-D tensor")
    if mat2.ndim != 3:
        raise RuntimeError(f"batch2 must be a 3D tensor, got {mat2.ndim}-D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input, vec):
    _check_tensors("mv", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def dot(input, other):
    _check_tensors("dot", input, other)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {input.dtype._name} and {other.dtype._name}")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           "to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


vdot = inner = dot


def outer(input, vec2):
    _check_tensors("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, got {input.ndim}D and {vec2.ndim}D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


# ---------------------------------------------------------------------------- addmm, baddbmm, linear
def _scaled(g, factor):
    return g if factor == 1 else g * factor


def _scaled_product_grads(ctx, g):
    """Gradients of beta * input + alpha * a @ b (matrices or batches of them) for the inputs
    (input, a, b, beta, alpha), with a and b saved."""
    a, b = ctx.saved_tensors
    gi = ga = gb = None
    if ctx.needs_input_grad[0]:
        gi = sum_to(_scaled(g, ctx.beta), ctx.input_shape)
    if ctx.needs_input_grad[1]:
        ga = _scaled(matmul(g, b.transpose(-2, -1)), ctx.alpha)
    if ctx.needs_input_grad[2]:
        gb = _scaled(matmul(a.transpose(-2, -1), g), ctx.alpha)
    return gi, ga, gb, None, None


class Addmm(Function):
    """beta * input + alpha * mat1 @ mat2 in one GEMM call (beta * input seeds C)."""

    @staticmethod
    def forward(ctx, input, mat1, mat2, beta, alpha):
        ctx.save_for_backward(mat1, mat2)
        ctx.input_shape, ctx.beta, ctx.alpha = input.shape, beta, alpha
        return wrap(_C.addmm(input._a, mat1._a, mat2._a, beta, alpha, "none"))

    @staticmethod
    def backward(ctx, g):
        return _scaled_product_grads(ctx, g)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    _check_tensors("addmm", input, mat1, mat2)
    if grad_needed(input, mat1, mat2):
        return Addmm.apply(input, mat1, mat2, beta, alpha)
    return wrap(_C.addmm(input._a, mat1._a, mat2._a, beta, alpha, "none"))


def _addmm_activation(input, mat1, mat2, *, beta=1, alpha=1, use_gelu=False):
    """relu (or gelu) of addmm, as torch._addmm_activation: fused into the GEMM's epilogue.
    Under autograd it runs as addmm followed by the activation, its composite twin, so that
    backward has the pre-activation it needs."""
    _check_tensors("_addmm_activation", input, mat1, mat2)
    if grad_needed(input, mat1, mat2):
        from ..nn import functional as F

        z = addmm(input, mat1, mat2, beta=beta, alpha=alpha)
        return F.gelu(z) if use_gelu else F.relu(z)
    return wrap(_C.addmm(input._a, mat1._a, mat2._a, beta, alpha, "gelu" if use_gelu else "relu"))


class Baddbmm(Function):
    @staticmethod
    def forward(ctx, input, batch1, batch2, beta, alpha):
        ctx.save_for_backward(batch1, batch2)
        ctx.input_shape, ctx.beta, ctx.alpha = input.shape, beta, alpha
        return wrap(_C.baddbmm(input._a, batch1._a, batch2._a, beta, alpha))

    @staticmethod
    def backward(ctx, g):
        return _scaled_product_grads(ctx, g)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    _check_tensors("baddbmm", input, batch1, batch2)
    if grad_needed(input, batch1, batch2):
        return Baddbmm.apply(input, batch1, batch2, beta, alpha)
    return wrap(_C.baddbmm(input._a, batch1._a, batch2._a, beta, alpha))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    prod = bmm(batch1, batch2).sum(0)
    return _scaled(prod, alpha) + _scaled(input, beta) if beta != 0 else _scaled(prod, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    prod = _scaled(mv(mat, vec), alpha)
    return prod + _scaled(input, beta) if beta != 0 else prod


class Linear(Function):
    """input @ weight.T + bias with the bias added in the GEMM epilogue. weight.T is a view."""

    @staticmethod
    def forward(ctx, input, weight, bias):
        ctx.save_for_backward(input, weight)
        ctx.has_bias = bias is not None
        return wrap(_C.linear(input._a, weight._a, bias._a if bias is not None else None, "none"))

    @staticmethod
    def backward(ctx, g):
        input, weight = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = matmul(g, weight)
        rows_g = g.reshape(-1, g.shape[-1]) if g.ndim != 1 else g.unsqueeze(0)
        if ctx.needs_input_grad[1]:
            rows_x = input.reshape(-1, input.shape[-1]) if input.ndim != 1 else input.unsqueeze(0)
            gw = matmul(rows_g.t(), rows_x)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = rows_g.sum(0)
        return gx, gw, gb


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` (torch.nn.functional.linear), one GEMM with the bias fused."""
    _check_tensors("linear", input, weight, *(() if bias is None else (bias,)))
    if grad_needed(input, weight, *(() if bias is None else (bias,))):
        return Linear.apply(input, weight, bias)
    return wrap(_C.linear(input._a, weight._a, bias._a if bias is not None else None, "none"))


def tensordot(a, b, dims=2):
    _check_tensors("tensordot", a, b)
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    da = [d % a.ndim for d in da] if a.ndim else da
    db = [d % b.ndim for d in db] if b.ndim else db
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    ka = [d for d in range(a.ndim) if d not in da]
    kb = [d for d in range(b.ndim) if d not in db]
    m = _prod(a.shape[d] for d in ka)
    k = _prod(a.shape[d] for d in da)
    n = _prod(b.shape[d] for d in kb)
    am = a.permute(*(ka + da)).reshape(m, k)
    bm = b.permute(*(db + kb)).reshape(k, n)
    return matmul(am, bm).reshape([a.shape[d] for d in ka] + [b.shape[d] for d in kb])


def _prod(values):
    out = 1
    for v in values:
        out *= v
    return out


# ---------------------------------------------------------------------------- einsum
def einsum(equation, *operands):
    """torch.einsum: each pair of operands contracts as one batched GEMM (labels shared and kept
    become the batch, shared and dropped ones the inner dimension); a label repeated within an
    operand takes its diagonal; "..." broadcasts."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be str, not {type(equation).__name__}")
    _check_tensors("einsum", *operands)
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        more = "more" if len(operands) > len(terms) else "fewer"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the equation")
    labelled = [_expand_ellipsis(term, op, i) for i, (term, op) in enumerate(zip(terms, operands))]
    if arrow:
        out_labels = _parse_output(rhs, labelled)
    else:  # implicit form: the ellipsis dims, then the labels used once, in alphabetical order
        counts = {}
        for labs, _ in labelled:
            for lab in labs:
                counts[lab] = counts.get(lab, 0) + 1
        out_labels = _ellipsis_labels(labelled) + sorted(lab for lab, c in counts.items() if c == 1 and not lab.startswith("."))
    sizes = {}
    for labs, op in labelled:
        for lab, size in zip(labs, op.shape):
            if sizes.get(lab, 1) != 1 and size != 1 and sizes[lab] != size:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes (original->remapped) "
                                   f"for subscript {lab!r}: sizes {sizes[lab]} and {size}")
            sizes[lab] = max(sizes.get(lab, 1), size) if size != 0 and sizes.get(lab, 1) != 0 else 0
    # Diagonals, and labels that no other operand and not the output needs are summed first.
    prepared = []
    for i, (labs, op) in enumerate(labelled):
        labs, op = _take_diagonals(labs, op)
        needed = set(out_labels).union(*(set(other) for j, (other, _) in enumerate(labelled) if j != i))
        drop = [d for d, lab in enumerate(labs) if lab not in needed]
        if drop:
            op = op.sum(dim=drop)
            labs = [lab for lab in labs if lab in needed]
        prepared.append((labs, op))
    labs, acc = prepared[0]
    for i in range(1, len(prepared)):
        later = set(out_labels).union(*(set(other) for other, _ in prepared[i + 1:]))
        labs, acc = _contract_pair(labs, acc, *prepared[i], later, sizes)
    drop = [d for d, lab in enumerate(labs) if lab not in out_labels]
    if drop:
        acc = acc.sum(dim=drop)
        labs = [lab for lab in labs if lab in out_labels]
    acc = acc.permute(*[labs.index(lab) for lab in out_labels]) if labs else acc
    return acc.expand(*[sizes[lab] for lab in out_labels]) if out_labels else acc


def _expand_ellipsis(term, op, index):
    if not all(ch.isalpha() or ch == "." for ch in term):
        raise RuntimeError(f"einsum(): invalid subscript given at index {index} in the equation string, "
                           "subscripts must be in [a-zA-Z]")
    if "..." not in term:
        if len(term) != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match "
                               f"the number of dimensions ({op.ndim}) for operand {index} and no ellipsis was given")
        return list(term), op
    head, _, tail = term.partition("...")
    n_ell = op.ndim - len(head) - len(tail)
    if n_ell < 0:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(head) + len(tail)}) is more than "
                           f"the number of dimensions ({op.ndim}) for operand {index}")
    # ellipsis dims align from the right, as broadcasting does
    return list(head) + [f".{i}" for i in range(_MAX_ELLIPSIS - n_ell, _MAX_ELLIPSIS)] + list(tail), op


_MAX_ELLIPSIS = 64


def _ellipsis_labels(labelled):
    used = set().union(*(set(labs) for labs, _ in labelled))
    return sorted((lab for lab in used if lab.startswith(".")), key=lambda s: int(s[1:]))


def _parse_output(rhs, labelled):
    used = set().union(*(set(labs) for labs, _ in labelled))
    head, dots, tail = rhs.partition("...")
    out = list(head) + (_ellipsis_labels(labelled) if dots else []) + list(tail)
    for lab in list(head) + list(tail):
        if not lab.isalpha():
            raise RuntimeError("einsum(): invalid subscript given in the equation output, subscripts must be in [a-zA-Z]")
        if lab not in used:
            raise RuntimeError(f"einsum(): output subscript {lab} does not appear in the equation for any input operand")
    if len(set(out)) != len(out):
        raise RuntimeError("einsum(): output subscript appears more than once in the output")
    return out


def _take_diagonals(labs, op):
    while len(set(labs)) != len(labs):
        lab = next(lab for lab in labs if labs.count(lab) > 1)
        d0 = labs.index(lab)
        d1 = labs.index(lab, d0 + 1)
        op = op.diagonal(0, d0, d1)  # the diagonal becomes the last dim
        labs = [x for d, x in enumerate(labs) if d not in (d0, d1)] + [lab]
    return labs, op


def _contract_pair(la, a, lb, b, later, sizes):
    batch = [lab for lab in la if lab in lb and lab in later]
    inner = [lab for lab in la if lab in lb and lab not in later]
    a_only = [lab for lab in la if lab not in lb]
    b_only = [lab for lab in lb if lab not in la]

    def arrange(labs, op, order):
        op = op.permute(*[labs.index(lab) for lab in order]) if labs else op
        return op.expand(*[sizes[lab] for lab in order]) if order else op

    a3 = arrange(la, a, batch + a_only + inner).reshape(
        _prod(sizes[x] for x in batch), _prod(sizes[x] for x in a_only), _prod(sizes[x] for x in inner))
    b3 = arrange(lb, b, batch + inner + b_only).reshape(
        _prod(sizes[x] for x in batch), _prod(sizes[x] for x in inner), _prod(sizes[x] for x in b_only))
    out = matmul(a3, b3).reshape([sizes[x] for x in batch + a_only + b_only])
    return batch + a_only + b_only, out
