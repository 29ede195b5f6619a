"""A seeded fuzzer: thousands of random calls into heron's public API with random, often
invalid, arguments (odd shapes and dtypes, strided views, NaN/inf, out-of-range dims and
indices, impossible sizes, wrong types).

Run ``python -m heron.testing.fuzz --seed 0 --calls 3000``. Every call may raise any Python
exception; the run fails only if the interpreter dies (segfault, abort), which is what the
test in tests/test_fuzz.py checks from a subprocess. Each call is written to stderr before it
runs, so a crash names its call.
"""
from __future__ import annotations

import argparse
import collections
import faulthandler
import math
import random
import sys

import numpy as np

import heron
from heron.testing.tensors import ALL_DTYPES, LAYOUTS, make_tensor

FLOAT_DTYPES = [d for d in ALL_DTYPES if d.is_floating_point]
# Sizes that must fail fast: negative, or far too large to allocate (never merely "big").
BAD_SIZES = [-1, -7, 2 ** 50, 2 ** 62, 2 ** 63 - 1]
SCALARS = [0, 1, -1, 3, 2.5, -0.0, 0.5, math.nan, math.inf, -math.inf, 1e30, -1e-30, 2 ** 63 - 1, 2 ** 70, True, False]
JUNK = [None, "a", [1, 2], (), object(), 1.5j, b"x"]

UNARY = ["neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
         "floor", "ceil", "round", "trunc", "sign", "erf", "logical_not", "bitwise_not", "isnan", "isinf", "square",
         "reciprocal", "frac"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
          "logical_or", "logical_xor", "remainder", "fmod", "floor_divide", "atan2", "bitwise_and", "bitwise_or",
          "hypot", "copysign", "fmax", "fmin", "xlogy"]
REDUCE = ["sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "all", "any", "var", "std", "logsumexp", "norm",
          "max", "min", "nansum", "count_nonzero"]
ACTIVATIONS = ["gelu", "silu", "softplus", "leaky_relu", "elu", "hardtanh", "relu6", "mish", "logsigmoid", "selu"]


class Fuzzer:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.np = np.random.default_rng(seed)

    # ------------------------------------------------------------------ argument makers
    def choice(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def shape(self, max_nd=4):
        nd = self.choice([0, 1, 1, 2, 2, 3, max_nd])
        return tuple(self.choice([0, 1, 1, 2, 3, 4, 5, 7]) for _ in range(nd))

    def dtype(self):
        return self.choice(ALL_DTYPES)

    def tensor(self, dtype=None, shape=None):
        dtype = dtype or self.dtype()
        shape = self.shape() if shape is None else shape
        t = make_tensor(shape, dtype, self.np, layout=self.choice(LAYOUTS), low=-5, high=5)
        if dtype.is_floating_point and t.numel() and self.chance(0.15):
            special = heron.tensor(self.choice([math.nan, math.inf, -math.inf, 0.0]), dtype=dtype)
            t = heron.where(heron.rand(t.shape) < 0.3, special, t)
        if dtype.is_floating_point and self.chance(0.2):
            t = t.detach().requires_grad_()
        return t

    def scalar(self):
        return self.choice(SCALARS)

    def operand(self, like=None):
        roll = self.r.random()
        if roll < 0.6:
            if like is not None and self.chance(0.5):
                return self.tensor(shape=tuple(like.shape)[self.r.randint(0, like.ndim):] if like.ndim else ())
            return self.tensor()
        if roll < 0.95:
            return self.scalar()
        return self.choice(JUNK)

    def dim(self, nd):
        roll = self.r.random()
        if roll < 0.8:
            return self.r.randint(-nd - 2, nd + 1)
        if roll < 0.9:
            return tuple(self.r.randint(-nd - 1, nd) for _ in range(self.r.randint(0, 3)))
        return self.choice([None, 1.5, "x", 2 ** 70])

    def size_args(self):
        if self.chance(0.15):
            return (self.choice(BAD_SIZES),) + self.shape(2)
        return self.shape()

    def index(self, size, shape=None):
        shape = self.shape(3) if shape is None else shape
        roll = self.r.random()
        if roll < 0.75:
            lo, hi = (-size - 2, size + 2) if self.chance(0.3) else (0, max(size, 1))
            return heron.tensor(self.np.integers(lo, hi, size=shape), dtype=self.choice([heron.int64, heron.int64, heron.int32]))
        if roll < 0.9:
            return self.tensor(dtype=self.choice([heron.float32, heron.bool, heron.uint8, heron.int16]), shape=shape)
        return self.choice(JUNK)

    def key_item(self, size):
        roll = self.r.random()
        if roll < 0.3:
            return self.r.randint(-size - 2, size + 1)
        if roll < 0.55:
            return slice(self.choice([None, -3, 0, 1, 2, 9]), self.choice([None, -1, 0, 2, 5, 100]), self.choice([None, 1, 2, 3, -1, 0]))
        if roll < 0.65:
            return self.choice([None, Ellipsis])
        if roll < 0.75:
            return [self.r.randint(-size - 1, size) for _ in range(self.r.randint(0, 3))]
        if roll < 0.9:
            return self.index(size, self.shape(2))
        return self.tensor(dtype=heron.bool, shape=self.choice([(size,), self.shape(2), ()]))

    def key(self, t):
        n = self.r.randint(1, max(t.ndim, 0) + 2)
        sizes = list(t.shape) + [1] * 4
        items = tuple(self.key_item(sizes[i]) for i in range(n))
        return items[0] if len(items) == 1 and self.chance(0.5) else items

    # ------------------------------------------------------------------ calls
    def call(self):
        """Returns (description, thunk) for one random API call."""
        kind = self.choice(CALL_KINDS)
        return kind.__name__, kind(self)


def _unary(f):
    return lambda: getattr(heron, f.choice(UNARY))(f.operand())


def _binary(f):
    a = f.operand()
    b = f.operand(a if isinstance(a, heron.Tensor) else None)
    name = f.choice(BINARY)
    return lambda: getattr(heron, name)(a, b)


def _operators(f):
    a, b = f.operand(), f.operand()
    op = f.choice(["__add__", "__rsub__", "__mul__", "__truediv__", "__rtruediv__", "__floordiv__", "__mod__", "__pow__",
                   "__rpow__", "__and__", "__or__", "__xor__", "__matmul__", "__lt__", "__eq__", "__iadd__", "__imul__",
                   "__itruediv__", "__ipow__", "__ifloordiv__", "__neg__", "__invert__", "__abs__"])
    if not isinstance(a, heron.Tensor):
        a = f.tensor()
    return lambda: getattr(a, op)(b) if op not in ("__neg__", "__invert__", "__abs__") else getattr(a, op)()


def _activation(f):
    F = heron.nn.functional
    name = f.choice(ACTIVATIONS)
    x = f.operand()
    kwargs = {}
    if name == "gelu" and f.chance(0.5):
        kwargs["approximate"] = f.choice(["tanh", "none", "bad"])
    if name == "softplus" and f.chance(0.5):
        kwargs = {"beta": f.scalar(), "threshold": f.scalar()}
    if name == "leaky_relu" and f.chance(0.5):
        kwargs = {"negative_slope": f.scalar()}
    if name == "hardtanh" and f.chance(0.5):
        kwargs = {"min_val": f.scalar(), "max_val": f.scalar()}
    return lambda: getattr(F, name)(x, **kwargs)


def _clamp_where_cast(f):
    x = f.tensor()
    roll = f.r.random()
    if roll < 0.35:
        lo = f.choice([None, f.scalar(), f.operand(x)])
        hi = f.choice([None, f.scalar(), f.operand(x)])
        return lambda: (x.clamp_ if f.chance(0.3) else x.clamp)(lo, hi)
    if roll < 0.6:
        return lambda: heron.where(f.tensor(dtype=f.choice([heron.bool, heron.bool, heron.float32])), x, f.operand(x))
    target = f.choice(ALL_DTYPES + [heron.float64, "cpu", "cuda", "nonsense", None])
    return lambda: x.to(target) if target is not None else x.to()


def _reduction(f):
    x = f.tensor()
    name = f.choice(REDUCE)
    kwargs = {}
    if f.chance(0.8):
        kwargs["dim"] = f.dim(x.ndim)
    if f.chance(0.4):
        kwargs["keepdim"] = f.chance(0.5)
    if name in ("sum", "mean", "prod") and f.chance(0.2):
        kwargs["dtype"] = f.dtype()
    if name in ("var", "std") and f.chance(0.5):
        kwargs["correction"] = f.choice([0, 1, 2, 10, -1, 0.5])
    if name == "norm" and f.chance(0.5):
        kwargs["p"] = f.choice([1, 2, 0, 3, math.inf, -math.inf, "fro", "nuc", 0.5, -1])
    if name in ("max", "min", "argmax", "argmin", "prod") and isinstance(kwargs.get("dim"), tuple):
        kwargs["dim"] = f.dim(x.ndim) if f.chance(0.5) else 0
    return lambda: getattr(heron, name)(x, **kwargs)


def _softmax_like(f):
    x = f.tensor()
    name = f.choice(["softmax", "log_softmax", "cumsum", "cumprod", "logsumexp"])
    kwargs = {"dtype": f.dtype()} if name != "logsumexp" and f.chance(0.2) else {}
    d = f.dim(x.ndim)
    return lambda: getattr(heron, name)(x, d, **kwargs)


def _views(f):
    x = f.tensor()
    nd = x.ndim
    roll = f.r.randint(0, 13)
    if roll == 0:
        shape = f.size_args() if f.chance(0.5) else (-1,) + tuple(f.shape(2))
        return lambda: x.reshape(*shape)
    if roll == 1:
        shape = (x.numel(),) if f.chance(0.5) else f.size_args()
        return lambda: x.view(*shape)
    if roll == 2:
        perm = list(range(nd))
        f.r.shuffle(perm)
        if f.chance(0.2):
            perm = perm + [0]
        return lambda: x.permute(*perm)
    if roll == 3:
        a, b = f.dim(nd), f.dim(nd)
        return lambda: x.transpose(a, b)
    if roll == 4:
        return lambda: x.t()
    if roll == 5:
        d = f.dim(nd)
        return lambda: x.squeeze(d) if f.chance(0.7) else x.squeeze()
    if roll == 6:
        d = f.r.randint(-nd - 2, nd + 2)
        return lambda: x.unsqueeze(d)
    if roll == 7:
        shape = tuple(f.choice([-1, 1, 2, 3, 0, s]) for s in (f.shape() + tuple(x.shape))[-(nd + f.r.randint(0, 2)):]) \
            if f.chance(0.8) else f.size_args()
        return lambda: x.expand(*shape) if f.chance(0.5) else heron.broadcast_to(x, shape)
    if roll == 8:
        a, b = f.dim(nd), f.dim(nd)
        return lambda: x.flatten(a, b)
    if roll == 9:
        d = f.dim(nd)
        sizes = f.choice([(2, -1), (1, 1, -1), (x.shape[0] if nd else 1,), (3, 3), (-1, -1)])
        return lambda: x.unflatten(d, sizes)
    if roll == 10:
        d = f.dim(nd)
        start, length = f.r.randint(-6, 6), f.r.randint(-1, 6)
        return lambda: x.narrow(d, start, length)
    if roll == 11:
        size = f.shape(3)
        stride = tuple(f.r.randint(-1, 6) for _ in size)
        offset = f.choice([None, 0, 1, 5, 100, -1])
        return lambda: x.as_strided(size, stride, offset)
    if roll == 12:
        return lambda: x.contiguous() if f.chance(0.5) else x.clone()
    return lambda: x.split(f.r.randint(-1, 4), f.dim(nd)) if f.chance(0.5) else x.chunk(f.r.randint(-1, 4), f.dim(nd))


def _joins(f):
    base = f.tensor()
    parts = [base] + [f.tensor(dtype=f.choice([base.dtype, f.dtype()]),
                               shape=tuple(base.shape) if f.chance(0.6) else f.shape()) for _ in range(f.r.randint(0, 3))]
    if f.chance(0.05):
        parts = f.choice([[], [base, 1], parts + [None]])
    d = f.dim(base.ndim + 1)
    return lambda: (heron.cat if f.chance(0.6) else heron.stack)(parts, d)


def _index_ops(f):
    x = f.tensor()
    nd = x.ndim
    d = f.dim(nd)
    size = x.shape[d] if isinstance(d, int) and -nd <= d < nd else 3
    roll = f.r.randint(0, 7)
    if roll == 0:
        return lambda: heron.gather(x, d, f.index(size, tuple(x.shape) if f.chance(0.5) else f.shape()))
    if roll == 1:
        idx = f.index(size, tuple(x.shape) if f.chance(0.6) else f.shape())
        src = f.choice([f.tensor(dtype=x.dtype, shape=tuple(getattr(idx, "shape", ()))), f.scalar(), f.tensor()])
        return lambda: heron.scatter(x, d, idx, src)
    if roll == 2:
        idx = f.index(size, tuple(x.shape) if f.chance(0.6) else f.shape())
        return lambda: heron.scatter_add(x, d, idx, f.tensor(dtype=x.dtype, shape=tuple(getattr(idx, "shape", ()))))
    if roll == 3:
        return lambda: heron.index_select(x, d, f.index(size, f.shape(1)))
    if roll == 4:
        idx = f.index(size, (f.r.randint(0, 4),))
        shape = list(x.shape)
        if isinstance(d, int) and -nd <= d < nd and hasattr(idx, "shape") and idx.ndim == 1:
            shape[d] = idx.shape[0]
        src = f.tensor(dtype=x.dtype, shape=tuple(shape))
        return lambda: x.index_add_(d, idx, src, alpha=f.choice([1, 2, 0.5]))
    if roll == 5:
        mask = f.tensor(dtype=f.choice([heron.bool, heron.bool, heron.float32]), shape=f.choice([tuple(x.shape), f.shape()]))
        value = f.choice([f.scalar(), f.tensor(shape=()), f.tensor()])
        return lambda: (x.masked_fill(mask, value) if f.chance(0.5) else x.masked_fill_(mask, value))
    if roll == 6:
        mask = f.tensor(dtype=f.choice([heron.bool, heron.bool, heron.int64]), shape=f.choice([tuple(x.shape), f.shape()]))
        return lambda: heron.masked_select(x, mask)
    return lambda: heron.take_along_dim(x, f.index(size, tuple(x.shape)), d)


def _getitem(f):
    x = f.tensor()
    key = f.key(x)
    return lambda: x[key]


def _setitem(f):
    x = f.tensor()
    key = f.key(x)
    value = f.choice([f.scalar(), f.tensor(), f.tensor(shape=()), f.choice(JUNK)])

    def run():
        x[key] = value
        return x

    return run


def _misc(f):
    x = f.tensor()
    roll = f.r.randint(0, 8)
    if roll == 0:
        return lambda: (heron.tril if f.chance(0.5) else heron.triu)(x, f.r.randint(-5, 5))
    if roll == 1:
        t = f.index(f.r.randint(0, 6), f.shape(2))
        return lambda: heron.nn.functional.one_hot(t, f.choice([-1, 0, 3, 6, 2 ** 62]))
    if roll == 2:
        return lambda: heron.topk(x, f.r.randint(-1, 6), f.dim(x.ndim) if f.chance(0.5) else -1,
                                  largest=f.chance(0.5), sorted=f.chance(0.8))
    if roll == 3:
        return lambda: heron.sort(x, f.dim(x.ndim) if f.chance(0.5) else -1, descending=f.chance(0.5), stable=f.chance(0.5))
    if roll == 4:
        p = f.tensor(dtype=f.choice(FLOAT_DTYPES + [heron.int64]), shape=f.choice([(5,), (3, 4), (), (0,), (2, 0)]))
        return lambda: heron.multinomial(p.abs() if f.chance(0.7) and p.is_floating_point() else p,
                                         f.choice([0, 1, 3, 10, -1, 2 ** 40]), f.chance(0.5))
    if roll == 5:
        y = f.tensor(dtype=x.dtype, shape=tuple(reversed(x.shape)) if f.chance(0.5) else f.shape())
        return lambda: heron.matmul(x, y)
    if roll == 6:
        return lambda: (repr(x), x.tolist(), x.numel() == 1 and x.item())
    if roll == 7:
        return lambda: heron.from_dlpack(x.detach()) if f.chance(0.5) else heron.from_numpy(x.detach().numpy())
    return lambda: heron.nn.functional.softmax(x, f.dim(x.ndim))


def _creation(f):
    roll = f.r.randint(0, 9)
    size = f.size_args()
    dtype = f.choice([None, f.dtype()])
    if roll == 0:
        return lambda: heron.zeros(*size, dtype=dtype)
    if roll == 1:
        return lambda: heron.ones(size, dtype=dtype)
    if roll == 2:
        return lambda: heron.empty(*size, dtype=dtype)
    if roll == 3:
        return lambda: heron.full(size, f.scalar(), dtype=dtype)
    if roll == 4:
        return lambda: heron.arange(f.choice([0, -3, 2.5, 5]), f.choice([5, 0, -1, 7.5, math.nan]), f.choice([1, 2, -1, 0, 0.5]),
                                    dtype=dtype)
    if roll == 5:
        return lambda: heron.linspace(f.scalar(), f.scalar(), f.choice([0, 1, 5, -1]), dtype=f.choice([None, heron.float64]))
    if roll == 6:
        return lambda: (heron.rand if f.chance(0.5) else heron.randn)(*size, dtype=f.choice([None] + FLOAT_DTYPES))
    if roll == 7:
        return lambda: heron.randint(f.choice([0, -5, 10]), f.choice([1, 5, 0, 2 ** 40]), size)
    if roll == 8:
        return lambda: heron.randperm(f.choice([0, 1, 5, 100, -1]))
    return lambda: heron.tensor(f.choice([[1, 2], [[1.5], [2]], [True, 0], [[1, 2], [3]], "abc", None, [], 3.5, [math.nan]]),
                                dtype=dtype)


def _inplace(f):
    x = f.tensor()
    other = f.operand(x)
    name = f.choice(["add_", "sub_", "mul_", "div_", "copy_", "fill_", "zero_", "clamp_", "exp_", "relu_", "neg_",
                     "pow_", "masked_fill_", "t_"])
    if name == "zero_":
        return lambda: x.zero_()
    if name == "clamp_":
        return lambda: x.clamp_(f.scalar(), f.choice([None, f.scalar()]))
    if name == "masked_fill_":
        return lambda: x.masked_fill_(f.tensor(dtype=heron.bool, shape=tuple(x.shape)), other)
    if name in ("exp_", "relu_", "neg_"):
        return lambda: getattr(x, name)()
    if name == "t_":
        return lambda: x.t().add_(1)
    return lambda: getattr(x, name)(other)


def _autograd(f):
    x = f.tensor(dtype=f.choice([heron.float32, heron.float64]))
    x = x.detach().requires_grad_()

    def run():
        y = x
        for _ in range(f.r.randint(1, 5)):
            step = f.r.randint(0, 7)
            if step == 0:
                y = y * f.choice([2.0, x, -1.0])
            elif step == 1:
                y = heron.tanh(y) if f.chance(0.5) else y.exp()
            elif step == 2:
                y = y.sum(f.dim(y.ndim)) if y.ndim and f.chance(0.5) else y.sum()
            elif step == 3:
                y = heron.softmax(y, -1) if y.ndim else y
            elif step == 4:
                y = y.t() if y.ndim <= 2 else y.transpose(0, 1)
            elif step == 5:
                y = y[f.key(y)] if y.ndim else y
            elif step == 6:
                y = y.clamp(-1, 1) * y.abs()
            else:
                y = y.reshape(-1)
        gradient = f.choice([None, heron.ones_like(y), f.tensor(dtype=y.dtype)])
        y.backward(gradient, retain_graph=f.chance(0.3), create_graph=f.chance(0.2))
        if f.chance(0.3):
            y.backward(gradient)
        return x.grad

    return run


def _threads(f):
    n = f.choice([1, 2, 0, -1, 3])
    return lambda: heron.set_num_threads(n)


CALL_KINDS = [_unary, _binary, _operators, _activation, _clamp_where_cast, _reduction, _softmax_like, _views, _joins,
              _index_ops, _getitem, _setitem, _misc, _creation, _inplace, _autograd, _threads]


def touch(out):
    """Reads every element of each result (a bad view or buffer shows up here, not later)."""
    stack = [out]
    while stack:
        o = stack.pop()
        if isinstance(o, heron.Tensor):
            if o.numel() <= 1_000_000:
                o.detach().contiguous()
                if o.numel() <= 64:
                    repr(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)


def _builtin_name(exc) -> str:
    """The most derived builtin class of ``exc`` (heron.ShapeError counts as RuntimeError)."""
    import builtins

    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return type(exc).__name__


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--quiet", action="store_true", help="do not log each call to stderr")
    parser.add_argument("--show", default="", help="comma-separated exception names whose origins to print")
    args = parser.parse_args(argv)
    faulthandler.enable()
    fuzzer = Fuzzer(args.seed)
    outcomes = collections.Counter()
    threads = heron.get_num_threads()
    for i in range(args.calls):
        name = "?"
        try:
            name, thunk = fuzzer.call()
            if not args.quiet:
                sys.stderr.write(f"{i} {name}\n")
                sys.stderr.flush()
            touch(thunk())
            outcomes["ok"] += 1
        except Exception as e:  # noqa: BLE001 - any Python exception is an acceptable outcome
            outcomes[_builtin_name(e)] += 1
            if _builtin_name(e) in args.show.split(","):
                import traceback

                frame = traceback.extract_tb(e.__traceback__)[-1]
                print(f"{type(e).__name__} in {name}: {e} ({frame.filename}:{frame.lineno})")
        finally:
            heron.set_grad_enabled(True)
    heron.set_num_threads(threads)
    summary = " ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
    print(f"FUZZ DONE seed={args.seed} calls={args.calls} {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
