"""Elementwise ops: unary math and activations, binary arithmetic and comparisons, where,
clamp, casts. Each differentiable op has its backward beside its forward, written in heron ops
so it can be differentiated again."""
from __future__ import annotations

import math

from .. import _C
from .._dtype import as_dtype
from .._tensor import Tensor
from ..autograd.function import Function
from .._dtype import from_code
from ._util import arr, grad_needed, sum_to, wrap

_U = _C.UNARY
_B = _C.BINARY


# ---------------------------------------------------------------------------- unary
# name -> (what backward needs: "x" input or "y" output, gradient rule g, v, p0, p1 -> grad)
def _g_gelu(g, x, p0, p1):
    cdf = 0.5 * (1.0 + erf(x * 0.7071067811865476))
    pdf = exp(-0.5 * x * x) * 0.3989422804014327
    return g * (cdf + x * pdf)


def _g_gelu_tanh(g, x, p0, p1):
    k, kappa = 0.7978845608028654, 0.044715
    t = tanh(k * (x + kappa * x * x * x))
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * kappa * x * x))


def _g_silu(g, x, p0, p1):
    s = sigmoid(x)
    return g * s * (1.0 + x * (1.0 - s))


def _g_mish(g, x, p0, p1):
    tsp = tanh(unary("softplus", x, 1.0, 20.0))
    return g * (tsp + x * sigmoid(x) * (1.0 - tsp * tsp))


def _g_softplus(g, x, beta, threshold):
    return where(x * beta > threshold, g, g * sigmoid(x * beta))


def _g_elu(g, x, alpha, scale):
    return where(x > 0, g * scale, g * (scale * alpha) * exp(x))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805

UNARY_GRADS = {
    "neg": ("x", lambda g, x, a, b: -g),
    "abs": ("x", lambda g, x, a, b: g * sign(x)),
    "sign": ("x", lambda g, x, a, b: g * 0.0),
    "square": ("x", lambda g, x, a, b: g * 2.0 * x),
    "reciprocal": ("y", lambda g, y, a, b: -g * y * y),
    "exp": ("y", lambda g, y, a, b: g * y),
    "exp2": ("y", lambda g, y, a, b: g * y * math.log(2.0)),
    "log": ("x", lambda g, x, a, b: g / x),
    "log2": ("x", lambda g, x, a, b: g / (x * math.log(2.0))),
    "log10": ("x", lambda g, x, a, b: g / (x * math.log(10.0))),
    "log1p": ("x", lambda g, x, a, b: g / (x + 1.0)),
    "expm1": ("y", lambda g, y, a, b: g * (y + 1.0)),
    "sqrt": ("y", lambda g, y, a, b: g / (2.0 * y)),
    "rsqrt": ("y", lambda g, y, a, b: -0.5 * g * y * y * y),
    "sin": ("x", lambda g, x, a, b: g * cos(x)),
    "cos": ("x", lambda g, x, a, b: -g * sin(x)),
    "tan": ("y", lambda g, y, a, b: g * (1.0 + y * y)),
    "asin": ("x", lambda g, x, a, b: g * rsqrt(1.0 - x * x)),
    "acos": ("x", lambda g, x, a, b: -g * rsqrt(1.0 - x * x)),
    "atan": ("x", lambda g, x, a, b: g / (1.0 + x * x)),
    "sinh": ("x", lambda g, x, a, b: g * cosh(x)),
    "cosh": ("x", lambda g, x, a, b: g * sinh(x)),
    "tanh": ("y", lambda g, y, a, b: g * (1.0 - y * y)),
    "asinh": ("x", lambda g, x, a, b: g * rsqrt(x * x + 1.0)),
    "acosh": ("x", lambda g, x, a, b: g * rsqrt(x * x - 1.0)),
    "atanh": ("x", lambda g, x, a, b: g / (1.0 - x * x)),
    "erf": ("x", lambda g, x, a, b: g * 1.1283791670955126 * exp(-x * x)),
    "erfc": ("x", lambda g, x, a, b: -g * 1.1283791670955126 * exp(-x * x)),
    "sigmoid": ("y", lambda g, y, a, b: g * y * (1.0 - y)),
    "logsigmoid": ("x", lambda g, x, a, b: g * sigmoid(-x)),
    "relu": ("y", lambda g, y, a, b: g * (y > 0)),
    "relu6": ("x", lambda g, x, a, b: g * logical_and(x > 0, x < 6)),
    "gelu": ("x", _g_gelu),
    "gelu_tanh": ("x", _g_gelu_tanh),
    "silu": ("x", _g_silu),
    "mish": ("x", _g_mish),
    "softplus": ("x", _g_softplus),
    "leaky_relu": ("x", lambda g, x, slope, b: where(x > 0, g, g * slope)),
    "elu": ("x", _g_elu),
    "selu": ("x", lambda g, x, a, b: _g_elu(g, x, _SELU_ALPHA, _SELU_SCALE)),
    "hardtanh": ("x", lambda g, x, lo, hi: g * logical_and(x > lo, x < hi)),
    "hardsigmoid": ("x", lambda g, x, a, b: g * logical_and(x > -3.0, x < 3.0) / 6.0),
    "hardswish": ("x", lambda g, x, a, b: where(x < -3.0, g * 0.0, where(x <= 3.0, g * (x / 3.0 + 0.5), g))),
    "clamp": ("x", lambda g, x, lo, hi: g * logical_and(x >= lo, x <= hi)),
    "floor": ("x", lambda g, x, a, b: g * 0.0),
    "ceil": ("x", lambda g, x, a, b: g * 0.0),
    "round": ("x", lambda g, x, a, b: g * 0.0),
    "trunc": ("x", lambda g, x, a, b: g * 0.0),
    "frac": ("x", lambda g, x, a, b: g),
    "nan_to_num": ("x", lambda g, x, a, b: g * isfinite(x)),
}


class Unary(Function):
    """One elementwise unary op; ``name`` selects the kernel and the gradient rule."""

    @staticmethod
    def forward(ctx, x, name, p0, p1):
        y = wrap(_C.unary(_U[name], x._a, p0, p1))
        ctx.op, ctx.p = name, (p0, p1)
        needs = UNARY_GRADS[name][0]
        ctx.save_for_backward(x if needs == "x" else y)
        return y

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        return UNARY_GRADS[ctx.op][1](g, v, *ctx.p), None, None, None


def unary(name, x, p0=0.0, p1=0.0):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if name in UNARY_GRADS and grad_needed(x):
        return Unary.apply(x, name, float(p0), float(p1))
    return wrap(_C.unary(_U[name], x._a, p0, p1))


def unary_(name, x, p0=0.0, p1=0.0):
    """In-place unary op. Under autograd the old value is kept for backward."""
    if grad_needed(x):
        return _rebase_inplace(x, unary(name, _snapshot(x), p0, p1))
    _C.unary_(_U[name], x._a, p0, p1)
    return x


def _make_unary(name):
    def op(input):
        return unary(name, input)

    def op_(input):
        return unary_(name, input)

    op.__name__, op_.__name__ = name, name + "_"
    op.__doc__ = f"Elementwise {name}, as torch.{name}."
    return op, op_


for _name in ["neg", "abs", "sign", "square", "reciprocal", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1",
              "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
              "acosh", "atanh", "erf", "erfc", "sigmoid", "floor", "ceil", "trunc", "frac", "logical_not",
              "bitwise_not", "isnan", "isinf", "isfinite", "signbit", "relu"]:
    globals()[_name], globals()[_name + "_"] = _make_unary(_name)
del _name

negative = neg
absolute = abs
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
fix = trunc


def round(input, *, decimals=0):
    if decimals == 0:
        return unary("round", input)
    scale = 10.0 ** decimals
    return unary("round", input * scale) / scale


def round_(input, *, decimals=0):
    return _copy_into(input, round(input, decimals=decimals))


def isneginf(input):
    return logical_and(isinf(input), signbit(input))


def isposinf(input):
    return logical_and(isinf(input), logical_not(signbit(input)))


def isreal(input):
    return ones_like_bool(input)


def ones_like_bool(input):
    return wrap(_C.full(input._a.shape, True, 0))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    dtype = input.dtype
    if not dtype.is_floating_point:
        return input.clone()
    big = _finfo_max(dtype)
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    out = unary("nan_to_num", input, nan, posinf)
    if neginf != -posinf:
        out = where(isneginf(input), neginf, out)
    return out


def _finfo_max(dtype):
    return {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38,
            "float64": 1.7976931348623157e308}[dtype._name]


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor) or not input.dtype.is_floating_point:
        # maximum then minimum: integer bounds stay exact, the result dtype follows type
        # promotion (an integer tensor with a float bound gives a float tensor), and
        # min > max gives max, as in torch.
        out = input
        if min is not None:
            out = binary("maximum", out, min)
        if max is not None:
            out = binary("minimum", out, max)
        return out
    return unary("clamp", input, -math.inf if min is None else min, math.inf if max is None else max)


def clamp_(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("clamp_: At least one of 'min' or 'max' must not be None")
    if input.dtype.is_floating_point and not grad_needed(input) and not isinstance(min, Tensor) \
            and not isinstance(max, Tensor):
        _C.unary_(_U["clamp"], input._a, -math.inf if min is None else min, math.inf if max is None else max)
        return input
    result = clamp(_snapshot(input) if grad_needed(input) else input, min, max)
    if not _can_cast(result.dtype, input.dtype):
        raise RuntimeError(f"result type {result.dtype._name} can't be cast to the desired output type {input.dtype._name}")
    return _copy_into(input, result)


clip, clip_ = clamp, clamp_


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def _default_float():
    from .._dtype import from_code

    return from_code(_C.get_default_dtype())


def _scalar_like(value, like):
    return wrap(_C.scalar(value, like._a.dtype))


def cast(x, dtype):
    dtype = as_dtype(dtype)
    if x.dtype is dtype:
        return x
    if grad_needed(x) and dtype.is_floating_point:
        return Cast.apply(x, dtype)
    return wrap(_C.cast(x._a, dtype._code))


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return wrap(_C.cast(x._a, dtype._code))

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.src), None


# ---------------------------------------------------------------------------- binary
# name -> (rule for d/d input, rule for d/d other); each rule is (g, a, b, y) -> gradient.
BINARY_GRADS = {
    "add": (lambda g, a, b, y: g, lambda g, a, b, y: g),
    "sub": (lambda g, a, b, y: g, lambda g, a, b, y: -g),
    "mul": (lambda g, a, b, y: g * b, lambda g, a, b, y: g * a),
    "div": (lambda g, a, b, y: g / b, lambda g, a, b, y: -g * a / (b * b)),
    "pow": (lambda g, a, b, y: g * b * pow(a, b - 1.0), lambda g, a, b, y: _pow_exponent_grad(g, a, b, y)),
    "maximum": (lambda g, a, b, y: _minmax_grad(g, a, b, True), lambda g, a, b, y: _minmax_grad(g, b, a, True)),
    "minimum": (lambda g, a, b, y: _minmax_grad(g, a, b, False), lambda g, a, b, y: _minmax_grad(g, b, a, False)),
    "fmax": (lambda g, a, b, y: _minmax_grad(g, a, b, True), lambda g, a, b, y: _minmax_grad(g, b, a, True)),
    "fmin": (lambda g, a, b, y: _minmax_grad(g, a, b, False), lambda g, a, b, y: _minmax_grad(g, b, a, False)),
    "atan2": (lambda g, a, b, y: g * b / (a * a + b * b), lambda g, a, b, y: -g * a / (a * a + b * b)),
    "remainder": (lambda g, a, b, y: g, lambda g, a, b, y: -g * floor_divide(a, b)),
    "fmod": (lambda g, a, b, y: g, lambda g, a, b, y: -g * trunc(a / b)),
    "hypot": (lambda g, a, b, y: g * a / y, lambda g, a, b, y: g * b / y),
    "copysign": (lambda g, a, b, y: g * where(a == 0, 0.0, sign(a) * sign(y)), lambda g, a, b, y: g * 0.0),
    "xlogy": (lambda g, a, b, y: g * where(logical_and(a == 0, logical_not(isnan(b))), 0.0, log(b)),
              lambda g, a, b, y: g * a / b),
}


def _pow_exponent_grad(g, a, b, y):
    if isinstance(a, Tensor):
        return g * where(logical_and(a == 0, b >= 0), 0.0, y * log(a))
    return g * y * math.log(a) if a > 0 else g * 0.0


def _minmax_grad(g, mine, other, greater):
    """Gradient to ``mine`` of max/min(mine, other): all of it where mine wins, half on ties."""
    wins = (mine > other) if greater else (mine < other)
    return g * wins + g * (mine == other) * 0.5


class Binary(Function):
    @staticmethod
    def forward(ctx, a, b, name):
        y = wrap(_C.binary(_B[name], arr(a), arr(b)))
        ctx.op = name
        if name in ("add", "sub"):
            ctx.save_for_backward()
        elif name in ("pow", "hypot", "copysign"):
            ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None, y)
        else:
            ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.a_num = None if isinstance(a, Tensor) else a
        ctx.b_num = None if isinstance(b, Tensor) else b
        return y

    @staticmethod
    def backward(ctx, g):
        rules = BINARY_GRADS[ctx.op]
        if ctx.op in ("add", "sub"):
            a = b = y = None
        else:
            saved = ctx.saved_tensors
            a = saved[0] if saved[0] is not None else ctx.a_num
            b = saved[1] if saved[1] is not None else ctx.b_num
            y = saved[2] if len(saved) > 2 else None
        need = ctx.needs_input_grad
        ga = _fit(rules[0](g, a, b, y), ctx, 0) if need[0] else None
        gb = _fit(rules[1](g, a, b, y), ctx, 1) if need[1] else None
        return ga, gb, None


def _fit(grad, ctx, i):
    """Reduces a broadcast gradient to input i's shape and casts it to its dtype."""
    shape, code = ctx._input_meta[i]
    g = sum_to(grad, shape)
    if g._a.dtype != code:
        g = cast(g, from_code(code))
    return g


_NON_DIFF = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and",
             "bitwise_or", "bitwise_xor", "floor_divide"}


def binary(name, a, b):
    if name not in _NON_DIFF and grad_needed(a, b):
        return _binary_graph(name, a, b)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    return wrap(_C.binary(_B[name], arr(a), arr(b)))


def _binary_graph(name, a, b):
    # Input metadata lets backward reduce and cast each gradient to its input.
    meta = tuple((x._a.shape, x._a.dtype) if isinstance(x, Tensor) else ((), 9) for x in (a, b))
    out = Binary.apply(a, b, name)
    out.grad_fn._input_meta = meta
    return out


def binary_(name, self, other):
    """In-place binary op ``self op= other``."""
    if grad_needed(self, other):
        return _rebase_inplace(self, binary(name, _snapshot(self), other))
    _C.binary_(_B[name], self._a, arr(other))
    return self


def _snapshot(x):
    """A copy of ``x`` that carries x's place in the graph (the value an in-place op reads)."""
    if x.grad_fn is None and x.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if getattr(x, "_is_view_of_grad", False):
        raise NotImplementedError(
            "in-place operation on a view of a tensor that requires grad: heron does not track views through "
            "in-place ops; use an out-of-place op (e.g. x = x * 2) instead"
        )
    snap = wrap(_C.clone(x._a))
    snap.grad_fn, snap._output_nr, snap._requires_grad = x.grad_fn, x._output_nr, x._requires_grad
    return snap


def _rebase_inplace(x, result):
    """Writes ``result`` into x's memory and makes x the output of result's graph node."""
    if result.dtype is not x.dtype:
        if not _can_cast(result.dtype, x.dtype):
            raise RuntimeError(f"result type {result.dtype._name} can't be cast to the desired output type {x.dtype._name}")
        result = cast(result, x.dtype)
    if result.grad_fn is None:
        # New data (fill_, zero_, copy_ of a constant or a leaf): x's old value stays in the
        # graph with a zero gradient, so x still requires grad, as in torch.
        result = keep_in_graph(_graph_alias(x), result)
    _C.copy_(x._a, result._a)
    x.grad_fn, x._output_nr = result.grad_fn, result._output_nr
    return x


def _graph_alias(x):
    """A tensor sharing x's memory and x's place in the graph (no copy)."""
    t = wrap(x._a.alias())
    t.grad_fn, t._output_nr = x.grad_fn, x._output_nr
    return t


class _KeepInGraph(Function):
    @staticmethod
    def forward(ctx, source, value):
        ctx.source_meta = (source._a.shape, source._a.dtype)
        return value

    @staticmethod
    def backward(ctx, g):
        shape, code = ctx.source_meta
        return wrap(_C.full(list(shape), 0, code)), g


def keep_in_graph(source, value):
    """``value`` unchanged, recorded as depending on ``source`` with a zero gradient (for
    results that ignore an input torch still counts as differentiable)."""
    return _KeepInGraph.apply(source, value)


def _copy_into(x, result):
    if grad_needed(x, result):
        if x.grad_fn is None and x.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        return _rebase_inplace(x, result)
    _C.copy_(x._a, result._a)
    return x


def _can_cast(src, dst):
    if dst.is_floating_point:
        return True
    if src.is_floating_point:
        return False
    if dst._name == "bool":
        return src._name == "bool"
    return True


# torch accepts only a Tensor as ``other`` for these (a number raises TypeError).
_TENSOR_OTHER = {"maximum", "minimum", "fmax", "fmin", "atan2", "hypot", "logical_and", "logical_or", "logical_xor"}


def _make_binary(name):
    def op(input, other):
        if name in _TENSOR_OTHER and not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
        return binary(name, input, other)

    def op_(input, other):
        return binary_(name, input, other)

    op.__name__, op_.__name__ = name, name + "_"
    op.__doc__ = f"Elementwise {name} with broadcasting and type promotion, as torch.{name}."
    return op, op_


for _name in ["mul", "maximum", "minimum", "fmax", "fmin", "atan2", "remainder", "fmod", "floor_divide",
              "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and",
              "bitwise_or", "bitwise_xor", "hypot", "copysign", "xlogy"]:
    globals()[_name], globals()[_name + "_"] = _make_binary(_name)
del _name

multiply, multiply_ = mul, mul_
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
arctan2 = atan2


def _scaled(input, other, alpha):
    """``other * alpha`` for add/sub, rejecting a float alpha for integer inputs as torch does."""
    if alpha == 1:
        return other
    if isinstance(alpha, float) and not from_code(_C.result_dtype(_B["add"], arr(input), arr(other))).is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return other * alpha


def add(input, other, *, alpha=1):
    return binary("add", input, _scaled(input, other, alpha))


def add_(input, other, *, alpha=1):
    return binary_("add", input, _scaled(input, other, alpha))


def sub(input, other, *, alpha=1):
    return binary("sub", input, _scaled(input, other, alpha))


def sub_(input, other, *, alpha=1):
    return binary_("sub", input, _scaled(input, other, alpha))


subtract, subtract_ = sub, sub_


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary("div", input, other)
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    out = _from_code(_C.result_dtype(_B["add"], arr(input), arr(other)))
    if rounding_mode == "trunc" and out.is_floating_point:
        return trunc(binary("div", input, other))  # torch truncates the quotient rounded to the dtype
    # floor_divide is exact: for floats it is torch's fmod-based floor (floor(a / b) is off by
    # one where the quotient rounds up to an integer), for integers plain integer division.
    q = binary("floor_divide", input, other)
    if rounding_mode == "trunc":  # integers: move toward zero where inexact and the signs differ
        inexact = ne(binary("remainder", input, other), 0)
        signs_differ = binary("ne", *(binary("lt", x, 0) if isinstance(x, Tensor) else x < 0 for x in (input, other)))
        q = q + logical_and(inexact, signs_differ)
    elif grad_needed(input, other):  # piecewise constant: zero gradients, but in the graph, as torch
        for x in (input, other):
            if grad_needed(x):
                q = keep_in_graph(x, q)
    return q


def _from_code(code):
    from .._dtype import from_code

    return from_code(code)


def div_(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary_("div", input, other)
    return _copy_into(input, div(input, other, rounding_mode=rounding_mode))


divide, divide_, true_divide, true_divide_ = div, div_, div, div_


def pow(input, exponent):
    if not isinstance(input, Tensor):
        return binary("pow", input, exponent)
    if not isinstance(exponent, Tensor) and not input.dtype.is_floating_point and isinstance(exponent, int) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if not isinstance(exponent, Tensor) and grad_needed(input):
        return ScalarPow.apply(input, exponent)
    return binary("pow", input, exponent)


class ScalarPow(Function):
    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        ctx.save_for_backward(x)
        return wrap(_C.binary(_B["pow"], x._a, p))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.p
        if p == 0:
            return g * 0.0, None
        return g * p * pow(x, p - 1), None


def pow_(input, exponent):
    return binary_("pow", input, exponent) if not grad_needed(input) else _rebase_inplace(input, pow(_snapshot(input), exponent))


def float_power(input, exponent):
    from .._dtype import float64

    a = input.to(float64) if isinstance(input, Tensor) else input
    b = exponent.to(float64) if isinstance(exponent, Tensor) else exponent
    return pow(a, b)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.meta = tuple((x.shape, x.dtype) if isinstance(x, Tensor) else None for x in (a, b))
        return wrap(_C.where(cond._a, arr(a), arr(b)))

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        from ._util import sum_to

        zero = g * 0.0
        out = [None]
        for i, pick in ((0, True), (1, False)):
            if ctx.needs_input_grad[i + 1]:
                shape, dt = ctx.meta[i]
                gi = sum_to(where(cond, g, zero) if pick else where(cond, zero, g), shape)
                out.append(cast(gi, dt))
            else:
                out.append(None)
        return tuple(out)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if grad_needed(input, other):
        return Where.apply(condition, input, other)
    return wrap(_C.where(condition._a, arr(input), arr(other)))


def lerp(input, end, weight):
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 / tensor2


def logit(input, eps=None):
    x = input if eps is None else clamp(input, eps, 1.0 - eps)
    return log(x / (1.0 - x))


def sinc(input):
    px = input * math.pi
    return where(input == 0, 1.0, sin(px) / where(input == 0, 1.0, px))


def deg2rad(input):
    return input * (math.pi / 180.0)


def rad2deg(input):
    return input * (180.0 / math.pi)


def logaddexp(input, other):
    m = maximum(input, other).detach()
    m = where(isinf(m), 0.0, m)
    return m + log(exp(input - m) + exp(other - m))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    diff = abs(input - other)
    close = le(diff, atol + rtol * abs(other))
    close = logical_or(close, eq(input, other))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(input), isnan(other)))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input, other) -> bool:
    return input.shape == other.shape and bool(eq(input, other).all())
