"""matmul and its relatives. The kernel is heron's GEMM (csrc/cpu/kernels/matmul.cpp); backward
runs through the same op with transposed views, never materialised transposes."""
from __future__ import annotations

from .. import _C
from .._tensor import Tensor
from ..autograd.function import Function
from ._util import grad_needed, sum_to, wrap


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return wrap(_C.matmul(a._a, b._a))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        if ctx.needs_input_grad[0]:
            ga = sum_to(matmul(g2, b2.transpose(-1, -2)), a2.shape)
            ga = ga.reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(matmul(a2.transpose(-1, -2), g2), b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def matmul(input, other):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul(): argument 'input' and 'other' must be Tensors")
    if grad_needed(input, other):
        return MatMul.apply(input, other)
    return wrap(_C.matmul(input._a, other._a))


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input.ndim}D and {mat2.ndim}D")
    return matmul(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a 2D matrix and a 1D vector, got {input.ndim}D and {vec.ndim}D")
    return matmul(input, vec)


def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {input.dtype._name} and {other.dtype._name}")
    return matmul(input, other)


vdot = inner = dot


def outer(input, vec2):
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    prod = bmm(batch1, batch2)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def addmv(input, mat, vec, *, beta=1, alpha=1):
    prod = mv(mat, vec)
    if alpha != 1:
        prod = prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    ka = [d for d in range(a.ndim) if d not in da]
    kb = [d for d in range(b.ndim) if d not in db]
    m = 1
    for d in ka:
        m *= a.shape[d]
    k = 1
    for d in da:
        k *= a.shape[d]
    n = 1
    for d in kb:
        n *= b.shape[d]
    am = a.permute(*(ka + da)).reshape(m, k)
    bm = b.permute(*(db + kb)).reshape(k, n)
    return matmul(am, bm).reshape([a.shape[d] for d in ka] + [b.shape[d] for d in kb])
