"""The op database: one ``OpInfo`` per op, driving forward, gradient, error, conformance and
benchmark coverage.

An entry names the heron callable and the torch callable it mirrors (both found from the same
dotted path, e.g. ``"add"``, ``"Tensor.add_"``, ``"nn.functional.gelu"``), a NumPy float64
reference, the dtypes it supports, a generator of sample inputs (which always includes 0-d,
empty, broadcast and non-contiguous cases), a generator of error inputs with the exception
torch raises for the same call, a tolerance per dtype, whether it is differentiable, and a
FLOP/byte count for benchmarks.

Adding an op: write its entry near its family, reusing the family's sample generator.
A known C++ bug is recorded as data, never by weakening a check: ``KnownFailure`` (samples that
give wrong results) or ``ErrorInput.xfail`` (a wrong exception type); the tests run those as
strict xfails so that a fix is noticed.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

import heron
from heron import Tensor

from . import references
from .tensors import ALL_DTYPES, FLOATS, from_values, make_tensor, round_to, tensors_in, to_numpy_structure

bool_, int64, int32, float32, float64 = heron.bool, heron.int64, heron.int32, heron.float32, heron.float64

FLOAT = FLOATS
FLOAT_INT = FLOATS + (int64, int32)


# ---------------------------------------------------------------------------- records
@dataclass
class SampleInput:
    """One call: ``op(*args, **kwargs)``. ``desc`` says what the case exercises."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    desc: str = ""
    fd: bool = True  # False: piecewise-constant in its float inputs, finite differences don't apply

    def __repr__(self):
        def fmt(a):
            if isinstance(a, Tensor):
                layout = "" if a.is_contiguous() else f" strides={a.stride()}"
                return f"T{list(a.shape)}:{a.dtype._name}{layout}"
            if isinstance(a, (list, tuple)):
                inner = ", ".join(fmt(x) for x in a)
                return f"[{inner}]" if isinstance(a, list) else f"({inner})"
            return repr(a)

        args = ", ".join(fmt(a) for a in self.args)
        kw = "".join(f", {k}={fmt(v)}" for k, v in self.kwargs.items())
        return f"SampleInput({args}{kw}){' # ' + self.desc if self.desc else ''}"


@dataclass
class ErrorInput:
    """A call that must raise ``exc_type`` (what torch raises) with a message matching ``match``."""

    sample: SampleInput
    exc_type: type
    match: str = ""
    xfail: str | None = None  # reason, for a logged C++ bug: the test is a strict xfail


@dataclass
class KnownFailure:
    """Samples (by ``desc``; "*" for all) that fail for a logged C++ bug in the given tests
    ("forward": values against NumPy, "conformance": values, dtypes and aliasing against
    torch); those tests run them as strict xfails."""

    desc: str
    reason: str
    dtypes: tuple | None = None  # None: every dtype
    tests: tuple = ("forward", "conformance")

    def applies(self, sample, dtype, test) -> bool:
        return (self.desc in ("*", sample.desc) and (self.dtypes is None or dtype in self.dtypes)
                and test in self.tests)


@dataclass
class OpInfo:
    name: str
    torch_name: str  # dotted path under both ``heron`` and ``torch``
    ref: Callable | None  # NumPy reference on float64/int64/bool arrays; None: no reference
    dtypes: tuple
    sample_inputs_func: Callable  # (dtype, rng) -> iterable of SampleInput
    error_inputs_func: Callable | None = None  # (rng) -> iterable of ErrorInput
    tol: dict = field(default_factory=dict)  # dtype -> (rtol, atol), overriding TOLERANCES
    differentiable: bool = True
    inplace: bool = False  # mutates and returns args[0]
    view: bool = False  # the result shares memory with args[0]
    cost: Callable | None = None  # (sample, out) -> (flops, bytes)
    op: Callable | None = None  # heron callable; default: resolve torch_name in heron
    torch_op: Callable | None = None  # default: resolve torch_name in torch
    method: str | None = None  # a Tensor method that must agree with op
    statistical: bool = False  # random output: no elementwise reference
    grad_tol: tuple = (1e-4, 1e-6)  # (rtol, atol) of the random-direction check
    known_failures: tuple = ()  # KnownFailure entries for logged C++ bugs
    kinks_at_ties: bool = False  # not differentiable where input elements are equal (max, sort, ...)
    ref_takes_dtype: bool = False  # ref(..., dtype=) models a rounding to the sample's dtype

    def __post_init__(self):
        if self.op is None:
            self.op = resolve(heron, self.torch_name)
        if self.cost is None:
            self.cost = elementwise_cost(1)

    def get_torch_op(self):
        import torch

        return self.torch_op if self.torch_op is not None else resolve(torch, self.torch_name)

    def sample_inputs(self, dtype, rng, *, test="forward", known_failures=False) -> Iterable[SampleInput]:
        """The op's samples for ``dtype``: those expected to pass ``test``, or with
        known_failures=True only the samples of a KnownFailure (for the xfail tests)."""
        for sample in self.sample_inputs_func(dtype, rng):
            if any(k.applies(sample, dtype, test) for k in self.known_failures) == known_failures:
                yield sample

    def reference(self, sample, dtype):
        """The NumPy reference result for ``sample`` (call it before the op: in-place ops mutate)."""
        args, kwargs = to_numpy_structure(sample.args), to_numpy_structure(sample.kwargs)
        if self.ref_takes_dtype:
            kwargs["dtype"] = dtype
        with np.errstate(all="ignore"):  # references compute log(0), 1/0 ... on purpose
            return self.ref(*args, **kwargs)

    def error_inputs(self, rng) -> Iterable[ErrorInput]:
        return self.error_inputs_func(rng) if self.error_inputs_func is not None else ()

    def __repr__(self):
        return f"OpInfo({self.name})"


def resolve(lib, path):
    obj = lib
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------- costs
def _numel(x):
    return sum(t.numel() for t in tensors_in(x))


def _nbytes(x):
    return sum(t.numel() * t.element_size() for t in tensors_in(x))


def elementwise_cost(flops_per_element):
    def cost(sample, out):
        return flops_per_element * _numel(out), _nbytes((sample.args, sample.kwargs)) + _nbytes(out)

    return cost


def reduction_cost(sample, out):
    return _numel(sample.args[0]), _nbytes(sample.args[0]) + _nbytes(out)


def movement_cost(sample, out):
    return 0, _nbytes((sample.args, sample.kwargs)) + _nbytes(out)


def view_cost(sample, out):
    return 0, 0


def softmax_cost(sample, out):
    return 4 * _numel(out), _nbytes(sample.args[0]) + _nbytes(out)


# ---------------------------------------------------------------------------- shape sets
# (shape, layout): 0-d, empty, odd sizes that leave SIMD tails, and every non-contiguous layout.
ELEMENTWISE_SHAPES = [
    ((), "contiguous"), ((0,), "contiguous"), ((1,), "contiguous"), ((7,), "contiguous"),
    ((3, 5), "contiguous"), ((2, 3, 4), "contiguous"), ((67,), "contiguous"), ((2, 0, 3), "contiguous"),
    ((5, 9), "transposed"), ((3, 33), "transposed"), ((4, 6), "strided"), ((3, 5), "expanded"),
]

# (shape a, shape b, layout a, layout b): broadcasting, 0-d and empty operands, strided views.
BINARY_SHAPES = [
    ((3, 4), (3, 4), "contiguous", "contiguous"), ((3, 4), (4,), "contiguous", "contiguous"),
    ((3, 1), (1, 4), "contiguous", "contiguous"), ((), (3, 4), "contiguous", "contiguous"),
    ((3, 4), (), "contiguous", "contiguous"), ((), (), "contiguous", "contiguous"),
    ((0, 4), (1, 4), "contiguous", "contiguous"), ((2, 3, 4), (3, 1), "contiguous", "contiguous"),
    ((67,), (67,), "contiguous", "contiguous"), ((5, 9), (5, 9), "transposed", "transposed"),
    ((5, 9), (5, 9), "transposed", "contiguous"), ((4, 6), (4, 6), "strided", "expanded"),
    ((2, 3, 5), (2, 3, 5), "transposed", "strided"),
]

REDUCTION_SHAPES = [
    ((), "contiguous"), ((7,), "contiguous"), ((3, 5), "contiguous"), ((2, 3, 4), "contiguous"),
    ((1000,), "contiguous"), ((3, 130), "contiguous"), ((5, 9), "transposed"), ((4, 6), "strided"),
    ((3, 5), "expanded"), ((0,), "contiguous"), ((0, 3), "contiguous"), ((2, 0, 3), "contiguous"),
]


def _mk(rng, dtype, **defaults):
    """make_tensor bound to rng/dtype with per-family default value ranges."""

    def mk(shape, layout="contiguous", dtype_=None, **kw):
        opts = dict(defaults)
        opts.update(kw)
        return make_tensor(shape, dtype_ or dtype, rng, layout=layout, **opts)

    return mk


def _axis(a, dim):
    """NumPy axis for a torch ``dim`` on array ``a`` (0-d arrays accept dim 0/-1 as no-op)."""
    if dim is None or a.ndim == 0:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(d % a.ndim for d in dim)
    return dim % a.ndim


def _keep(out, a, dim, keepdim):
    """Restores reduced dims as size 1 when keepdim (NumPy's keepdims with our _axis)."""
    if not keepdim or a.ndim == 0:
        return out
    ax = _axis(a, dim)
    if ax is None:
        return np.reshape(out, (1,) * a.ndim)
    ax = ax if isinstance(ax, tuple) else (ax,)
    shape = [1 if i in ax else s for i, s in enumerate(a.shape)]
    return np.reshape(out, shape)


# ---------------------------------------------------------------------------- unary elementwise
def unary_samples(low=None, high=None, kwargs_list=({},), integers=False):
    def gen(dtype, rng):
        mk = _mk(rng, dtype, low=low, high=high, integers=integers)
        for i, (shape, layout) in enumerate(ELEMENTWISE_SHAPES):
            for kw in kwargs_list:
                yield SampleInput((mk(shape, layout),), dict(kw), f"{layout}")

    return gen


def _not_a_tensor_error(rng):
    yield ErrorInput(SampleInput(("not a tensor",)), TypeError, "")


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _np_gelu(a, approximate="none"):
    a = a.astype(np.float64)
    if approximate == "tanh":
        return 0.5 * a * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a ** 3)))
    return 0.5 * a * (1.0 + _erf(a / math.sqrt(2.0)))


def _np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a.astype(np.float64)))


def _np_softplus(a, beta=1.0, threshold=20.0):
    a = a.astype(np.float64)
    return np.where(a * beta > threshold, a, np.log1p(np.exp(a * beta)) / beta)


def _np_leaky_relu(a, negative_slope=0.01):
    a = a.astype(np.float64)
    return np.where(a > 0, a, a * negative_slope)


def _float_ref(fn):
    """A reference that computes in float64 whatever the input dtype (int inputs promote)."""
    return lambda a, **kw: fn(np.asarray(a, dtype=np.float64), **kw)


def _gelu_errors(rng):
    x = make_tensor((3,), float32, rng)
    yield ErrorInput(SampleInput((x,), {"approximate": "bad"}), RuntimeError, "approximate argument must be either none or tanh")
    yield ErrorInput(SampleInput(("x",)), TypeError, "")


def _unary(name, ref, torch_name=None, dtypes=FLOAT + (int64,), low=None, high=None, kwargs_list=({},),
           flops=1, differentiable=True, errors=None, **kw):
    return OpInfo(name, torch_name or name, ref, dtypes, unary_samples(low, high, kwargs_list),
                  errors or _not_a_tensor_error, differentiable=differentiable,
                  cost=elementwise_cost(flops), method=kw.pop("method", name if torch_name is None else None), **kw)


UNARY_OPS = [
    _unary("neg", lambda a: -a, dtypes=FLOAT_INT),
    _unary("abs", np.abs, dtypes=FLOAT_INT),
    _unary("exp", _float_ref(np.exp), flops=8),
    _unary("log", _float_ref(np.log), low=0.05, high=6, flops=8),
    _unary("log1p", _float_ref(np.log1p), low=-0.9, high=6, flops=8),
    _unary("expm1", _float_ref(np.expm1), flops=8),
    _unary("sqrt", _float_ref(np.sqrt), low=0.05, high=6, flops=1),
    _unary("rsqrt", _float_ref(lambda a: 1.0 / np.sqrt(a)), low=0.05, high=6, flops=2),
    _unary("sin", _float_ref(np.sin), flops=8),
    _unary("cos", _float_ref(np.cos), flops=8),
    _unary("tanh", _float_ref(np.tanh), flops=8),
    _unary("sigmoid", _float_ref(_np_sigmoid), flops=8),
    _unary("relu", lambda a: np.maximum(a, 0), dtypes=FLOAT_INT),
    _unary("gelu", _np_gelu, torch_name="nn.functional.gelu", dtypes=FLOAT, flops=12,
           kwargs_list=({}, {"approximate": "tanh"}, {"approximate": "none"}), errors=_gelu_errors),
    _unary("silu", _float_ref(lambda a: a * _np_sigmoid(a)), torch_name="nn.functional.silu", dtypes=FLOAT, flops=9),
    _unary("softplus", _np_softplus, torch_name="nn.functional.softplus", dtypes=FLOAT, flops=10, low=-8, high=8,
           kwargs_list=({}, {"beta": 2.0}, {"beta": 0.5, "threshold": 3.0})),
    _unary("leaky_relu", _np_leaky_relu, torch_name="nn.functional.leaky_relu", dtypes=FLOAT, flops=2,
           kwargs_list=({}, {"negative_slope": 0.2})),
    # the rest of the math functions and activations: values, torch agreement and gradients
    _unary("exp2", _float_ref(np.exp2), flops=8),
    _unary("log2", _float_ref(np.log2), low=0.05, high=6, flops=8),
    _unary("log10", _float_ref(np.log10), low=0.05, high=6, flops=8),
    _unary("square", np.square, dtypes=FLOAT_INT),
    _unary("reciprocal", _float_ref(lambda a: 1.0 / a), low=0.2, high=4, dtypes=FLOAT, flops=1),
    _unary("sign", np.sign, dtypes=FLOAT_INT),
    _unary("tan", _float_ref(np.tan), low=-1.2, high=1.2, dtypes=FLOAT, flops=10),
    _unary("asin", _float_ref(np.arcsin), low=-0.9, high=0.9, dtypes=FLOAT, flops=10),
    _unary("acos", _float_ref(np.arccos), low=-0.9, high=0.9, dtypes=FLOAT, flops=10),
    _unary("atan", _float_ref(np.arctan), flops=10),
    _unary("sinh", _float_ref(np.sinh), flops=10),
    _unary("cosh", _float_ref(np.cosh), flops=10),
    _unary("asinh", _float_ref(np.arcsinh), flops=10),
    _unary("acosh", _float_ref(np.arccosh), low=1.1, high=6, flops=10),
    _unary("atanh", _float_ref(np.arctanh), low=-0.9, high=0.9, dtypes=FLOAT, flops=10),
    _unary("erf", _float_ref(_erf), flops=10),
    _unary("erfc", _float_ref(lambda a: 1.0 - _erf(a)), flops=10),
    _unary("floor", np.floor, dtypes=FLOAT),
    _unary("ceil", np.ceil, dtypes=FLOAT),
    _unary("trunc", np.trunc, dtypes=FLOAT),
    _unary("frac", _float_ref(lambda a: a - np.trunc(a)), dtypes=FLOAT),
    _unary("logsigmoid", _float_ref(lambda a: -np.logaddexp(0.0, -a)), torch_name="nn.functional.logsigmoid",
           dtypes=FLOAT, flops=10),
    _unary("mish", _float_ref(lambda a: a * np.tanh(np.logaddexp(0.0, a))), torch_name="nn.functional.mish",
           dtypes=FLOAT, flops=20),
    _unary("elu", lambda a, alpha=1.0: np.where(a > 0, a, alpha * np.expm1(a.astype(np.float64))),
           torch_name="nn.functional.elu", dtypes=FLOAT, flops=8, kwargs_list=({}, {"alpha": 0.5})),
    _unary("selu", _float_ref(lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(a))),
           torch_name="nn.functional.selu", dtypes=FLOAT, flops=8),
    _unary("relu6", _float_ref(lambda a: np.clip(a, 0.0, 6.0)), torch_name="nn.functional.relu6", dtypes=FLOAT,
           low=-3, high=9),
    _unary("hardtanh", lambda a, min_val=-1.0, max_val=1.0: np.clip(a.astype(np.float64), min_val, max_val),
           torch_name="nn.functional.hardtanh", dtypes=FLOAT, kwargs_list=({}, {"min_val": -0.5, "max_val": 2.0})),
    _unary("hardsigmoid", _float_ref(lambda a: np.clip(a / 6.0 + 0.5, 0.0, 1.0)),
           torch_name="nn.functional.hardsigmoid", dtypes=FLOAT, low=-5, high=5),
    _unary("hardswish", _float_ref(lambda a: a * np.clip(a + 3.0, 0.0, 6.0) / 6.0),
           torch_name="nn.functional.hardswish", dtypes=FLOAT, low=-5, high=5),
]


# ---------------------------------------------------------------------------- binary elementwise
def binary_samples(low=None, high=None, rhs_low=None, rhs_high=None, scalars=(2, -1.5), rhs_exclude_zero=False,
                   integers=False, kwargs_list=({},), int_scalars=None, int_rhs_low=None, int_rhs_high=None):
    def gen(dtype, rng):
        is_int = not dtype.is_floating_point
        mk = _mk(rng, dtype, integers=integers)
        rlo, rhi = (int_rhs_low, int_rhs_high) if is_int and int_rhs_low is not None else (rhs_low, rhs_high)
        for sa, sb, la, lb in BINARY_SHAPES:
            for kw in kwargs_list:
                a = mk(sa, la, low=low, high=high)
                b = mk(sb, lb, low=rlo if rlo is not None else low, high=rhi if rhi is not None else high,
                       exclude_zero=rhs_exclude_zero)
                yield SampleInput((a, b), dict(kw), f"{la}/{lb}", fd="rounding_mode" not in kw)
        for s in (int_scalars if is_int and int_scalars is not None else scalars):
            for shape in ((3, 4), ()):
                yield SampleInput((mk(shape, low=low, high=high), s), {}, "python scalar")

    return gen


def _binary_errors(name, scalar_ok=True):
    def gen(rng):
        a, b = make_tensor((3, 4), float32, rng), make_tensor((5,), float32, rng)
        yield ErrorInput(SampleInput((a, b)), RuntimeError, r"size of tensor a \(4\) must match the size of tensor b \(5\)")
        yield ErrorInput(SampleInput((a, "x")), TypeError, "")
        if not scalar_ok:
            yield ErrorInput(SampleInput((a, 2.0)), TypeError, "")

    return gen


def _add_errors(rng):
    yield from _binary_errors("add")(rng)
    i = make_tensor((3,), int64, rng)
    yield ErrorInput(SampleInput((i, i), {"alpha": 1.5}), RuntimeError, "alpha must not be a floating point")


def _div_errors(rng):
    yield from _binary_errors("div")(rng)
    a = make_tensor((3,), float32, rng)
    yield ErrorInput(SampleInput((a, a), {"rounding_mode": "bad"}), RuntimeError, "rounding_mode")


def _pow_errors(rng):
    yield from _binary_errors("pow")(rng)
    yield ErrorInput(SampleInput((make_tensor((3,), int64, rng), -1)), RuntimeError,
                     "Integers to negative integer powers are not allowed")


def _div_samples(dtype, rng):
    # No "trunc" for float16/bfloat16: torch truncates the quotient rounded to the dtype on some
    # code paths and the exact quotient on others (e.g. with a 0-d divisor), so no single
    # reference holds.
    half = dtype in (heron.float16, heron.bfloat16)
    modes = ({}, {"rounding_mode": "floor"}) + (() if half else ({"rounding_mode": "trunc"},))
    yield from binary_samples(rhs_exclude_zero=True, scalars=(2, -1.5, 0.25), kwargs_list=modes)(dtype, rng)
    if dtype is int64:  # beyond float precision: integer division must stay exact
        a = from_values(np.array([2 ** 40 + 1, -(2 ** 40) - 1, 2 ** 53 + 3, -7, 7, 0]), int64)
        b = from_values(np.array([3, 3, -5, 2, -2, 5]), int64)
        for mode in ("floor", "trunc"):
            yield SampleInput((a, b), {"rounding_mode": mode}, "large integers", fd=False)
            yield SampleInput((a, 3), {"rounding_mode": mode}, "large integers, scalar", fd=False)
    if half:
        # Quotients just off an integer: floor must not round the quotient to the dtype first.
        a = from_values(np.array([45.1875, -41.96875, -58.8125, -58.75, 37.0, 58.0, -32.25]), dtype)
        b = from_values(np.array([0.92236328125, 1.7490234375, 0.86474609375, 1.546875, 0.515625, 1.234375, 0.89453125]), dtype)
        yield SampleInput((a, b), {"rounding_mode": "floor"}, "quotient near an integer", fd=False)


def _np_div(a, b, rounding_mode=None, dtype=None):
    with np.errstate(divide="ignore", invalid="ignore"):
        if rounding_mode is None:
            return np.true_divide(np.asarray(a, np.float64), b)
        if rounding_mode == "floor":
            return np.floor_divide(a, b)
        if dtype is not None and dtype.is_floating_point:
            # torch truncates the quotient after rounding it to the dtype (float32: rare cases)
            return np.trunc(round_to(np.true_divide(a, b), dtype))
        if np.asarray(a).dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu" or isinstance(b, int) and np.asarray(a).dtype.kind in "iu":
            q = np.floor_divide(a, b)  # exact: move toward zero where the division is inexact and signs differ
            return q + ((np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0)))
        return np.trunc(np.true_divide(a, b))


def _np_pow(a, b):
    a = np.asarray(a)
    if a.dtype.kind in "iu" and (np.asarray(b).dtype.kind in "iu" or isinstance(b, int)):
        return np.power(a, b)
    return np.power(np.asarray(a, np.float64), b)


def _np_add(a, b, alpha=1):
    return np.add(a, np.multiply(b, alpha))


def _np_sub(a, b, alpha=1):
    return np.subtract(a, np.multiply(b, alpha))


CMP_DTYPES = FLOAT_INT + (heron.uint8, bool_)

BINARY_OPS = [
    OpInfo("add", "add", _np_add, FLOAT_INT, binary_samples(kwargs_list=({}, {"alpha": 2})), _add_errors, method="add"),
    OpInfo("sub", "sub", _np_sub, FLOAT_INT, binary_samples(kwargs_list=({}, {"alpha": 2})), _binary_errors("sub"), method="sub"),
    OpInfo("mul", "mul", np.multiply, FLOAT_INT + (bool_,), binary_samples(), _binary_errors("mul"), method="mul"),
    OpInfo("div", "div", _np_div, FLOAT_INT, _div_samples, _div_errors, method="div", ref_takes_dtype=True),
    OpInfo("pow", "pow", _np_pow, FLOAT_INT,
           binary_samples(low=0.5, high=2.0, rhs_low=-2.0, rhs_high=2.0, scalars=(2, 0.5, -1, 3, 0),
                          int_scalars=(2, 0, 3), int_rhs_low=0, int_rhs_high=4),
           _pow_errors, cost=elementwise_cost(10), method="pow"),
    OpInfo("maximum", "maximum", np.maximum, FLOAT_INT, binary_samples(scalars=()), _binary_errors("maximum", False),
           method="maximum"),
    OpInfo("minimum", "minimum", np.minimum, FLOAT_INT, binary_samples(scalars=()), _binary_errors("minimum", False),
           method="minimum"),
]

for _name, _fn in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)]:
    # Integer-valued floats so that equal elements occur.
    BINARY_OPS.append(OpInfo(_name, _name, _fn, CMP_DTYPES, binary_samples(integers=True, low=-3, high=3, scalars=(1, 0.5)),
                             _binary_errors(_name), differentiable=False, method=_name))

for _name, _fn in [("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)]:
    BINARY_OPS.append(OpInfo(_name, _name, _fn, (bool_, float32, int64, heron.float16),
                             binary_samples(integers=True, low=-1, high=1, scalars=()),
                             _binary_errors(_name, scalar_ok=False), differentiable=False, method=_name))
del _name, _fn

BINARY_OPS.append(OpInfo(
    "logical_not", "logical_not", np.logical_not, (bool_, float32, int64, heron.float16),
    unary_samples(low=-1, high=1, integers=True), _not_a_tensor_error, differentiable=False,
    method="logical_not"))


# ---------------------------------------------------------------------------- clamp, where, casts
def _clamp_samples(dtype, rng):
    mk = _mk(rng, dtype)
    is_int = not dtype.is_floating_point
    lo, hi = (-2, 3) if is_int else (-1.5, 0.5)
    for shape, layout in ELEMENTWISE_SHAPES:
        yield SampleInput((mk(shape, layout),), {"min": lo, "max": hi}, layout)
    x = mk((3, 4))
    yield SampleInput((x,), {"min": lo}, "min only")
    yield SampleInput((x,), {"max": hi}, "max only")
    yield SampleInput((x,), {"min": hi, "max": lo}, "min > max gives max")
    yield SampleInput((x, mk((3, 1)), mk((4,))), {}, "tensor bounds, broadcast")
    yield SampleInput((x,), {"min": mk(())}, "0-d tensor min")


def _np_clamp(a, min=None, max=None):
    out = a
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return out


def _clamp_errors(rng):
    yield ErrorInput(SampleInput((make_tensor((3,), float32, rng),)), RuntimeError, "At least one of 'min' or 'max'")


def _where_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for sc, sa, sb in [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)), ((), (3, 4), ()), ((0, 4), (4,), (1, 4)),
                       ((2, 3, 4), (3, 4), (2, 1, 4)), ((67,), (67,), (67,))]:
        yield SampleInput((mk(sc, dtype_=bool_), mk(sa), mk(sb)), {}, "tensors")
    c = mk((5, 9), "transposed", dtype_=bool_)
    yield SampleInput((c, mk((5, 9), "transposed"), mk((5, 9), "strided")), {}, "non-contiguous")
    yield SampleInput((mk((3, 4), dtype_=bool_), mk((3, 4)), 0), {}, "scalar other")
    yield SampleInput((mk((3, 4), dtype_=bool_), 2, mk((3, 4))), {}, "scalar input")


def _where_errors(rng):
    x = make_tensor((3,), float32, rng)
    yield ErrorInput(SampleInput((x, x, x)), RuntimeError, "condition to be a boolean tensor")
    yield ErrorInput(SampleInput((x > 0, make_tensor((4,), float32, rng), x)), RuntimeError, "must match")


def _cast_samples(dtype, rng):
    # Non-negative values keep float->unsigned casts defined; fractions test truncation.
    mk = _mk(rng, dtype, low=0, high=9)
    for target in ALL_DTYPES:
        for shape, layout in [((), "contiguous"), ((0,), "contiguous"), ((3, 5), "contiguous"), ((67,), "contiguous"),
                              ((5, 9), "transposed"), ((4, 6), "strided")]:
            yield SampleInput((mk(shape, layout), target), {}, f"to {target._name}")


def _np_cast(a, dtype):
    if dtype.is_floating_point:
        return a.astype(np.float64)
    if dtype is bool_:
        return a != 0
    return np.trunc(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(dtype.to_numpy()).astype(np.int64)


def _cast_errors(rng):
    x = make_tensor((3,), float32, rng)
    yield ErrorInput(SampleInput((x, "nonsense")), RuntimeError, "")


def _to(x, dtype):
    return x.to(dtype)


def _cast_cost(sample, out):
    return 0, _nbytes(sample.args[0]) + _nbytes(out)


MISC_ELEMENTWISE = [
    OpInfo("clamp", "clamp", _np_clamp, FLOAT_INT, _clamp_samples, _clamp_errors, cost=elementwise_cost(2), method="clamp"),
    OpInfo("where", "where", lambda c, a, b: np.where(c, a, b), FLOAT_INT + (bool_,), _where_samples, _where_errors,
           cost=elementwise_cost(1)),
    OpInfo("to", "Tensor.to", _np_cast, ALL_DTYPES, _cast_samples, _cast_errors, op=_to, torch_op=_to, cost=_cast_cost),
]


# ---------------------------------------------------------------------------- in-place
def _inplace_samples(kind):
    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        targets = [((3, 4), "contiguous"), ((), "contiguous"), ((0, 4), "contiguous"), ((67,), "contiguous"),
                   ((5, 9), "transposed"), ((4, 6), "strided")]
        for shape, layout in targets:
            x = mk(shape, layout)
            if kind in ("add_", "mul_"):
                yield SampleInput((x, mk(shape)), {}, f"{layout} self")
                if len(shape) == 2:
                    yield SampleInput((mk(shape, layout), mk(shape[1:], "strided")), {}, "broadcast other")
                yield SampleInput((mk(shape, layout), mk(())), {}, "0-d other")
                yield SampleInput((mk(shape, layout), 2), {}, "scalar other")
                if kind == "add_":
                    yield SampleInput((mk(shape, layout), mk(shape)), {"alpha": 3}, "alpha")
            elif kind == "copy_":
                src_dtype = float32 if not dtype.is_floating_point else int64
                yield SampleInput((x, mk(shape)), {}, f"{layout} self")
                yield SampleInput((mk(shape, layout), mk(shape, low=0, dtype_=src_dtype)), {}, "other dtype")
                if len(shape) == 2:
                    yield SampleInput((mk(shape, layout), mk(shape[1:], "strided")), {}, "broadcast src")
                    yield SampleInput((mk(shape, layout), mk(shape, "transposed")), {}, "transposed src")
                yield SampleInput((mk(shape, layout), mk(())), {}, "0-d src")
            elif kind == "fill_":
                yield SampleInput((x, 3), {}, layout)
                yield SampleInput((mk(shape, layout), mk(())), {}, "0-d tensor value")
            elif kind == "zero_":
                yield SampleInput((x,), {}, layout)
            elif kind == "clamp_":
                lo, hi = (-2, 3) if not dtype.is_floating_point else (-1.5, 0.5)
                yield SampleInput((x,), {"min": lo, "max": hi}, layout)
                yield SampleInput((mk(shape, layout),), {"min": lo}, "min only")

    return gen


def _np_copy_(a, src):
    out = np.broadcast_to(src, np.shape(a)).astype(np.float64)
    return np.trunc(out).astype(np.int64) if np.asarray(a).dtype.kind in "iu" else out


def _inplace_errors(kind):
    def gen(rng):
        x = make_tensor((3, 1), float32, rng)
        big = make_tensor((3, 4), float32, rng)
        if kind in ("add_", "mul_"):
            yield ErrorInput(SampleInput((x, big)), RuntimeError, r"output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]")
            yield ErrorInput(SampleInput((make_tensor((3,), int64, rng), 1.5)), RuntimeError, "can't be cast to the desired output type")
        elif kind == "copy_":
            yield ErrorInput(SampleInput((big, make_tensor((5,), float32, rng))), RuntimeError, "must match")
        elif kind == "fill_":
            yield ErrorInput(SampleInput((big, make_tensor((2,), float32, rng))), RuntimeError, "fill_ only supports 0-dimension value tensor")
        elif kind == "clamp_":
            yield ErrorInput(SampleInput((big,)), RuntimeError, "At least one of 'min' or 'max'")
        elif kind == "zero_":
            yield ErrorInput(SampleInput((big, 1)), TypeError, "")

    return gen


INPLACE_OPS = [
    OpInfo("add_", "Tensor.add_", _np_add, FLOAT_INT, _inplace_samples("add_"), _inplace_errors("add_"), inplace=True),
    OpInfo("mul_", "Tensor.mul_", np.multiply, FLOAT_INT, _inplace_samples("mul_"), _inplace_errors("mul_"), inplace=True),
    OpInfo("copy_", "Tensor.copy_", _np_copy_, FLOAT_INT, _inplace_samples("copy_"), _inplace_errors("copy_"), inplace=True,
           cost=movement_cost),
    OpInfo("fill_", "Tensor.fill_", lambda a, v: np.full(np.shape(a), v, dtype=np.float64), FLOAT_INT,
           _inplace_samples("fill_"), _inplace_errors("fill_"), inplace=True, cost=movement_cost),
    OpInfo("zero_", "Tensor.zero_", lambda a: np.zeros(np.shape(a)), FLOAT_INT, _inplace_samples("zero_"),
           _inplace_errors("zero_"), inplace=True, cost=movement_cost),
    OpInfo("clamp_", "Tensor.clamp_", _np_clamp, FLOAT_INT, _inplace_samples("clamp_"), _inplace_errors("clamp_"),
           inplace=True, cost=elementwise_cost(2)),
]


# ---------------------------------------------------------------------------- reductions
def reduction_samples(dims="multi", keepdim=True, low=None, high=None, nonempty=False, extra=({},), dtype_kw=None,
                      full=True, skip_layouts=()):
    """Samples for a reduction.

    dims: "multi" (None, int and tuple dims), "single" (None and int dims), "int" (int dims only).
    nonempty: the op cannot reduce over an empty dim (max, argmax, ...).
    """

    def gen(dtype, rng):
        mk = _mk(rng, dtype, low=low, high=high)
        for shape, layout in REDUCTION_SHAPES:
            if layout in skip_layouts:
                continue
            nd = len(shape)
            dim_opts = []
            if dims in ("multi", "single") and full:
                dim_opts.append(None)
            dim_opts += [0, -1]
            if nd >= 2:
                dim_opts.append(1)
            if dims == "multi" and nd >= 2:
                dim_opts.append((0, -1))
            if dims == "multi" and nd >= 3:
                dim_opts.append((2, 0))
            for dim in dim_opts:
                if nonempty and 0 in shape:  # skip reducing over an empty dim (an error input instead)
                    reduced = range(nd) if dim is None else [d % nd for d in (dim if isinstance(dim, tuple) else (dim,))]
                    if dim is None or any(shape[d] == 0 for d in reduced):
                        continue
                for kd in ((False, True) if keepdim and dim is not None else (False,)):
                    for kw in extra:
                        kwargs = dict(kw)
                        if dim is not None:
                            kwargs["dim"] = dim
                        if kd:
                            kwargs["keepdim"] = True
                        yield SampleInput((mk(shape, layout),), kwargs, f"{layout}")
        if dtype_kw is not None:
            yield SampleInput((mk((3, 5)),), {"dim": 1, "dtype": dtype_kw}, "dtype= kwarg")

    return gen


def _dim_errors(nonempty_name=None, needs_float=False, int_dim_only=False, need_dim=False):
    def gen(rng):
        x = make_tensor((3, 4), float32, rng)
        yield ErrorInput(SampleInput((x,), {"dim": 2}), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)")
        yield ErrorInput(SampleInput((x,), {"dim": -3}), IndexError, "Dimension out of range")
        if nonempty_name:
            yield ErrorInput(SampleInput((make_tensor((0, 3), float32, rng),), {"dim": 0}), IndexError, "")
        if needs_float:
            yield ErrorInput(SampleInput((make_tensor((3,), int64, rng),)), RuntimeError, "")
        if not int_dim_only and not need_dim:
            yield ErrorInput(SampleInput((x,), {"dim": 1.5}), TypeError, "")

    return gen


def _np_reduce(fn, **fixed):
    def ref(a, dim=None, keepdim=False, dtype=None, **kw):
        kw.update(fixed)
        out = fn(a, axis=_axis(a, dim), **kw)
        return _keep(out, a, dim, keepdim)

    return ref


def _np_sum(a, axis=None):
    return np.sum(a, axis=axis, dtype=np.float64 if a.dtype.kind == "f" else np.int64)


def _np_mean(a, axis=None):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a, axis=axis) / (a.size if axis is None else np.prod([a.shape[i] for i in np.atleast_1d(axis)]))


def _np_var(a, axis=None, correction=None, unbiased=None):
    ddof = correction if correction is not None else (0 if unbiased is False else 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = a.size if axis is None else int(np.prod([a.shape[i] for i in np.atleast_1d(axis)]))
        mu = np.mean(a, axis=axis, keepdims=True) if a.size else 0.0
        ss = np.sum((a - mu) ** 2, axis=axis)
        return ss / max(n - ddof, 0)


def _np_logsumexp(a, axis=None):
    a = a.astype(np.float64)
    if a.size == 0:
        with np.errstate(divide="ignore"):
            return np.log(np.sum(np.exp(a), axis=axis))
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isinf(m), 0.0, m)
    return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def _np_norm(a, p="fro", dim=None, keepdim=False):
    a = np.abs(a.astype(np.float64))
    ax = _axis(a, dim)
    if p in ("fro", 2):
        out = np.sqrt(np.sum(a * a, axis=ax))
    elif p == math.inf:
        out = np.max(a, axis=ax)
    elif p == -math.inf:
        out = np.min(a, axis=ax)
    elif p == 0:
        out = np.sum(a != 0, axis=ax).astype(np.float64)
    else:
        out = np.sum(a ** p, axis=ax) ** (1.0 / p)
    return _keep(out, a, dim, keepdim)


def _np_max_dim(fn, argfn):
    def ref(a, dim=None, keepdim=False):
        if dim is None:
            return fn(a)
        if a.ndim == 0:
            return a, np.zeros((), np.int64)
        ax = dim % a.ndim
        return _keep(fn(a, axis=ax), a, dim, keepdim), _keep(argfn(a, axis=ax), a, dim, keepdim)

    return ref


def _np_argmax(argfn):
    def ref(a, dim=None, keepdim=False):
        if dim is None:
            out = argfn(a.reshape(-1)) if a.ndim else np.int64(0)
            return np.reshape(out, (1,) * a.ndim) if keepdim else np.asarray(out)
        if a.ndim == 0:
            return np.zeros((), np.int64)
        return _keep(argfn(a, axis=dim % a.ndim), a, dim, keepdim)

    return ref


def _minmax_errors(name):
    def gen(rng):
        yield from _dim_errors(nonempty_name=name, int_dim_only=True)(rng)
        yield ErrorInput(SampleInput((make_tensor((0,), float32, rng),)), RuntimeError,
                         "Expected reduction dim to be specified for input.numel\\(\\) == 0")

    return gen


def _amax_errors(rng):
    yield from _dim_errors(nonempty_name="amax")(rng)
    yield ErrorInput(SampleInput((make_tensor((0,), float32, rng),)), RuntimeError, "")


def _argmax_errors(rng):
    yield from _dim_errors(nonempty_name="argmax", int_dim_only=True)(rng)
    yield ErrorInput(SampleInput((make_tensor((0,), float32, rng),)), IndexError, "")


def _norm_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for p in ("fro", 2, 1, math.inf, -math.inf, 0, 3, 0.5):
        for shape, layout, dim in [((3, 5), "contiguous", None), ((3, 5), "contiguous", 1), ((2, 3, 4), "contiguous", (0, 2)),
                                   ((), "contiguous", None), ((5, 9), "transposed", 0), ((67,), "contiguous", None)]:
            if p == "fro" and isinstance(dim, int):
                continue
            kw = {"p": p}
            if dim is not None:
                kw["dim"] = dim
            yield SampleInput((mk(shape, layout),), kw, layout)
        yield SampleInput((mk((3, 5)),), {"p": p, "dim": 1, "keepdim": True}, "keepdim")
    yield SampleInput((mk((0, 3)),), {"p": 2, "dim": 0}, "empty reduced dim")
    x = mk((3, 4))
    x = x * (x > 0)  # exact zeros: norm-0 counts, 2-norm subgradient
    yield SampleInput((x,), {"p": 0}, "with zeros")


def _all_any_samples(dtype, rng):
    mk = _mk(rng, dtype, low=-1, high=1, integers=True)
    yield from reduction_samples(dims="single", low=-1, high=1)(dtype, rng)
    yield SampleInput((mk((3, 4)) * 0,), {}, "all zeros")


REDUCTION_OPS = [
    OpInfo("sum", "sum", _np_reduce(_np_sum), FLOAT_INT + (bool_,), reduction_samples(dtype_kw=float64), _dim_errors(),
           cost=reduction_cost, method="sum", tol={float32: (1e-5, 1e-4), heron.float16: (4e-3, 4e-2), heron.bfloat16: (2e-2, 0.3)}),
    OpInfo("mean", "mean", _np_reduce(_np_mean), FLOAT, reduction_samples(dtype_kw=float64), _dim_errors(needs_float=True),
           cost=reduction_cost, method="mean"),
    OpInfo("prod", "prod", _np_reduce(lambda a, axis=None: np.prod(a, axis=axis)), FLOAT_INT,
           reduction_samples(dims="single", keepdim=True, low=0.5, high=1.5), _dim_errors(int_dim_only=True),
           cost=reduction_cost, method="prod", tol={float32: (1e-4, 1e-5), heron.float16: (1e-2, 1e-3), heron.bfloat16: (5e-2, 1e-2)}),
    OpInfo("max", "max", _np_max_dim(np.max, np.argmax), FLOAT_INT,
           reduction_samples(dims="single", nonempty=True), _minmax_errors("max"), cost=reduction_cost, method="max", kinks_at_ties=True),
    OpInfo("min", "min", _np_max_dim(np.min, np.argmin), FLOAT_INT,
           reduction_samples(dims="single", nonempty=True), _minmax_errors("min"), cost=reduction_cost, method="min", kinks_at_ties=True),
    OpInfo("amax", "amax", _np_reduce(np.max), FLOAT_INT, reduction_samples(dims="multi", nonempty=True, full=True),
           _amax_errors, cost=reduction_cost, method="amax", kinks_at_ties=True),
    OpInfo("amin", "amin", _np_reduce(np.min), FLOAT_INT, reduction_samples(dims="multi", nonempty=True, full=True),
           _amax_errors, cost=reduction_cost, method="amin", kinks_at_ties=True),
    OpInfo("argmax", "argmax", _np_argmax(np.argmax), FLOAT_INT, reduction_samples(dims="single", nonempty=True),
           _argmax_errors, differentiable=False, cost=reduction_cost, method="argmax"),
    OpInfo("argmin", "argmin", _np_argmax(np.argmin), FLOAT_INT, reduction_samples(dims="single", nonempty=True),
           _argmax_errors, differentiable=False, cost=reduction_cost, method="argmin"),
    OpInfo("var", "var", _np_reduce(_np_var), FLOAT,
           reduction_samples(extra=({}, {"correction": 0}, {"correction": 2}, {"unbiased": False})),
           _dim_errors(needs_float=True), cost=reduction_cost, method="var",
           tol={heron.float16: (4e-3, 2e-3), heron.bfloat16: (3e-2, 2e-2)}),
    OpInfo("std", "std", _np_reduce(lambda a, axis=None, **kw: np.sqrt(_np_var(a, axis, **kw))), FLOAT,
           # Not "expanded": equal elements put std at 0, where it has no derivative and torch's
           # choice of 0 relies on its var being exactly 0 there.
           reduction_samples(extra=({}, {"correction": 0}), skip_layouts=("expanded",)), _dim_errors(needs_float=True),
           cost=reduction_cost, method="std"),
    OpInfo("logsumexp", "logsumexp", _np_reduce(_np_logsumexp), FLOAT,
           reduction_samples(dims="multi", full=False), _dim_errors(need_dim=True), cost=reduction_cost, method="logsumexp"),
    OpInfo("norm", "norm", _np_norm, FLOAT, _norm_samples, _dim_errors(), cost=reduction_cost, method="norm",
           tol={float32: (1e-5, 1e-4)}, kinks_at_ties=True),
    OpInfo("all", "all", _np_reduce(np.all), (bool_, float32, int64, heron.uint8), _all_any_samples, _dim_errors(),
           differentiable=False, cost=reduction_cost, method="all"),
    OpInfo("any", "any", _np_reduce(np.any), (bool_, float32, int64, heron.uint8), _all_any_samples, _dim_errors(),
           differentiable=False, cost=reduction_cost, method="any"),
]


# ---------------------------------------------------------------------------- softmax, cumsum
def _dim_samples(low=None, high=None, dtype_kw=None, with_large=False):
    def gen(dtype, rng):
        mk = _mk(rng, dtype, low=low, high=high)
        for shape, layout in [((), "contiguous"), ((7,), "contiguous"), ((3, 5), "contiguous"), ((2, 3, 4), "contiguous"),
                              ((3, 130), "contiguous"), ((5, 9), "transposed"), ((4, 6), "strided"), ((0, 3), "contiguous"),
                              ((3, 0), "contiguous")]:
            for dim in sorted({0, -1, len(shape) // 2} if shape else {0, -1}):
                yield SampleInput((mk(shape, layout), dim), {}, layout)
        if dtype_kw is not None and dtype is not float64:
            yield SampleInput((mk((3, 5)), 1), {"dtype": dtype_kw}, "dtype= kwarg")
        if with_large and dtype in (float32, float64):
            logits = np.array([[950.0, 940.0, 938.8, 960.1, 949.9, 930.0]]) + np.arange(4)[:, None] * 7.3
            yield SampleInput((from_values(logits, dtype), 1), {}, "large logits (needs max subtraction)")

    return gen


def _np_softmax(a, dim, dtype=None):
    a = a.astype(np.float64)
    if a.ndim == 0:
        return np.ones(())
    if a.size == 0:
        return a.copy()
    m = np.max(a, axis=dim, keepdims=True)
    e = np.exp(a - m)
    return e / np.sum(e, axis=dim, keepdims=True)


def _np_log_softmax(a, dim, dtype=None):
    a = a.astype(np.float64)
    if a.ndim == 0:
        return np.zeros(())
    if a.size == 0:
        return a.copy()
    m = np.max(a, axis=dim, keepdims=True)
    return a - m - np.log(np.sum(np.exp(a - m), axis=dim, keepdims=True))


def _np_cumsum(a, dim, dtype=None):
    if a.ndim == 0:
        return a.copy()
    return np.cumsum(a, axis=dim)


def _positional_dim_errors(extra=()):
    def gen(rng):
        x = make_tensor((3, 4), float32, rng)
        yield ErrorInput(SampleInput((x, 2)), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)")
        yield ErrorInput(SampleInput((x, -3)), IndexError, "Dimension out of range")
        yield from extra

    return gen


def _softmax_errors(rng):
    yield from _positional_dim_errors()(rng)
    yield ErrorInput(SampleInput((make_tensor((3,), int64, rng), 0)), NotImplementedError, "")


SOFTMAX_OPS = [
    OpInfo("softmax", "softmax", _np_softmax, FLOAT, _dim_samples(dtype_kw=float64, with_large=True),
           _softmax_errors, cost=softmax_cost, method="softmax"),
    OpInfo("log_softmax", "log_softmax", _np_log_softmax, FLOAT, _dim_samples(dtype_kw=float64, with_large=True),
           _softmax_errors, cost=softmax_cost, method="log_softmax"),
    OpInfo("cumsum", "cumsum", _np_cumsum, FLOAT_INT, _dim_samples(dtype_kw=float64), _positional_dim_errors(),
           cost=reduction_cost, method="cumsum", tol={heron.float16: (4e-3, 4e-3), heron.bfloat16: (3e-2, 5e-2)}),
]


# ---------------------------------------------------------------------------- joins and splits
def _cat_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput(([mk((2, 3)), mk((4, 3))],), {}, "dim 0")
    yield SampleInput(([mk((2, 3)), mk((2, 1)), mk((2, 5), "transposed")], 1), {}, "dim 1, non-contiguous")
    yield SampleInput(([mk((2, 3, 4)), mk((2, 3, 4), "strided")], -1), {}, "dim -1")
    yield SampleInput(([mk((0, 3)), mk((2, 3))], 0), {}, "empty part")
    yield SampleInput(([mk((2, 3)), mk((0,))], 0), {}, "legacy 1-D empty tensor is skipped")
    yield SampleInput(([mk((5,))],), {}, "single tensor")
    yield SampleInput(([mk((67,)), mk((3,))],), {}, "1-D")
    yield SampleInput(((mk((1, 2)), mk((1, 2))),), {"dim": 1}, "tuple of tensors")


def _np_cat(tensors, dim=0):
    arrs = [np.asarray(t) for t in tensors]
    if any(a.ndim > 1 for a in arrs):
        arrs = [a for a in arrs if not (a.ndim == 1 and a.size == 0)]
    return np.concatenate(arrs, axis=dim)


def _cat_errors(rng):
    a, b = make_tensor((2, 3), float32, rng), make_tensor((2, 4), float32, rng)
    yield ErrorInput(SampleInput(([a, b], 0)), RuntimeError, "Sizes of tensors must match except in dimension 0")
    yield ErrorInput(SampleInput(([a, a], 2)), IndexError, "Dimension out of range")
    yield ErrorInput(SampleInput(([],)), ValueError, "expected a non-empty list of Tensors")
    yield ErrorInput(SampleInput(([a, 1],)), TypeError, "")
    yield ErrorInput(SampleInput(([a, make_tensor((), float32, rng)],)), RuntimeError, "")


def _stack_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for dim in (0, 1, -1, 2):
        yield SampleInput(([mk((2, 3)), mk((2, 3), "transposed"), mk((2, 3))], dim), {}, f"dim {dim}")
    yield SampleInput(([mk(()), mk(())],), {}, "0-d tensors")
    yield SampleInput(([mk((0, 3)), mk((0, 3))], 1), {}, "empty")


def _stack_errors(rng):
    a, b = make_tensor((2, 3), float32, rng), make_tensor((3, 3), float32, rng)
    yield ErrorInput(SampleInput(([a, b],)), RuntimeError, "stack expects each tensor to be equal size")
    yield ErrorInput(SampleInput(([],)), RuntimeError, "stack expects a non-empty TensorList")
    yield ErrorInput(SampleInput(([a, a], 3)), IndexError, "Dimension out of range")


def _split_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((7, 3)), 2), {}, "int size, uneven")
    yield SampleInput((mk((7, 3)), 3, 0), {}, "int size")
    yield SampleInput((mk((4, 6), "transposed"), 2, 1), {}, "dim 1, non-contiguous")
    yield SampleInput((mk((7, 3)), [1, 4, 2]), {}, "sections")
    yield SampleInput((mk((3, 5)), [0, 5], -1), {}, "empty section")
    yield SampleInput((mk((0, 3)), 2), {}, "empty input")
    yield SampleInput((mk((3, 4)), 10), {"dim": 1}, "size larger than dim")


def _np_split(a, size_or_sections, dim=0):
    n = a.shape[dim]
    if isinstance(size_or_sections, int):
        step = size_or_sections
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = list(size_or_sections)
    return tuple(np.split(a, np.cumsum(sizes)[:-1], axis=dim))


def _split_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, [1, 1])), RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 3")
    yield ErrorInput(SampleInput((x, 0)), RuntimeError, "split_size can only be 0 if dimension size is 0")
    yield ErrorInput(SampleInput((x, 1, 2)), IndexError, "Dimension out of range")


def _chunk_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((7, 3)), 3), {}, "uneven")
    yield SampleInput((mk((6, 3)), 3), {}, "even")
    yield SampleInput((mk((5, 4), "transposed"), 2, 1), {}, "dim 1")
    yield SampleInput((mk((6,)), 4), {}, "fewer chunks than asked")
    yield SampleInput((mk((2, 3)), 5), {}, "more chunks than rows")
    yield SampleInput((mk((0, 3)), 2), {}, "empty")


def _np_chunk(a, chunks, dim=0):
    n = a.shape[dim]
    if n == 0:
        return (a,) * chunks
    step = -(-n // chunks)
    return _np_split(a, step, dim)


def _chunk_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, 0)), RuntimeError, "chunk expects `chunks` to be greater than 0")
    yield ErrorInput(SampleInput((x, 2, 2)), IndexError, "Dimension out of range")


JOIN_OPS = [
    OpInfo("cat", "cat", _np_cat, FLOAT_INT + (bool_,), _cat_samples, _cat_errors, cost=movement_cost),
    OpInfo("stack", "stack", lambda ts, dim=0: np.stack(ts, axis=dim), FLOAT_INT, _stack_samples, _stack_errors,
           cost=movement_cost),
    OpInfo("split", "split", _np_split, FLOAT_INT, _split_samples, _split_errors, cost=view_cost, view=True,
           method="split"),
    OpInfo("chunk", "chunk", _np_chunk, FLOAT_INT, _chunk_samples, _chunk_errors, cost=view_cost, view=True,
           method="chunk"),
]


# ---------------------------------------------------------------------------- gather, scatter, index ops
def _index(rng, shape, high, dtype=int64, unique_along=None):
    """An int index tensor with values in [0, high); unique along ``unique_along`` when given."""
    if unique_along is None:
        return from_values(rng.integers(0, high, size=shape), dtype)
    # Each 1-D slice along unique_along is a prefix of a permutation of range(high).
    shape = list(shape)
    n = shape[unique_along]
    moved = [s for i, s in enumerate(shape) if i != unique_along]
    count = int(np.prod(moved)) if moved else 1
    rows = np.stack([rng.permutation(high)[:n] for _ in range(count)]) if count else np.zeros((0, n), np.int64)
    arr = np.moveaxis(rows.reshape(moved + [n]), -1, unique_along)
    return from_values(arr, dtype)


def _gather_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((3, 5)), 0, _index(rng, (2, 5), 3)), {}, "dim 0")
    yield SampleInput((mk((3, 5)), 1, _index(rng, (3, 7), 5)), {}, "dim 1, index wider than input")
    yield SampleInput((mk((4, 6), "transposed"), 1, _index(rng, (2, 3), 6)), {}, "non-contiguous input, smaller index")
    yield SampleInput((mk((2, 3, 4)), -1, _index(rng, (2, 3, 2), 4)), {}, "3-D, dim -1")
    yield SampleInput((mk((7,)), 0, _index(rng, (10,), 7)), {}, "1-D, repeated indices")
    yield SampleInput((mk((3, 5)), 0, _index(rng, (0, 5), 3)), {}, "empty index")
    yield SampleInput((mk(()), 0, from_values(np.zeros(()), int64)), {}, "0-d")
    yield SampleInput((mk((3, 5)), 1, _index(rng, (3, 2), 5).t().contiguous().t()), {}, "non-contiguous index")


def _np_gather(a, dim, index, sparse_grad=False):
    if a.ndim == 0:
        return a.copy()
    dim = dim % a.ndim
    # torch.gather reads only the index's extent of the other dims.
    sl = tuple(slice(0, s) if i != dim else slice(None) for i, s in enumerate(index.shape))
    return np.take_along_axis(a[sl], index, axis=dim)




def _index_errors(op_name, has_src=False):
    def gen(rng):
        x = make_tensor((3, 4), float32, rng)
        src = (make_tensor((1, 1), float32, rng),) if has_src else ()
        yield ErrorInput(SampleInput((x, 0, from_values(np.array([[5]]), int64)) + src), RuntimeError,
                         "index 5 is out of bounds for dimension 0 with size 3")
        yield ErrorInput(SampleInput((x, 0, from_values(np.array([[0.0]]), float32)) + src), RuntimeError, "Expected dtype int")
        yield ErrorInput(SampleInput((x, 2, from_values(np.array([[0]]), int64)) + src), IndexError, "Dimension out of range")
        if not has_src:
            yield ErrorInput(SampleInput((x, 0, from_values(np.array([0]), int64))), RuntimeError,
                             "Index tensor must have the same number of dimensions as input tensor")

    return gen


def _scatter_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((3, 5)), 0, _index(rng, (2, 5), 3, unique_along=0), mk((2, 5))), {}, "dim 0")
    yield SampleInput((mk((3, 5)), 1, _index(rng, (3, 2), 5, unique_along=1), mk((3, 4))), {}, "src larger than index")
    yield SampleInput((mk((5, 4), "transposed"), 1, _index(rng, (2, 3), 4, unique_along=1), mk((2, 3), "transposed")), {},
                      "non-contiguous self and src")
    yield SampleInput((mk((3, 5)), 0, _index(rng, (2, 5), 3, unique_along=0)), {"value": 7}, "scalar value")
    yield SampleInput((mk((3, 5)), -1, _index(rng, (3, 0), 5)), {"src": mk((3, 0))}, "empty index")
    yield SampleInput((mk((3, 5)), 0, _index(rng, (4, 5), 3)), {"src": mk((4, 5)), "reduce": "add"}, "reduce='add'")
    yield SampleInput((mk(()), 0, _long(0), mk(())), {}, "0-d")


def _np_scatter(a, dim, index, src=None, value=None, reduce=None, add=False):
    out = np.array(a, copy=True)
    if out.ndim == 0:  # a 0-d self has one slot: index 0
        v = np.asarray(src if src is not None else value)
        return out + v if add or reduce == "add" else np.broadcast_to(v, ()).astype(out.dtype)
    dim = dim % out.ndim
    coords = np.indices(index.shape)
    target = list(coords)
    target[dim] = index
    if src is None:
        vals = np.full(index.shape, value)
    else:
        vals = np.asarray(src)[tuple(slice(0, s) for s in index.shape)]
    if add or reduce == "add":
        np.add.at(out, tuple(target), vals)
    else:
        out[tuple(target)] = vals
    return out


def _scatter_add_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((3, 5)), 0, _index(rng, (4, 5), 3), mk((4, 5))), {}, "repeated indices")
    yield SampleInput((mk((3, 5)), 1, _index(rng, (2, 6), 5), mk((3, 7))), {}, "src larger than index")
    yield SampleInput((mk((5, 4), "transposed"), -1, _index(rng, (5, 3), 4), mk((5, 3), "strided")), {}, "non-contiguous")
    yield SampleInput((mk((7,)), 0, _index(rng, (20,), 7), mk((20,))), {}, "1-D, many collisions")
    yield SampleInput((mk((3, 5)), 0, _index(rng, (0, 5), 3), mk((0, 5))), {}, "empty index")
    yield SampleInput((mk(()), 0, _long(0), mk(())), {}, "0-d")


def _index_select_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((5, 3)), 0, _index(rng, (4,), 5)), {}, "dim 0")
    yield SampleInput((mk((5, 3)), 1, _index(rng, (6,), 3)), {}, "dim 1, repeats")
    yield SampleInput((mk((6, 5), "transposed"), -1, _index(rng, (3,), 5, dtype=int32)), {}, "int32 index, non-contiguous")
    yield SampleInput((mk((5, 3)), 0, _index(rng, (0,), 5)), {}, "empty index")
    yield SampleInput((mk((7,)), 0, _index(rng, (), 7)), {}, "0-d index")
    yield SampleInput((mk((2, 67)), 1, _index(rng, (40,), 67)), {}, "wide")


def _np_index_select(a, dim, index):
    if a.ndim == 0:
        return a.reshape(1)[np.asarray(index).reshape(-1)].reshape(())
    return np.take(a, np.asarray(index).reshape(-1), axis=dim % a.ndim)


def _index_select_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, 0, from_values(np.array([5]), int64))), IndexError, "out of range|out of bounds")
    yield ErrorInput(SampleInput((x, 0, from_values(np.array([0.0]), float32))), RuntimeError, "Expected dtype int")
    yield ErrorInput(SampleInput((x, 2, from_values(np.array([0]), int64))), IndexError, "Dimension out of range")
    yield ErrorInput(SampleInput((x, 0, [0])), TypeError, "")


def _index_add_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((5, 3)), 0, _index(rng, (4,), 5), mk((4, 3))), {}, "dim 0, repeats")
    yield SampleInput((mk((5, 3)), 1, _index(rng, (2,), 3), mk((5, 2))), {"alpha": 2}, "alpha")
    yield SampleInput((mk((6, 5), "transposed"), 0, _index(rng, (7,), 5), mk((7, 5), "strided")), {}, "non-contiguous")
    yield SampleInput((mk((5, 3)), 0, _index(rng, (0,), 5), mk((0, 3))), {}, "empty index")


def _np_index_add(a, dim, index, source, alpha=1):
    out = np.array(a, copy=True)
    dim = dim % out.ndim
    moved = np.moveaxis(out, dim, 0)
    np.add.at(moved, np.asarray(index).reshape(-1), np.moveaxis(np.asarray(source) * alpha, dim, 0))
    return out


def _index_add_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, 0, from_values(np.array([0]), int64), make_tensor((2, 4), float32, rng))),
                     RuntimeError, "")
    yield ErrorInput(SampleInput((x, 0, from_values(np.array([7]), int64), make_tensor((1, 4), float32, rng))),
                     RuntimeError, "index 7 is out of bounds")


def _masked_fill_samples(dtype, rng):
    mk = _mk(rng, dtype)
    value = 2 if not dtype.is_floating_point else -1.5
    yield SampleInput((mk((3, 4)), mk((3, 4), dtype_=bool_), value), {}, "same shape")
    yield SampleInput((mk((3, 4)), mk((3, 1), dtype_=bool_), value), {}, "broadcast mask")
    yield SampleInput((mk((5, 9), "transposed"), mk((5, 9), "strided", dtype_=bool_), value), {}, "non-contiguous")
    yield SampleInput((mk((3, 4)), mk((4,), dtype_=bool_), mk(())), {}, "0-d tensor value")
    yield SampleInput((mk(()), mk((), dtype_=bool_), value), {}, "0-d")
    yield SampleInput((mk((0, 4)), mk((0, 4), dtype_=bool_), value), {}, "empty")


def _masked_fill_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((3, 4), float32, rng), 1.0)), RuntimeError, "only supports boolean masks")
    yield ErrorInput(SampleInput((x, x > 0, make_tensor((2,), float32, rng))), RuntimeError, "0-dimensional value tensor")
    yield ErrorInput(SampleInput((x, make_tensor((5,), bool_, rng), 1.0)), RuntimeError, "")


def _masked_select_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((3, 4)), mk((3, 4), dtype_=bool_)), {}, "same shape")
    yield SampleInput((mk((3, 4)), mk((4,), dtype_=bool_)), {}, "broadcast mask")
    yield SampleInput((mk((3, 1)), mk((3, 4), dtype_=bool_)), {}, "broadcast input")
    yield SampleInput((mk((5, 9), "transposed"), mk((5, 9), "strided", dtype_=bool_)), {}, "non-contiguous")
    yield SampleInput((mk(()), mk((), dtype_=bool_)), {}, "0-d")
    yield SampleInput((mk((0, 4)), mk((0, 4), dtype_=bool_)), {}, "empty")


def _np_masked_select(a, mask):
    a, mask = np.broadcast_arrays(a, mask)
    return a[mask]


def _masked_select_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((3, 4), float32, rng))), RuntimeError, "expected BoolTensor for mask")
    yield ErrorInput(SampleInput((x, make_tensor((5,), bool_, rng))), RuntimeError, "")


INDEX_OPS = [
    OpInfo("gather", "gather", _np_gather, FLOAT_INT, _gather_samples, _index_errors("gather"), cost=movement_cost,
           method="gather"),
    OpInfo("scatter", "scatter", _np_scatter, FLOAT_INT, _scatter_samples, _index_errors("scatter", has_src=True),
           cost=movement_cost, method="scatter"),
    OpInfo("scatter_add", "scatter_add", functools.partial(_np_scatter, add=True), FLOAT_INT, _scatter_add_samples,
           _index_errors("scatter_add", has_src=True), cost=movement_cost, method="scatter_add",
           tol={heron.float16: (4e-3, 4e-3), heron.bfloat16: (3e-2, 3e-2)}),
    OpInfo("index_select", "index_select", _np_index_select, FLOAT_INT + (bool_,), _index_select_samples,
           _index_select_errors, cost=movement_cost, method="index_select"),
    OpInfo("index_add_", "Tensor.index_add_", _np_index_add, FLOAT_INT, _index_add_samples, _index_add_errors,
           inplace=True, cost=movement_cost, tol={heron.float16: (4e-3, 4e-3), heron.bfloat16: (3e-2, 3e-2)}),
    OpInfo("masked_fill", "masked_fill", lambda a, m, v: np.where(m, np.asarray(v).astype(a.dtype), a), FLOAT_INT + (bool_,), _masked_fill_samples,
           _masked_fill_errors, method="masked_fill"),
    OpInfo("masked_select", "masked_select", _np_masked_select, FLOAT_INT + (bool_,), _masked_select_samples,
           _masked_select_errors, cost=movement_cost, method="masked_select"),
]


# ---------------------------------------------------------------------------- advanced indexing
def _long(values):
    return from_values(np.asarray(values), int64)


def _getitem_samples(dtype, rng):
    mk = _mk(rng, dtype)
    x = lambda: mk((4, 5, 6))  # noqa: E731
    mask = lambda shape: mk(shape, dtype_=bool_)  # noqa: E731
    keys = [
        ((slice(None), [-1], slice(None)), "x[:, [-1], :] keeps the dim"),
        ((_long([0, 2, 3]),), "int tensor"),
        (([0, 3, 0],), "list with repeats"),
        ((_long([[0, 1], [3, 2]]),), "2-D int tensor"),
        ((slice(None), _long([4, -5])), "negative indices"),
        ((_long([0, 1]), slice(None), _long([1, 5])), "advanced dims separated by a slice go first"),
        ((_long([0, 1]), _long([1, 2])), "adjacent advanced dims"),
        ((slice(1, 3), _long([0, 4]), _long([[1], [2]])), "broadcast index tensors after a slice"),
        ((Ellipsis, _long([0, 5])), "Ellipsis then tensor"),
        ((None, _long([1, 2]), Ellipsis), "None, tensor, Ellipsis"),
        ((1, _long([0, 2])), "int then tensor"),
        ((_long(2), slice(None)), "0-d int tensor"),
        ((mask((4,)),), "bool mask on dim 0"),
        ((mask((4, 5)),), "2-D bool mask"),
        ((slice(None), mask((5, 6))), "bool mask after a slice"),
        ((mask((4, 5, 6)),), "full bool mask"),
        ((_long([]),), "empty index"),
        ((slice(None), from_values(np.array([1, 0]), heron.int32)), "int32 index"),
        ((_long([0, 1]), None, slice(None, None, 2)), "tensor, None, strided slice"),
    ]
    for key, desc in keys:
        yield SampleInput((x(), key), {}, desc)
    yield SampleInput((mk((5, 9), "transposed"), (_long([4, 0]), slice(2, None))), {}, "non-contiguous input")
    yield SampleInput((mk(()), (None,)), {}, "0-d input, None")
    yield SampleInput((mk(()), (mask(()),)), {}, "0-d input, 0-d bool")
    yield SampleInput((mk((0, 3)), (_long([]), slice(None))), {}, "empty input")


def _np_getitem(a, key):
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:  # torch expands the first Ellipsis and ignores the others
        first = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:first + 1] + tuple(k for k in key[first + 1:] if k is not Ellipsis)
    return np.asarray(a[tuple(np.asarray(k) if isinstance(k, list) else k for k in key)])


def _getitem(x, key):
    return x[key]


def _getitem_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, (3,))), IndexError, "index 3 is out of bounds for dimension 0 with size 3")
    yield ErrorInput(SampleInput((x, (0, 0, 0))), IndexError, "too many indices for tensor of dimension 2")
    yield ErrorInput(SampleInput((x, (1.5,))), IndexError, "only integers, slices")
    yield ErrorInput(SampleInput((x, (_long([5]),))), IndexError, "index 5 is out of bounds for dimension 0 with size 3")
    yield ErrorInput(SampleInput((x, (slice(None), _long([-5])))), IndexError, "out of bounds")
    yield ErrorInput(SampleInput((x, (from_values(np.array([0.0]), float32),))), IndexError,
                     "tensors used as indices must be long, int, byte or bool tensors")
    yield ErrorInput(SampleInput((x, (make_tensor((2, 2), bool_, rng),))), IndexError, "The shape of the mask")


def _basic_getitem_samples(dtype, rng):
    mk = _mk(rng, dtype)
    keys = [(1,), (-1,), (slice(1, 3),), (slice(None, None, 2),), (slice(None), 2), (Ellipsis, 1), (None,),
            (1, None, slice(3, None)), (slice(None), None, Ellipsis), (Ellipsis,),
            (slice(5, 9),), (slice(-2, None), slice(None), 0), (0, 0, 0), (Ellipsis, 1, Ellipsis)]
    for key in keys:
        yield SampleInput((mk((4, 5, 6)), key), {}, repr(key))
    yield SampleInput((mk((5, 9), "transposed"), (slice(1, 4), slice(None, None, 3))), {}, "non-contiguous")
    yield SampleInput((mk(()), (Ellipsis,)), {}, "0-d")
    yield SampleInput((mk(()), (None, None)), {}, "0-d, None None")
    yield SampleInput((mk((0, 3)), (slice(None), 1)), {}, "empty")


def _setitem(x, key, value):
    x[key] = value
    return x


def _setitem_samples(dtype, rng):
    mk = _mk(rng, dtype)
    value = -1.5 if dtype.is_floating_point else 7
    m = lambda shape: mk(shape, dtype_=bool_)  # noqa: E731
    cases = [
        ((slice(None), [-1], slice(None)), (4, 1, 6)),
        ((_long([0, 2]),), (6,)),
        ((1, slice(None, None, 2)), ()),
        ((Ellipsis, _long([5, 0])), (4, 5, 2)),
        ((_long([0, 1]), slice(None), _long([1, 5])), (2, 5)),
        ((m((4, 5)),), None),
        ((m((4, 5, 6)),), ()),
        ((slice(1, 3),), (1, 6)),
        ((None, 0), (5, 6)),
        ((_long(3),), ()),
        ((_long([]),), ()),
    ]
    for key, vshape in cases:
        yield SampleInput((mk((4, 5, 6)), key, value), {}, "scalar value")
        if vshape is not None:
            yield SampleInput((mk((4, 5, 6)), key, mk(vshape)), {}, "tensor value, broadcast")
    yield SampleInput((mk((5, 9), "transposed"), (_long([1, 3]), slice(2, None)), mk((7,))), {}, "non-contiguous self")
    yield SampleInput((mk((6, 4), "strided"), (slice(None), m((4,))), value), {}, "strided self, bool mask")


def _np_setitem(a, key, value):
    out = np.array(a, copy=True)
    key = key if isinstance(key, tuple) else (key,)
    out[tuple(np.asarray(k) if isinstance(k, list) else k for k in key)] = value
    return out


def _setitem_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, (slice(None),), make_tensor((2,), float32, rng))), RuntimeError, "")
    yield ErrorInput(SampleInput((x, (3,), 1.0)), IndexError, "out of bounds")
    yield ErrorInput(SampleInput((x, (_long([3]),), 1.0)), IndexError, "out of bounds")


INDEXING_OPS = [
    OpInfo("getitem", "Tensor.__getitem__", _np_getitem, FLOAT_INT + (bool_,), _getitem_samples, _getitem_errors,
           op=_getitem, torch_op=_getitem, cost=movement_cost),
    OpInfo("getitem_basic", "Tensor.__getitem__", _np_getitem, FLOAT_INT + (bool_,), _basic_getitem_samples,
           _getitem_errors, op=_getitem, torch_op=_getitem, view=True, cost=view_cost),
    OpInfo("setitem", "Tensor.__setitem__", _np_setitem, FLOAT_INT + (bool_,), _setitem_samples, _setitem_errors,
           op=_setitem, torch_op=_setitem, inplace=True, cost=movement_cost),
]


# ---------------------------------------------------------------------------- tril/triu, one_hot, sort, topk
def _tri_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for shape, layout in [((4, 4), "contiguous"), ((3, 5), "contiguous"), ((5, 3), "transposed"), ((2, 3, 4), "contiguous"),
                          ((0, 3), "contiguous"), ((4, 6), "strided")]:
        for diag in (0, 1, -1, 10, -10):
            yield SampleInput((mk(shape, layout),), {"diagonal": diag} if diag else {}, layout)


def _tri_errors(rng):
    yield ErrorInput(SampleInput((make_tensor((3,), float32, rng),)), RuntimeError, "must have at least 2 dimensions")


def _one_hot_samples(dtype, rng):
    yield SampleInput((_long(rng.integers(0, 5, size=(6,))),), {}, "inferred classes")
    yield SampleInput((_long(rng.integers(0, 5, size=(2, 3))), 7), {}, "explicit classes, 2-D")
    yield SampleInput((_long(3),), {"num_classes": 4}, "0-d")
    yield SampleInput((_long(np.zeros((0,), np.int64)), 3), {}, "empty")
    yield SampleInput((_long(rng.integers(0, 4, size=(3, 2))).t(), 4), {}, "non-contiguous")


def _np_one_hot(a, num_classes=-1):
    n = int(a.max()) + 1 if num_classes == -1 else num_classes
    return np.eye(n, dtype=np.int64)[a]


def _one_hot_errors(rng):
    yield ErrorInput(SampleInput((from_values(np.array([1.0]), float32),)), RuntimeError, "index tensor of type LongTensor")
    yield ErrorInput(SampleInput((_long([-1]),)), RuntimeError, "Class values must be non-negative")
    yield ErrorInput(SampleInput((_long([3]), 2)), RuntimeError, "Class values must be smaller than num_classes")
    yield ErrorInput(SampleInput((_long(np.zeros((0,), np.int64)),)), RuntimeError, "Can not infer total number of classes")


def _distinct(mk_shape, dtype, rng, layout="contiguous"):
    """A tensor with distinct values (so sort/topk indices are unique)."""
    shape = tuple(mk_shape)
    n = int(np.prod(shape)) if shape else 1
    vals = rng.permutation(n).astype(np.float64) - n // 2
    if dtype.is_floating_point and dtype in (float32, float64):
        vals = vals + 0.25
    if dtype is heron.uint8:
        vals = vals + n // 2
    base = from_values(vals.reshape(shape), dtype)
    if layout == "transposed" and len(shape) >= 2:
        base = from_values(vals.reshape(shape[:-2] + (shape[-1], shape[-2])), dtype).transpose(-1, -2)
    return base


def _sort_samples(dtype, rng):
    for shape, layout in [((7,), "contiguous"), ((3, 5), "contiguous"), ((2, 3, 4), "contiguous"), ((5, 9), "transposed"),
                          ((), "contiguous"), ((0, 3), "contiguous"), ((70,), "contiguous")]:
        for kw in ({}, {"dim": 0}, {"descending": True}, {"dim": -1, "descending": True, "stable": True}):
            yield SampleInput((_distinct(shape, dtype, rng, layout),), kw, layout)
    ties = from_values(np.array([3, 1, 2, 1, 3, 1, 0]), dtype)
    yield SampleInput((ties,), {"stable": True}, "ties, stable keeps order")
    yield SampleInput((ties,), {"stable": True, "descending": True}, "ties, stable descending")


def _np_sort(a, dim=-1, descending=False, stable=False):
    if a.ndim == 0:
        return a.copy(), np.zeros((), np.int64)
    # Stable in both directions: ties keep their original order (what stable=True promises).
    idx = np.argsort(-a.astype(np.float64) if descending else a, axis=dim, kind="stable")
    return np.take_along_axis(a, idx, axis=dim), idx


def _sort_errors(rng):
    yield ErrorInput(SampleInput((make_tensor((3, 4), float32, rng), 2)), IndexError, "Dimension out of range")


def _topk_samples(dtype, rng):
    for shape, layout, k, kw in [((7,), "contiguous", 3, {}), ((3, 8), "contiguous", 2, {"dim": 1}),
                                 ((5, 4), "contiguous", 5, {"dim": 0}), ((5, 9), "transposed", 4, {"largest": False}),
                                 ((2, 3, 6), "contiguous", 6, {}), ((7,), "contiguous", 0, {}), ((100,), "contiguous", 10, {}),
                                 ((), "contiguous", 1, {}), ((4, 3), "contiguous", 1, {"dim": 0, "largest": False}),
                                 ((0, 3), "contiguous", 0, {"dim": 0}), ((3, 0), "contiguous", 2, {"dim": 0})]:
        yield SampleInput((_distinct(shape, dtype, rng, layout), k), kw, layout)


def _np_topk(a, k, dim=-1, largest=True, sorted=True):
    if a.ndim == 0:
        return a.copy(), np.zeros((), np.int64)
    idx = np.argsort(-a.astype(np.float64) if largest else a, axis=dim, kind="stable")
    idx = np.take(idx, np.arange(k), axis=dim)
    return np.take_along_axis(a, idx, axis=dim), idx


def _topk_errors(rng):
    x = make_tensor((3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, 7)), RuntimeError, "selected index k out of range")
    yield ErrorInput(SampleInput((x, -1)), RuntimeError, "")
    yield ErrorInput(SampleInput((x, 1, 2)), IndexError, "Dimension out of range")


def _multinomial_samples(dtype, rng):
    mk = _mk(rng, dtype, low=0.1, high=1.0)
    yield SampleInput((mk((5,)), 3), {}, "without replacement")
    yield SampleInput((mk((5,)), 20, True), {}, "with replacement")
    yield SampleInput((mk((3, 4)), 2), {}, "batched")
    yield SampleInput((mk((4, 3), "transposed"), 5), {"replacement": True}, "non-contiguous")


def _multinomial_errors(rng):
    yield ErrorInput(SampleInput((from_values(np.array([-1.0, 2.0]), float32), 1)), RuntimeError, "element < 0")
    yield ErrorInput(SampleInput((from_values(np.array([1.0, 2.0]), float32), 3)), RuntimeError,
                     "cannot sample n_sample > prob_dist.size")
    yield ErrorInput(SampleInput((from_values(np.array([0.0, 0.0]), float32), 1)), RuntimeError, "")


MISC_OPS = [
    OpInfo("tril", "tril", lambda a, diagonal=0: np.tril(a, diagonal), FLOAT_INT + (bool_,), _tri_samples, _tri_errors,
           cost=movement_cost, method="tril"),
    OpInfo("triu", "triu", lambda a, diagonal=0: np.triu(a, diagonal), FLOAT_INT + (bool_,), _tri_samples, _tri_errors,
           cost=movement_cost, method="triu"),
    OpInfo("one_hot", "nn.functional.one_hot", _np_one_hot, (int64,), _one_hot_samples, _one_hot_errors,
           differentiable=False, cost=movement_cost),
    OpInfo("sort", "sort", _np_sort, FLOAT_INT, _sort_samples, _sort_errors, cost=reduction_cost, method="sort", kinks_at_ties=True),
    OpInfo("topk", "topk", _np_topk, FLOAT_INT, _topk_samples, _topk_errors, cost=reduction_cost, method="topk", kinks_at_ties=True),
    OpInfo("multinomial", "multinomial", None, (float32, float64), _multinomial_samples, _multinomial_errors,
           differentiable=False, statistical=True, cost=reduction_cost, method="multinomial"),
]


# ---------------------------------------------------------------------------- views
def _view_samples(kind):
    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        if kind == "reshape":
            for shape, layout, new in [((3, 4), "contiguous", (12,)), ((3, 4), "contiguous", (2, -1, 3)),
                                       ((2, 3, 4), "contiguous", (4, 6)), ((), "contiguous", (1, 1)),
                                       ((1,), "contiguous", ()), ((0, 3), "contiguous", (3, 0)),
                                       ((5, 9), "transposed", (45,)), ((4, 6), "strided", (2, 12)),
                                       ((3, 4), "expanded", (4, 3))]:
                yield SampleInput((mk(shape, layout), new), {}, layout)
        elif kind == "view":
            for shape, layout, new in [((3, 4), "contiguous", (12,)), ((3, 4), "contiguous", (2, -1, 3)),
                                       ((), "contiguous", (1,)), ((0, 3), "contiguous", (0, 1, 3)),
                                       ((5, 9), "transposed", (5, 9)), ((4, 6), "strided", (2, 2, 6)),
                                       ((4, 6), "transposed", (2, 2, 6))]:
                yield SampleInput((mk(shape, layout), new), {}, layout)
        elif kind == "permute":
            yield SampleInput((mk((2, 3, 4)), (2, 0, 1)), {}, "3-D")
            yield SampleInput((mk((2, 3, 4)), (-1, 0, 1)), {}, "negative dims")
            yield SampleInput((mk((5, 9), "transposed"), (1, 0)), {}, "non-contiguous")
            yield SampleInput((mk(()), ()), {}, "0-d")
            yield SampleInput((mk((0, 3)), (1, 0)), {}, "empty")
        elif kind == "transpose":
            yield SampleInput((mk((2, 3, 4)), 0, 2), {}, "3-D")
            yield SampleInput((mk((2, 3, 4)), -1, 1), {}, "negative")
            yield SampleInput((mk((5, 9), "strided"), 0, 1), {}, "strided")
            yield SampleInput((mk(()), 0, -1), {}, "0-d")
            yield SampleInput((mk((3,)), 0, 0), {}, "same dim")
            yield SampleInput((mk((0, 3)), 0, 1), {}, "empty")
        elif kind == "t":
            yield SampleInput((mk((3, 4)),), {}, "2-D")
            yield SampleInput((mk((5,)),), {}, "1-D")
            yield SampleInput((mk(()),), {}, "0-d")
            yield SampleInput((mk((5, 9), "transposed"),), {}, "non-contiguous")
            yield SampleInput((mk((0, 3)),), {}, "empty")
        elif kind == "squeeze":
            x = lambda: mk((1, 3, 1, 2))  # noqa: E731
            yield SampleInput((x(),), {}, "all")
            yield SampleInput((x(), 0), {}, "dim")
            yield SampleInput((x(), 1), {}, "non-1 dim is kept")
            yield SampleInput((x(), (0, -2)), {}, "tuple")
            yield SampleInput((mk(()), 0), {}, "0-d")
            yield SampleInput((mk((1, 0, 1)),), {}, "empty")
            yield SampleInput((mk((3, 1), "transposed"), 1), {}, "non-contiguous")
            yield SampleInput((mk((1, 4), "strided"),), {}, "strided")
        elif kind == "unsqueeze":
            for dim in (0, 1, 2, -1, -3):
                yield SampleInput((mk((3, 4)), dim), {}, f"dim {dim}")
            yield SampleInput((mk(()), 0), {}, "0-d")
            yield SampleInput((mk((5, 9), "transposed"), 1), {}, "non-contiguous")
            yield SampleInput((mk((0, 3)), 1), {}, "empty")
        elif kind == "expand":
            yield SampleInput((mk((3, 1)), (3, 4)), {}, "size-1 dim")
            yield SampleInput((mk((3, 1)), (2, 3, 5)), {}, "new leading dim")
            yield SampleInput((mk((3, 1)), (-1, 4)), {}, "-1 keeps")
            yield SampleInput((mk(()), (2, 2)), {}, "0-d")
            yield SampleInput((mk((1, 3)), (0, 3)), {}, "to empty")
            yield SampleInput((mk((4, 1), "strided"), (4, 6)), {}, "strided")
            yield SampleInput((mk((1, 0)), (3, 0)), {}, "empty")
        elif kind == "flatten":
            yield SampleInput((mk((2, 3, 4)),), {}, "all")
            yield SampleInput((mk((2, 3, 4)), 1), {}, "from 1")
            yield SampleInput((mk((2, 3, 4, 5)), 1, 2), {}, "middle")
            yield SampleInput((mk((2, 3, 4)), 0, -2), {}, "negative end")
            yield SampleInput((mk(()),), {}, "0-d gives 1-D")
            yield SampleInput((mk((5, 9), "transposed"),), {}, "non-contiguous")
            yield SampleInput((mk((2, 0, 3)), 1), {}, "empty")
        elif kind == "unflatten":
            yield SampleInput((mk((2, 12)), 1, (3, 4)), {}, "dim 1")
            yield SampleInput((mk((12, 2)), 0, (2, -1, 3)), {}, "-1")
            yield SampleInput((mk((2, 12)), -1, (12,)), {}, "trivial")
            yield SampleInput((mk((4, 6), "transposed"), 0, (2, 2)), {}, "non-contiguous")
            yield SampleInput((mk((0, 6)), 1, (2, 3)), {}, "empty")
        elif kind == "narrow":
            yield SampleInput((mk((5, 4)), 0, 1, 3), {}, "dim 0")
            yield SampleInput((mk((5, 4)), -1, 2, 2), {}, "dim -1")
            yield SampleInput((mk((5, 4)), 0, -2, 2), {}, "negative start")
            yield SampleInput((mk((5, 4)), 1, 4, 0), {}, "empty result")
            yield SampleInput((mk((5, 9), "transposed"), 1, 3, 5), {}, "non-contiguous")
            yield SampleInput((mk((0, 4)), 1, 1, 2), {}, "empty input")
        elif kind == "as_strided":
            yield SampleInput((mk((4, 5)), (3, 3), (5, 1)), {}, "window")
            yield SampleInput((mk((4, 5)), (2, 2), (1, 5), 3), {}, "offset, transposed strides")
            yield SampleInput((mk((12,)), (3, 4), (0, 1)), {}, "zero stride")
            yield SampleInput((mk((12,)), (), ()), {}, "0-d")
            yield SampleInput((mk((12,)), (0, 4), (4, 1)), {}, "empty")
        elif kind in ("contiguous", "clone"):
            for shape, layout in ELEMENTWISE_SHAPES:
                yield SampleInput((mk(shape, layout),), {}, layout)

    return gen


def _np_reshape(a, shape):
    return np.reshape(a, shape)


def _np_squeeze(a, dim=None):
    if dim is None:
        return np.squeeze(a)
    if a.ndim == 0:
        return a
    dims = dim if isinstance(dim, tuple) else (dim,)
    dims = tuple(d % a.ndim for d in dims if a.shape[d % a.ndim] == 1)
    return np.squeeze(a, axis=dims)


def _np_unsqueeze(a, dim):
    return np.expand_dims(a, dim % (a.ndim + 1))


def _np_expand(a, shape):
    shape = tuple(shape)
    lead = len(shape) - a.ndim
    full = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return np.broadcast_to(a, full)


def _np_flatten(a, start_dim=0, end_dim=-1):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = start_dim % a.ndim, end_dim % a.ndim
    return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:]) if a.size else a.reshape(a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:])


def _np_unflatten(a, dim, sizes):
    d = dim % a.ndim
    return a.reshape(a.shape[:d] + tuple(sizes) + a.shape[d + 1:])


def _np_narrow(a, dim, start, length):
    d = dim % a.ndim
    start = start % a.shape[d] if start < 0 else start
    return np.take(a, np.arange(start, start + length), axis=d)


def _np_as_strided(a, size, stride, storage_offset=0):
    flat = np.ascontiguousarray(a).reshape(-1)
    return np.lib.stride_tricks.as_strided(flat[storage_offset:], shape=tuple(size),
                                           strides=tuple(s * flat.itemsize for s in stride)).copy()


def _np_transpose(a, d0, d1):
    return np.swapaxes(a, d0, d1) if a.ndim else a


def _view_errors(kind):
    def gen(rng):
        x = make_tensor((3, 4), float32, rng)
        E = lambda *args: ErrorInput(SampleInput(args[0]), *args[1:])  # noqa: E731
        if kind == "reshape":
            yield E((x, (5,)), RuntimeError, r"shape '\[5\]' is invalid for input of size 12")
            yield E((x, (-1, -1)), RuntimeError, "only one dimension can be inferred")
        elif kind == "view":
            yield E((x.t(), (12,)), RuntimeError, "view size is not compatible with input tensor's size and stride")
            yield E((x, (5,)), RuntimeError, "invalid for input of size 12")
        elif kind == "permute":
            yield E((x, (0, 0)), RuntimeError, "")
            yield E((x, (0,)), RuntimeError, "")
            yield E((x, (0, 2)), IndexError, "Dimension out of range")
        elif kind == "transpose":
            yield E((x, 0, 2), IndexError, "Dimension out of range")
        elif kind == "t":
            yield E((make_tensor((2, 2, 2), float32, rng),), RuntimeError, "t\\(\\) expects a tensor with <= 2 dimensions")
        elif kind == "squeeze":
            yield E((x, 3), IndexError, "Dimension out of range")
        elif kind == "unsqueeze":
            yield E((x, 3), IndexError, "Dimension out of range")
        elif kind == "expand":
            yield E((x, (3, 5)), RuntimeError, "The expanded size of the tensor \\(5\\) must match the existing size \\(4\\)")
            yield E((x, (4,)), RuntimeError, "the number of sizes provided \\(1\\) must be greater or equal")
        elif kind == "flatten":
            yield E((make_tensor((2, 2, 2), float32, rng), 2, 1), RuntimeError, "start_dim cannot come after end_dim")
            yield E((x, 0, 5), IndexError, "Dimension out of range")
        elif kind == "unflatten":
            yield E((x, 1, (3, 3)), RuntimeError, "")
        elif kind == "narrow":
            yield E((x, 0, 2, 5), RuntimeError, r"start \(2\) \+ length \(5\) exceeds dimension size \(3\)")
            yield E((x, 0, 5, 0), IndexError, "start")
            yield E((x, 2, 0, 1), IndexError, "Dimension out of range")
        elif kind == "as_strided":
            yield E((x, (10, 10), (1, 1)), RuntimeError, "setStorage")
        elif kind == "broadcast_to":
            yield E((x, (5,)), RuntimeError, "")
            yield E((x, (3, 5)), RuntimeError, "must match the existing size")

    return gen


VIEW_OPS = [
    OpInfo("reshape", "reshape", _np_reshape, FLOAT_INT + (bool_,), _view_samples("reshape"), _view_errors("reshape"),
           cost=view_cost, method="reshape"),
    OpInfo("view", "Tensor.view", _np_reshape, FLOAT_INT + (bool_,), _view_samples("view"), _view_errors("view"),
           view=True, cost=view_cost),
    OpInfo("permute", "permute", lambda a, dims: np.transpose(a, [d % max(a.ndim, 1) for d in dims]) if a.ndim else a,
           FLOAT_INT, _view_samples("permute"), _view_errors("permute"), view=True, cost=view_cost, method="permute"),
    OpInfo("transpose", "transpose", _np_transpose, FLOAT_INT, _view_samples("transpose"), _view_errors("transpose"),
           view=True, cost=view_cost, method="transpose"),
    OpInfo("t", "t", lambda a: a.T, FLOAT_INT, _view_samples("t"), _view_errors("t"), view=True, cost=view_cost,
           method="t"),
    OpInfo("squeeze", "squeeze", _np_squeeze, FLOAT_INT, _view_samples("squeeze"), _view_errors("squeeze"), view=True,
           cost=view_cost, method="squeeze"),
    OpInfo("unsqueeze", "unsqueeze", _np_unsqueeze, FLOAT_INT, _view_samples("unsqueeze"), _view_errors("unsqueeze"),
           view=True, cost=view_cost, method="unsqueeze"),
    OpInfo("expand", "Tensor.expand", _np_expand, FLOAT_INT, _view_samples("expand"), _view_errors("expand"), view=True,
           cost=view_cost),
    OpInfo("broadcast_to", "broadcast_to", _np_expand, FLOAT_INT, _view_samples("expand"), _view_errors("broadcast_to"),
           view=True, cost=view_cost, method="broadcast_to"),
    OpInfo("flatten", "flatten", _np_flatten, FLOAT_INT, _view_samples("flatten"), _view_errors("flatten"),
           cost=view_cost, method="flatten"),
    OpInfo("unflatten", "unflatten", _np_unflatten, FLOAT_INT, _view_samples("unflatten"), _view_errors("unflatten"),
           cost=view_cost, method="unflatten"),
    OpInfo("narrow", "narrow", _np_narrow, FLOAT_INT, _view_samples("narrow"), _view_errors("narrow"), view=True,
           cost=view_cost, method="narrow"),
    OpInfo("as_strided", "as_strided", _np_as_strided, FLOAT_INT, _view_samples("as_strided"), _view_errors("as_strided"),
           view=True, cost=view_cost, method="as_strided"),
    OpInfo("contiguous", "Tensor.contiguous", lambda a: a.copy(), FLOAT_INT + (bool_,), _view_samples("contiguous"),
           None, cost=movement_cost),
    OpInfo("clone", "clone", lambda a: a.copy(), FLOAT_INT + (bool_,), _view_samples("clone"), None,
           cost=movement_cost, method="clone"),
]


# ---------------------------------------------------------------------------- nn.functional: layers
def _linear_cost(sample, out):
    in_features = sample.args[1].shape[-1]
    return 2 * _numel(out) * in_features, _nbytes((sample.args, sample.kwargs)) + _nbytes(out)


def _np_linear(a, weight, bias=None):
    out = np.matmul(a, np.swapaxes(weight, -1, -2))
    return out if bias is None else out + bias


def _linear_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((4, 3)), mk((5, 3)), mk((5,))), {}, "2-D input with bias")
    yield SampleInput((mk((4, 3)), mk((5, 3))), {}, "no bias")
    yield SampleInput((mk((2, 4, 3)), mk((5, 3), "transposed"), mk((5,))), {}, "3-D input, non-contiguous weight")
    yield SampleInput((mk((3,)), mk((5, 3)), mk((5,))), {}, "1-D input")
    yield SampleInput((mk((0, 3)), mk((5, 3)), mk((5,))), {}, "empty batch")


def _linear_errors(rng):
    x = make_tensor((2, 3), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4, 5), float32, rng))), RuntimeError, "cannot be multiplied")
    yield ErrorInput(SampleInput((make_tensor((), float32, rng), make_tensor((4, 3), float32, rng))), RuntimeError,
                     "at least 1D")
    yield ErrorInput(SampleInput((x, make_tensor((4, 3), float64, rng))), RuntimeError, "dtype")


def _np_bilinear(x1, x2, weight, bias=None):
    out = np.einsum("...i,oij,...j->...o", x1, weight, x2)
    return out if bias is None else out + bias


def _bilinear_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((4, 3)), mk((4, 2)), mk((5, 3, 2)), mk((5,))), {}, "batch of vectors")
    yield SampleInput((mk((2, 3, 3)), mk((2, 3, 2), "transposed"), mk((4, 3, 2))), {}, "3-D inputs, no bias")
    yield SampleInput((mk((3,)), mk((2,)), mk((4, 3, 2)), mk((4,))), {}, "1-D inputs")
    yield SampleInput((mk((0, 3)), mk((0, 2)), mk((4, 3, 2)), mk((4,))), {}, "empty batch")


def _bilinear_errors(rng):
    w = make_tensor((5, 3, 4), float32, rng)
    mk = functools.partial(make_tensor, dtype=float32, rng=rng)
    yield ErrorInput(SampleInput((mk((2, 3)), mk((2, 3, 4)), w)), RuntimeError, "input dimensions do not match")
    yield ErrorInput(SampleInput((mk((2, 3)), mk((3, 4)), w)), RuntimeError, "input batch dimensions do not match")
    yield ErrorInput(SampleInput((mk((2, 2)), mk((2, 4)), w)), RuntimeError, "input1 size does not match weight size")
    yield ErrorInput(SampleInput((mk((2, 3)), mk((2, 4)), w, mk((4,)))), RuntimeError, "bias size does not match")


def _np_embedding(indices, weight, padding_idx=None):
    return weight[indices]


def _embedding_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((_index(rng, (2, 3), 10), mk((10, 4))), {}, "2-D indices")
    yield SampleInput((_index(rng, (5,), 10, dtype=int32), mk((10, 4), "transposed")), {}, "int32 indices, non-contiguous weight")
    yield SampleInput((_long(3), mk((10, 4))), {}, "0-d index")
    yield SampleInput((_index(rng, (0, 2), 10), mk((10, 4))), {}, "empty")
    # The padding row's value is returned but gets no gradient: not a derivative finite
    # differences can check (torch's gradients still are).
    yield SampleInput((_long([[0, 2, 0], [9, 1, 0]]), mk((10, 4))), {"padding_idx": 0}, "padding_idx", fd=False)
    yield SampleInput((_long([9, 2, 9]), mk((10, 4))), {"padding_idx": -1}, "negative padding_idx", fd=False)


def _embedding_errors(rng):
    w = make_tensor((5, 3), float32, rng)
    yield ErrorInput(SampleInput((from_values(np.array([1.0]), float32), w)), RuntimeError, "Long, Int")
    yield ErrorInput(SampleInput((_long([5]), w)), IndexError, "")
    yield ErrorInput(SampleInput((_long([-1]), w)), IndexError, "")
    yield ErrorInput(SampleInput((_long([1]), w), {"padding_idx": 5}), AssertionError, "Padding_idx must be within")
    yield ErrorInput(SampleInput((_long([1]), make_tensor((5,), float32, rng))), RuntimeError, "must be 2-D")


def _np_embedding_bag(indices, weight, offsets=None, mode="mean", per_sample_weights=None, include_last_offset=False,
                      padding_idx=None):
    if indices.ndim == 2:
        offsets = np.arange(0, indices.size, indices.shape[1])
    indices, starts = indices.reshape(-1), list(offsets[:-1] if include_last_offset else offsets)
    scale = np.ones(indices.size) if per_sample_weights is None else per_sample_weights.reshape(-1)
    out = np.zeros((len(starts), weight.shape[1]))
    for b, (start, end) in enumerate(zip(starts, starts[1:] + [indices.size])):
        rows = [weight[i] * s for i, s in zip(indices[start:end], scale[start:end]) if i != padding_idx]
        if rows:
            out[b] = np.sum(rows, 0) if mode == "sum" else np.mean(rows, 0)
    return out


def _embedding_bag_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for mode in ("mean", "sum"):
        yield SampleInput((_index(rng, (3, 4), 10), mk((10, 3))), {"mode": mode}, "2-D bags")
        yield SampleInput((_index(rng, (7,), 10), mk((10, 3)), _long([0, 2, 2, 5])), {"mode": mode}, "offsets, empty bag")
        yield SampleInput((_index(rng, (6,), 10), mk((10, 3)), _long([0, 1, 6])),
                          {"mode": mode, "include_last_offset": True}, "include_last_offset")
        yield SampleInput((_long([[0, 3, 0], [4, 5, 6]]), mk((10, 3))), {"mode": mode, "padding_idx": 0},
                          "padding_idx", fd=False)
    yield SampleInput((_index(rng, (5,), 10), mk((10, 3), "transposed"), _long([0, 3])),
                      {"mode": "sum", "per_sample_weights": mk((5,))}, "per_sample_weights, non-contiguous weight")
    yield SampleInput((_index(rng, (0,), 10), mk((10, 3)), _long([0, 0])), {}, "no indices: empty bags")


def _embedding_bag_errors(rng):
    w = make_tensor((5, 3), float32, rng)
    idx = _long([1, 2, 3])
    yield ErrorInput(SampleInput((idx, w, _long([0])), {"mode": "prod"}), ValueError, "mode has to be one of sum, mean or max")
    yield ErrorInput(SampleInput((idx, w, _long([1]))), RuntimeError, "offsets\\[0\\] has to be 0")
    yield ErrorInput(SampleInput((idx, w, _long([0, 5]))), RuntimeError, "can not be greater than input's length")
    yield ErrorInput(SampleInput((_long([[1, 2]]), w, _long([0]))), ValueError, "offsets has to be None")
    yield ErrorInput(SampleInput((idx, w)), ValueError, "offsets has to be a 1D Tensor but got None")
    yield ErrorInput(SampleInput((idx, w, _long([0])), {"per_sample_weights": make_tensor((3,), float32, rng)}),
                     NotImplementedError, "per_sample_weights is only supported for mode='sum'")
    yield ErrorInput(SampleInput((from_values(np.array([1.0]), float32), w, _long([0]))), RuntimeError, "Long, Int")


def _trailing_axes(a, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return tuple(range(a.ndim - len(shape), a.ndim))


def _np_layer_norm(a, normalized_shape, weight=None, bias=None, eps=1e-5):
    axes = _trailing_axes(a, normalized_shape)
    centered = a - a.mean(axes, keepdims=True)
    out = centered / np.sqrt((centered ** 2).mean(axes, keepdims=True) + eps)
    out = out if weight is None else out * weight
    return out if bias is None else out + bias


def _np_rms_norm(a, normalized_shape, weight=None, eps=None, dtype=None):
    if eps is None:
        eps = float(np.finfo(np.float32 if dtype is float32 else np.float64).eps)
    out = a / np.sqrt((a ** 2).mean(_trailing_axes(a, normalized_shape), keepdims=True) + eps)
    return out if weight is None else out * weight


def _norm_samples(with_bias):
    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        affine = lambda shape: (mk(shape), mk(shape)) if with_bias else (mk(shape),)  # noqa: E731
        yield SampleInput((mk((4, 5)), (5,)) + affine((5,)), {}, "last dim, affine")
        yield SampleInput((mk((2, 3, 4)), (3, 4)) + affine((3, 4)), {}, "last two dims")
        yield SampleInput((mk((3, 6), "transposed"), [6]), {}, "list shape, non-contiguous, no affine")
        yield SampleInput((mk((2, 5)), [5]), {"eps": 0.1}, "eps")
        yield SampleInput((mk((0, 5)), (5,)) + affine((5,)), {}, "empty batch")

    return gen


def _norm_errors(name):
    def gen(rng):
        x = make_tensor((3, 5), float32, rng)
        yield ErrorInput(SampleInput((x, (4,))), RuntimeError, r"Given normalized_shape=\[4\], expected input with shape")
        # More normalized dims than the input has: torch's two ops disagree on the type.
        yield ErrorInput(SampleInput((x, (2, 3, 5))), RuntimeError if name == "layer_norm" else ValueError,
                         "expected input with shape" if name == "layer_norm" else "Input tensor must have at least 3 dimensions")
        yield ErrorInput(SampleInput((x, (5,), make_tensor((4,), float32, rng))), RuntimeError,
                         "Expected weight to be of same shape as normalized_shape")
        yield ErrorInput(SampleInput((make_tensor((3, 5), int64, rng), (5,))), NotImplementedError, "")
        if name == "layer_norm":
            yield ErrorInput(SampleInput((x, (5,), None, make_tensor((4,), float32, rng))), RuntimeError,
                             "Expected bias to be of same shape as normalized_shape")

    return gen


def _np_batch_norm(a, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    shape = [1, a.shape[1]] + [1] * (a.ndim - 2)
    axes = tuple(d for d in range(a.ndim) if d != 1)
    mean, var = (a.mean(axes), a.var(axes)) if training else (running_mean, running_var)
    out = (a - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    out = out if weight is None else out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _batch_norm_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((4, 3)), None, None, mk((3,)), mk((3,)), True), {}, "training, (N, C)")
    yield SampleInput((mk((2, 3, 5)), None, None), {"training": True, "eps": 0.01}, "training, (N, C, L), no affine")
    yield SampleInput((mk((4, 3)), mk((3,)), mk((3,), low=0.5, high=2.0), mk((3,)), mk((3,))), {}, "eval")
    yield SampleInput((mk((3, 4), "transposed"), None, None, mk((4,)), mk((4,))), {"training": True}, "non-contiguous")
    yield SampleInput((mk((0, 3)), mk((3,)), mk((3,), low=0.5, high=2.0)), {}, "eval, empty batch")


def _batch_norm_errors(rng):
    x = make_tensor((4, 3), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4,), float32, rng), make_tensor((3,), float32, rng))), RuntimeError,
                     "running_mean should contain 3 elements not 4")
    yield ErrorInput(SampleInput((x, None, None)), RuntimeError, "running_mean must be defined in evaluation mode")
    yield ErrorInput(SampleInput((make_tensor((1, 3), float32, rng), None, None), {"training": True}), ValueError,
                     "Expected more than 1 value per channel when training")
    yield ErrorInput(SampleInput((x, None, None), {"training": True, "eps": 0.0}), ValueError, "eps must be positive")
    yield ErrorInput(SampleInput((make_tensor((4,), float32, rng), None, None), {"training": True}), IndexError,
                     "Dimension out of range")
    yield ErrorInput(SampleInput((make_tensor((), float32, rng), None, None), {"training": True}), IndexError, "")


def _np_cosine_similarity(x1, x2, dim=1, eps=1e-8):
    x1, x2 = np.broadcast_arrays(x1, x2)
    n1 = np.maximum(np.sqrt((x1 ** 2).sum(dim, keepdims=True)), eps)
    n2 = np.maximum(np.sqrt((x2 ** 2).sum(dim, keepdims=True)), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _cosine_similarity_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((4, 5)), mk((4, 5))), {}, "dim 1")
    yield SampleInput((mk((4, 5)), mk((1, 5))), {"dim": -1}, "broadcast")
    yield SampleInput((mk((3, 4, 2), "transposed"), mk((3, 4, 2))), {"dim": 0}, "dim 0, non-contiguous")
    yield SampleInput((mk((5,)), mk((5,))), {"dim": 0}, "1-D")
    yield SampleInput((mk((0, 5)), mk((0, 5))), {}, "empty batch")


def _cosine_similarity_errors(rng):
    x = make_tensor((3, 5), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4, 5), float32, rng))), RuntimeError, "must match")
    yield ErrorInput(SampleInput((x, x), {"dim": 2}), IndexError, "Dimension out of range")
    yield ErrorInput(SampleInput((make_tensor((3, 5), int64, rng),) * 2), RuntimeError, "expected common dtype to be floating point")


# ---------------------------------------------------------------------------- nn.functional: losses
REDUCTIONS = ("none", "mean", "sum")


def _np_reduce_loss(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.size if denominator is None else denominator)


def _np_nll_terms(log_probs, target, weight, ignore_index):
    class_dim = 0 if log_probs.ndim == 1 else 1
    ignored = target == ignore_index
    safe = np.where(ignored, 0, target)
    picked = np.take_along_axis(log_probs, np.expand_dims(safe, class_dim), class_dim).squeeze(class_dim)
    class_weight = np.ones(log_probs.shape[class_dim]) if weight is None else weight
    counted = np.where(ignored, 0.0, class_weight[safe])
    return -picked * counted, counted


def _np_nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    loss, counted = _np_nll_terms(log_probs, target, weight, ignore_index)
    return _np_reduce_loss(loss, reduction, counted.sum())


def _np_cross_entropy(a, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    class_dim = 0 if a.ndim == 1 else 1
    num_classes = a.shape[class_dim]
    log_probs = _np_log_softmax(a, class_dim)
    shape = [1] * a.ndim
    shape[class_dim] = num_classes
    class_weight = (np.ones(num_classes) if weight is None else weight).reshape(shape)
    if target.dtype.kind == "f":
        smoothed = target * (1 - label_smoothing) + label_smoothing / num_classes
        loss = -(log_probs * smoothed * class_weight).sum(class_dim)
        return _np_reduce_loss(loss, reduction, a.size // num_classes)
    loss, counted = _np_nll_terms(log_probs, target, weight, ignore_index)
    if label_smoothing:
        smooth = np.where(target == ignore_index, 0.0, -(log_probs * class_weight).sum(class_dim))
        loss = (1 - label_smoothing) * loss + label_smoothing / num_classes * smooth
    return _np_reduce_loss(loss, reduction, counted.sum())


def _class_target_samples(probabilities):
    """Samples for cross_entropy (``probabilities``: also class-probability targets) and nll_loss."""

    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        for reduction in REDUCTIONS:
            yield SampleInput((mk((4, 5)), _index(rng, (4,), 5)), {"reduction": reduction}, "class indices")
        yield SampleInput((mk((4, 5)), _index(rng, (4,), 5), mk((5,), low=0.1, high=2.0)), {}, "class weights")
        target = _long([1, -100, 4, 2, 1, 0])
        for reduction in REDUCTIONS:
            yield SampleInput((mk((6, 5)), target, mk((5,), low=0.1, high=2.0)), {"reduction": reduction},
                              "ignore_index -100 and weights")
        yield SampleInput((mk((6, 5), "transposed"), _long([1, 3, 4, 2, 1, 0])), {"ignore_index": 1},
                          "ignore_index 1, non-contiguous")
        yield SampleInput((mk((2, 5, 3)), _index(rng, (2, 3), 5)), {}, "K-dim (N, C, d1)")
        yield SampleInput((mk((2, 4, 3, 2)), _index(rng, (2, 3, 2), 4)), {"reduction": "none"}, "K-dim (N, C, d1, d2)")
        yield SampleInput((mk((5,)), _long(2)), {}, "1-D input, 0-d target")
        yield SampleInput((mk((0, 5)), _index(rng, (0,), 5)), {"reduction": "sum"}, "empty batch")
        yield SampleInput((mk((2, 3)), _long([-100, -100])), {}, "all targets ignored: mean is nan")
        if probabilities:
            for reduction in REDUCTIONS:
                yield SampleInput((mk((6, 5)), target, mk((5,), low=0.1, high=2.0)),
                                  {"reduction": reduction, "label_smoothing": 0.2}, "label smoothing, ignore, weights")
                yield SampleInput((mk((4, 5)), mk((4, 5), low=0.0, high=1.0)), {"reduction": reduction},
                                  "class probabilities")
            yield SampleInput((mk((2, 5, 3)), mk((2, 5, 3), low=0.0, high=1.0), mk((5,), low=0.1, high=2.0)),
                              {"label_smoothing": 0.3}, "K-dim probabilities, smoothing, weights")
            yield SampleInput((mk((2, 5, 3)), _index(rng, (2, 3), 5)), {"label_smoothing": 0.1}, "K-dim smoothing")

    return gen


def _class_target_errors(name):
    def gen(rng):
        x = make_tensor((3, 5), float32, rng)
        yield ErrorInput(SampleInput((x, _long([1, 0, 5]))), IndexError, "Target 5 is out of bounds")
        yield ErrorInput(SampleInput((x, _long([1, 0, -1]))), IndexError, "Target -1 is out of bounds")
        yield ErrorInput(SampleInput((x, _long([1, 0]))), ValueError, r"Expected input batch_size \(3\) to match target batch_size \(2\)")
        yield ErrorInput(SampleInput((x, _long([1, 0, 4])), {"reduction": "bad"}), ValueError, "bad is not a valid value for reduction")
        yield ErrorInput(SampleInput((x, _long([1, 0, 4]), make_tensor((4,), float32, rng))), RuntimeError,
                         "weight tensor should be defined either for all 5 classes or no classes")
        yield ErrorInput(SampleInput((x, from_values(np.array([1, 0, 4]), int32))), RuntimeError, "expected target dtype to be Long or Byte")
        yield ErrorInput(SampleInput((x, _long([[1], [0], [4]]))), RuntimeError, "multi-target not supported")
        yield ErrorInput(SampleInput((make_tensor((2, 5, 3), float32, rng), _long([1, 2]))), RuntimeError,
                         r"Expected target size \[2, 3\], got \[2\]")
        yield ErrorInput(SampleInput((make_tensor((5,), float32, rng), _long([1, 2]))), ValueError,
                         "For 1D input, 1D target must have size 1")
        if name == "cross_entropy":
            yield ErrorInput(SampleInput((x, _long([1, 0, 4])), {"label_smoothing": 1.5}), RuntimeError,
                             "label_smoothing must be between 0.0 and 1.0")
            yield ErrorInput(SampleInput((x, make_tensor((3, 5), float32, rng, low=0, high=1)), {"ignore_index": 1}),
                             RuntimeError, "ignore_index is not supported for floating point target")
            yield ErrorInput(SampleInput((make_tensor((3, 5), int64, rng), _long([1, 0, 4]))), NotImplementedError, "")
        else:
            yield ErrorInput(SampleInput((x, make_tensor((3,), float32, rng))), RuntimeError, "expected target dtype to be Long")

    return gen


def _regression_samples(weighted=False, **kwargs_options):
    """Samples for the elementwise regression losses: every reduction, broadcasting targets,
    non-contiguous inputs, the loss's options and (``weighted``) per-element weights."""

    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        for reduction in REDUCTIONS:
            yield SampleInput((mk((4, 5)), mk((4, 5))), {"reduction": reduction}, "same shape")
        yield SampleInput((mk((4, 5), "transposed"), mk((4, 5), "strided")), {}, "non-contiguous")
        yield SampleInput((mk(()), mk(())), {}, "0-d")
        yield SampleInput((mk((0, 5)), mk((0, 5))), {"reduction": "sum"}, "empty")
        for name, values in kwargs_options.items():
            for value in values:
                yield SampleInput((mk((3, 4)), mk((3, 4))), {name: value}, f"{name}={value}")
        if weighted:
            for reduction in REDUCTIONS:
                yield SampleInput((mk((3, 4)), mk((3, 4))), {"reduction": reduction, "weight": mk((3, 4), low=0.1, high=2.0)},
                                  "per-element weights")

    return gen


def _regression_errors(int_error=None, bad_options=(), weighted=False):
    """Error inputs of a regression loss: shape mismatch, bad reduction, integer inputs (when
    torch refuses them, with ``int_error``), bad option values (kwargs, exception, message)
    and, with ``weighted``, a weight of the wrong size."""

    def gen(rng):
        x = make_tensor((3, 5), float32, rng)
        yield ErrorInput(SampleInput((x, make_tensor((4,), float32, rng))), RuntimeError, "must match")
        yield ErrorInput(SampleInput((x, x), {"reduction": "bad"}), ValueError, "bad is not a valid value for reduction")
        if int_error is not None:
            i = make_tensor((3,), int64, rng)
            yield ErrorInput(SampleInput((i, i)), int_error, "")
        for kwargs, exc, match in bad_options:
            yield ErrorInput(SampleInput((x, x), kwargs), exc, match)
        if weighted:
            yield ErrorInput(SampleInput((x, x), {"weight": make_tensor((5,), float32, rng)}), ValueError,
                             "Weights and input must have the same size")

    return gen


def _np_weighted(loss_fn, divide_by_weight=True):
    def ref(a, b, reduction="mean", weight=None, **options):
        loss = loss_fn(np.asarray(a) - np.asarray(b), **options)
        if weight is None:
            return _np_reduce_loss(loss, reduction)
        return _np_reduce_loss(loss * weight, reduction, weight.sum() if divide_by_weight else None)

    return ref


def _np_smooth_l1(d, beta=1.0):
    z = np.abs(d)
    return z if beta == 0 else np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def _np_huber(d, delta=1.0):
    z = np.abs(d)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


def _np_bce(x, t, weight=None, reduction="mean"):
    with np.errstate(divide="ignore"):
        loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
    return _np_reduce_loss(loss if weight is None else loss * weight, reduction)


def _bce_samples(dtype, rng):
    # Targets stay inside (0, 1) where finite differences apply (BCE refuses targets outside [0, 1]).
    mk = _mk(rng, dtype, low=0.05, high=0.95)
    for reduction in REDUCTIONS:
        yield SampleInput((mk((4, 5)), mk((4, 5))), {"reduction": reduction}, "probabilities")
        yield SampleInput((mk((4, 5)), mk((4, 5)), mk((5,), low=0.1, high=2.0)), {"reduction": reduction},
                          "broadcast weight")
    yield SampleInput((mk(()), mk(())), {}, "0-d")
    yield SampleInput((mk((0, 3)), mk((0, 3))), {"reduction": "sum"}, "empty")
    yield SampleInput((mk((3, 4), "transposed"), _long(np.eye(3, 4)).to(dtype)), {}, "hard targets, non-contiguous",
                      fd=False)
    yield SampleInput((_long([0, 1, 1, 0]).to(dtype), _long([0, 1, 0, 1]).to(dtype)), {"reduction": "none"},
                      "saturated probabilities (logs clamped at -100)", fd=False)


def _bce_errors(rng):
    p = make_tensor((3,), float32, rng, low=0.1, high=0.9)
    yield ErrorInput(SampleInput((p, make_tensor((4,), float32, rng, low=0, high=1))), ValueError,
                     "Using a target size .* that is different to the input size")
    yield ErrorInput(SampleInput((from_values(np.array([1.5]), float32), from_values(np.array([1.0]), float32))),
                     RuntimeError, "all elements of input should be between 0 and 1")
    yield ErrorInput(SampleInput((p, _long([1, 0, 1]))), RuntimeError, "Found dtype Long but expected Float")
    yield ErrorInput(SampleInput((p, p), {"reduction": "x"}), ValueError, "x is not a valid value for reduction")
    yield ErrorInput(SampleInput((make_tensor((3, 2), float32, rng, low=0.1, high=0.9),) * 2 + (make_tensor((3,), float32, rng),)),
                     RuntimeError, "")


def _np_bce_with_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    log_sigmoid = -np.logaddexp(0.0, -x)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * t + 1
    loss = (1 - t) * x - log_weight * log_sigmoid
    return _np_reduce_loss(loss if weight is None else loss * weight, reduction)


def _bce_with_logits_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for reduction in REDUCTIONS:
        yield SampleInput((mk((4, 5)), mk((4, 5), low=0.0, high=1.0)), {"reduction": reduction}, "soft targets")
        yield SampleInput((mk((4, 5)), mk((4, 5), low=0.0, high=1.0), mk((5,), low=0.1, high=2.0)),
                          {"reduction": reduction, "pos_weight": mk((5,), low=0.1, high=3.0)}, "weight and pos_weight")
    large = from_values(np.array([[-200.0, -30.0, 0.0, 30.0, 200.0]]), dtype)
    yield SampleInput((large, mk((1, 5), low=0.0, high=1.0)), {"reduction": "none"}, "large logits stay finite")
    yield SampleInput((mk((3, 4), "transposed"), mk((3, 4), low=0.0, high=1.0)), {}, "non-contiguous")
    yield SampleInput((mk(()), mk((), low=0.0, high=1.0)), {}, "0-d")
    yield SampleInput((mk((0, 4)), mk((0, 4), low=0.0, high=1.0)), {"reduction": "sum"}, "empty")


def _bce_with_logits_errors(rng):
    x = make_tensor((3,), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4,), float32, rng))), ValueError, "must be the same as input size")
    yield ErrorInput(SampleInput((x, x), {"reduction": "x"}), ValueError, "x is not a valid value for reduction")
    yield ErrorInput(SampleInput((make_tensor((3, 2), float32, rng),) * 2, {"pos_weight": make_tensor((3,), float32, rng)}),
                     RuntimeError, "must match")
    yield ErrorInput(SampleInput((x, _long([1, 0, 1]))), RuntimeError, "")
    yield ErrorInput(SampleInput((_long([1, 0, 1]), x)), NotImplementedError, "")


def _np_kl_div(a, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - a)
    else:
        loss = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t))) - t * a
    if reduction == "batchmean":
        return loss.sum() / a.shape[0] if a.ndim else loss.sum()
    return _np_reduce_loss(loss, reduction)


def _kl_div_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for reduction in REDUCTIONS + ("batchmean",):
        yield SampleInput((mk((4, 5)), mk((4, 5), low=0.05, high=1.0)), {"reduction": reduction}, "probability target")
        yield SampleInput((mk((4, 5)), mk((4, 5), low=-3.0, high=0.0)), {"reduction": reduction, "log_target": True},
                          "log target")
    yield SampleInput((mk((4, 5)), mk((5,), low=0.05, high=1.0)), {"reduction": "sum"}, "broadcast target")
    yield SampleInput((mk(()), mk((), low=0.05, high=1.0)), {"reduction": "batchmean"}, "0-d batchmean")
    yield SampleInput((mk((3, 4), "transposed"), mk((3, 4), "strided", low=0.05, high=1.0)), {}, "non-contiguous")
    yield SampleInput((mk((0, 4)), mk((0, 4), low=0.05, high=1.0)), {"reduction": "sum"}, "empty")


def _kl_div_errors(rng):
    x = make_tensor((3, 5), float32, rng)
    yield ErrorInput(SampleInput((x, x), {"reduction": "x"}), ValueError, "x is not a valid value for reduction")
    yield ErrorInput(SampleInput((x, make_tensor((4,), float32, rng))), RuntimeError, "must match")
    yield ErrorInput(SampleInput((make_tensor((3,), int64, rng),) * 2), RuntimeError, "Integral inputs not supported")


def _np_cosine_embedding_loss(x1, x2, target, margin=0.0, reduction="mean"):
    dim = target.ndim
    eps = 1e-12
    cos = (x1 * x2).sum(dim) / np.sqrt(((x1 * x1).sum(dim) + eps) * ((x2 * x2).sum(dim) + eps))
    loss = np.where(target == 1, 1 - cos, 0.0) + np.where(target == -1, np.maximum(cos - margin, 0.0), 0.0)
    return _np_reduce_loss(loss, reduction)


def _cosine_embedding_samples(dtype, rng):
    mk = _mk(rng, dtype)
    target = _long([1, -1, 1, -1, 0])  # integer targets: piecewise, so no finite differences through them
    for reduction in REDUCTIONS:
        yield SampleInput((mk((5, 3)), mk((5, 3)), target), {"reduction": reduction, "margin": -0.5}, "batch")
    yield SampleInput((mk((4,)), mk((4,), "strided"), _long(-1)), {"margin": -0.2}, "0-d target, 1-D inputs")
    yield SampleInput((mk((0, 3)), mk((0, 3)), _long(np.zeros(0, np.int64))), {"reduction": "sum"}, "empty batch")


def _cosine_embedding_errors(rng):
    x = make_tensor((3, 5), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4, 5), float32, rng), _long([1, 1, 1]))), RuntimeError, "must match")
    yield ErrorInput(SampleInput((x, x, _long([1, 1, 1, 1]))), RuntimeError, "must match")
    yield ErrorInput(SampleInput((make_tensor((2, 3, 5), float32, rng),) * 2 + (_long([1, 1]),)), RuntimeError,
                     "1D target tensor expects 2D input tensors")
    yield ErrorInput(SampleInput((x, x, _long([[1], [1], [1]]))), RuntimeError, "0D or 1D target tensor expected")
    yield ErrorInput(SampleInput((x, x, _long([1, 1, 1])), {"reduction": "x"}), ValueError, "not a valid value")


def _np_margin_ranking_loss(x1, x2, target, margin=0.0, reduction="mean"):
    return _np_reduce_loss(np.maximum(-target * (x1 - x2) + margin, 0.0), reduction)


def _margin_ranking_samples(dtype, rng):
    mk = _mk(rng, dtype)
    target = _long([1, -1, 1, -1, 1]).to(dtype)
    for reduction in REDUCTIONS:
        yield SampleInput((mk((5,)), mk((5,)), target), {"reduction": reduction, "margin": 0.3}, "1-D")
    yield SampleInput((mk((3, 2)), mk((3, 2), "transposed"), _long([[1, -1], [-1, 1], [1, 1]]).to(dtype)), {}, "2-D")
    yield SampleInput((mk(()), mk(()), _long(-1).to(dtype)), {"margin": 0.5}, "0-d")
    yield SampleInput((mk((0,)), mk((0,)), mk((0,))), {"reduction": "sum"}, "empty")


def _margin_ranking_errors(rng):
    mk = functools.partial(make_tensor, dtype=float32, rng=rng)
    yield ErrorInput(SampleInput((mk((3,)), mk((4,)), mk((3,)))), RuntimeError, "must match")
    yield ErrorInput(SampleInput((mk((3, 2)), mk((2,)), mk((3, 1)))), RuntimeError, "All input tensors should have same dimension")
    yield ErrorInput(SampleInput((mk((3,)), mk((3,)), mk((3,))), {"reduction": "x"}), ValueError, "not a valid value")



# ---------------------------------------------------------------------------- nn.functional: padding, pooling, resampling
_NP_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _np_pad(a, pad, mode="constant", value=None):
    """np.pad of the positive widths, then the negative ones cropped (torch's order for all
    modes but circular, which the samples pad by positive widths only)."""
    widths, crop = [(0, 0)] * a.ndim, [slice(None)] * a.ndim
    for i in range(len(pad) // 2):
        dim, left, right = a.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        widths[dim] = (max(left, 0), max(right, 0))
        crop[dim] = slice(max(-left, 0), a.shape[dim] + max(left, 0) + right)
    extra = {"constant_values": value or 0} if mode == "constant" else {}
    return np.pad(a, widths, _NP_PAD_MODES[mode], **extra)[tuple(crop)]


def _pad_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((2, 3, 5)), (2, 1)), {}, "constant, last dim")
    yield SampleInput((mk((2, 3, 5), "transposed"), (1, -2, 0, 1)), {"value": 2.0}, "constant, crop, value")
    yield SampleInput((mk((2, 3, 5)), (3, 4)), {"mode": "reflect"}, "reflect (N, C, W)")
    yield SampleInput((mk((3, 5)), (-1, 2)), {"mode": "reflect"}, "reflect unbatched, negative width")
    yield SampleInput((mk((1, 2, 4, 5), "strided"), (1, 2, 3, 0)), {"mode": "replicate"}, "replicate (N, C, H, W)")
    yield SampleInput((mk((1, 2, 3, 4, 5)), (1, 1, 2, 0, 0, 2)), {"mode": "circular"}, "circular 3-D")
    yield SampleInput((mk((0, 3, 4)), (1, 2)), {"mode": "reflect"}, "empty batch")


def _pad_errors(rng):
    x = make_tensor((2, 3, 4), float32, rng)
    yield ErrorInput(SampleInput((x, (1,))), RuntimeError, "Padding length must be divisible by 2")
    yield ErrorInput(SampleInput((x, (1, 1), "foo")), NotImplementedError, "Unrecognised padding mode foo")
    yield ErrorInput(SampleInput((x, (4, 1), "reflect")), RuntimeError, "Padding size should be less than")
    yield ErrorInput(SampleInput((make_tensor((4,), float32, rng), (1, 1), "reflect")), NotImplementedError,
                     "Padding size 2 is not supported for 1D input")
    yield ErrorInput(SampleInput((x, (5, 1), "circular")), RuntimeError, "wrapping around more than once")


def _np_pool(reference, n):
    """references.max_pool/avg_pool over the last ``n`` dims, with the op's signature."""
    return lambda a, *args, **kwargs: reference(a, n, *args, **kwargs)


def _pool_samples(n, max_pool=False):
    """Samples of the {max,avg}_pool{n}d: batched and unbatched, padding, stride, ceil_mode,
    non-contiguous, an empty batch (and dilation and indices for max pooling)."""
    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        spatial = (7, 6, 5)[:n]
        yield SampleInput((mk((2, 3) + spatial), 2), {}, "kernel 2")
        yield SampleInput((mk((3,) + spatial, "transposed"), 3, 2, 1), {"ceil_mode": True}, "unbatched, padding, ceil")
        yield SampleInput((mk((0, 2) + spatial), 2), {}, "empty batch")
        if max_pool:
            yield SampleInput((mk((1, 2) + spatial, "strided"), 2, 1), {"dilation": 2, "return_indices": True},
                              "dilation, indices")
        else:
            yield SampleInput((mk((1, 2) + spatial), 3, 2, 1), {"count_include_pad": False}, "padding not counted")

    return gen


def _pool_errors(name):
    def gen(rng):
        x = make_tensor((2, 3, 7, 8), float32, rng)
        yield ErrorInput(SampleInput((x, 3), {"padding": 2}), RuntimeError, "pad should be at most half")
        yield ErrorInput(SampleInput((x, 2), {"stride": 0}), RuntimeError, "stride should not be zero")
        yield ErrorInput(SampleInput((x, 9)), RuntimeError, "Output size is too small")
        yield ErrorInput(SampleInput((make_tensor((1, 1, 2, 3, 8), float32, rng), 2)), RuntimeError, "tensor")

    return gen


def _adaptive_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((2, 3, 7, 6)), (3, 4)), {}, "windows of unequal sizes")
    yield SampleInput((mk((3, 5, 9), "transposed"), 1), {}, "unbatched, global")
    yield SampleInput((mk((1, 2, 4, 5)), (6, None)), {}, "more outputs than inputs, None")
    yield SampleInput((mk((0, 2, 4, 4)), 2), {}, "empty batch")


def _adaptive_errors(rng):
    x = make_tensor((2, 3, 6, 6), float32, rng)
    yield ErrorInput(SampleInput((x, (-1, 2))), RuntimeError, "greater than or equal to 0")
    yield ErrorInput(SampleInput((x, (2, 2, 2))), RuntimeError, "output_size must be 2")
    yield ErrorInput(SampleInput((make_tensor((2, 3, 6, 6), int64, rng), 2)), NotImplementedError, "")


def _np_adaptive(reduce):
    def ref(a, output_size, return_indices=False):
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
        sizes = tuple(a.shape[-2 + i] if s is None else s for i, s in enumerate(sizes))
        return references.adaptive_pool(a, sizes, reduce)

    return ref


def _interpolate_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((2, 3, 4, 5)),), {"size": (7, 3)}, "nearest")
    yield SampleInput((mk((2, 3, 4, 5), "transposed"),), {"size": (6, 9), "mode": "bilinear"}, "bilinear, half pixel")
    yield SampleInput((mk((2, 3, 5)),), {"size": 8, "mode": "linear", "align_corners": True}, "linear, corners")
    yield SampleInput((mk((1, 2, 3, 4, 2)),), {"size": (2, 5, 3), "mode": "trilinear"}, "trilinear")
    yield SampleInput((mk((0, 2, 3, 3)),), {"size": 5, "mode": "bilinear"}, "empty batch")


def _interpolate_errors(rng):
    x = make_tensor((2, 3, 5, 4), float32, rng)
    yield ErrorInput(SampleInput((x,), {"size": 7, "scale_factor": 2}), ValueError, "only one of size or scale_factor")
    yield ErrorInput(SampleInput((x,), {"scale_factor": 2, "mode": "linear"}), NotImplementedError,
                     "Got 4D input, but linear mode needs 3D input")
    yield ErrorInput(SampleInput((x,), {"size": (0, 3)}), RuntimeError, "sizes should be greater than 0")
    yield ErrorInput(SampleInput((x,), {"size": 3, "align_corners": True}), ValueError, "align_corners option")


def _np_interpolate(a, size, mode="nearest", align_corners=None):
    return references.interpolate(a, size, mode, align_corners)


def _np_pixel_shuffle(a, r):
    *lead, c, h, w = a.shape
    blocks = a.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    return blocks.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2).reshape(*lead, c // (r * r), h * r, w * r)


def _pixel_shuffle_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((2, 8, 3, 4)), 2), {}, "(N, C, H, W)")
    yield SampleInput((mk((9, 2, 3), "transposed"), 3), {}, "unbatched, non-contiguous")
    yield SampleInput((mk((2, 2, 4, 2, 2)), 2), {}, "two leading dims")
    yield SampleInput((mk((0, 4, 2, 2)), 2), {}, "empty batch")


def _pixel_shuffle_errors(rng):
    yield ErrorInput(SampleInput((make_tensor((2, 6, 3, 3), float32, rng), 2)), RuntimeError, "divisible by the square")
    yield ErrorInput(SampleInput((make_tensor((8, 3), float32, rng), 2)), RuntimeError, "at least 3 dimensions")


def _np_group_norm(a, num_groups, weight=None, bias=None, eps=1e-5):
    groups = a.reshape(a.shape[0], num_groups, math.prod(a.shape[1:]) // num_groups)
    out = ((groups - groups.mean(-1, keepdims=True)) / np.sqrt(groups.var(-1, keepdims=True) + eps)).reshape(a.shape)
    channel = (1, -1) + (1,) * (a.ndim - 2)
    out = out if weight is None else out * weight.reshape(channel)
    return out if bias is None else out + bias.reshape(channel)


def _group_norm_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((2, 6, 4, 3)), 3, mk((6,)), mk((6,))), {}, "affine")
    yield SampleInput((mk((3, 4, 5), "transposed"), 2), {"eps": 1e-3}, "no affine, non-contiguous")
    yield SampleInput((mk((2, 4)), 2, mk((4,))), {}, "(N, C)")
    yield SampleInput((mk((0, 4, 3)), 2), {}, "empty batch")


def _group_norm_errors(rng):
    x = make_tensor((2, 6, 3), float32, rng)
    yield ErrorInput(SampleInput((x, 4)), RuntimeError, "divisible by num_groups")
    yield ErrorInput(SampleInput((x, 3, make_tensor((5,), float32, rng))), RuntimeError, "Expected weight to be a vector")
    yield ErrorInput(SampleInput((make_tensor((6,), float32, rng), 3)), RuntimeError, "at least 2 dimensions")

NN_OPS = [
    OpInfo("linear", "nn.functional.linear", _np_linear, (float32, float64), _linear_samples, _linear_errors,
           cost=_linear_cost),
    OpInfo("bilinear", "nn.functional.bilinear", _np_bilinear, (float32, float64), _bilinear_samples, _bilinear_errors),
    OpInfo("embedding", "nn.functional.embedding", _np_embedding, (float32, float64), _embedding_samples,
           _embedding_errors, cost=movement_cost),
    OpInfo("embedding_bag", "nn.functional.embedding_bag", _np_embedding_bag, (float32, float64),
           _embedding_bag_samples, _embedding_bag_errors, cost=movement_cost),
    OpInfo("layer_norm", "nn.functional.layer_norm", _np_layer_norm, (float32, float64), _norm_samples(True),
           _norm_errors("layer_norm"), cost=elementwise_cost(8), tol={float32: (2e-5, 2e-5)}),
    OpInfo("rms_norm", "nn.functional.rms_norm", _np_rms_norm, (float32, float64), _norm_samples(False),
           _norm_errors("rms_norm"), cost=elementwise_cost(5), ref_takes_dtype=True),
    OpInfo("batch_norm", "nn.functional.batch_norm", _np_batch_norm, (float32, float64), _batch_norm_samples,
           _batch_norm_errors, cost=elementwise_cost(8), tol={float32: (2e-5, 2e-5)}),
    OpInfo("cosine_similarity", "nn.functional.cosine_similarity", _np_cosine_similarity, (float32, float64),
           _cosine_similarity_samples, _cosine_similarity_errors, cost=reduction_cost),
    OpInfo("cross_entropy", "nn.functional.cross_entropy", _np_cross_entropy, (float32, float64),
           _class_target_samples(probabilities=True), _class_target_errors("cross_entropy"), cost=softmax_cost),
    OpInfo("nll_loss", "nn.functional.nll_loss", _np_nll_loss, (float32, float64), _class_target_samples(False),
           _class_target_errors("nll_loss"), cost=reduction_cost),
    OpInfo("mse_loss", "nn.functional.mse_loss", _np_weighted(lambda d: d * d), (float32, float64),
           _regression_samples(weighted=True), _regression_errors(NotImplementedError, weighted=True)),
    OpInfo("l1_loss", "nn.functional.l1_loss", _np_weighted(np.abs), (float32, float64),
           _regression_samples(weighted=True), _regression_errors(weighted=True)),
    OpInfo("smooth_l1_loss", "nn.functional.smooth_l1_loss", _np_weighted(_np_smooth_l1), (float32, float64),
           _regression_samples(beta=(0.5, 0.0, 2.0)), _regression_errors(NotImplementedError, [
               ({"beta": -1.0}, RuntimeError, "does not support negative values for beta")])),
    OpInfo("huber_loss", "nn.functional.huber_loss", _np_weighted(_np_huber, divide_by_weight=False), (float32, float64),
           _regression_samples(weighted=True, delta=(0.5, 2.0)), _regression_errors(NotImplementedError, [
               ({"delta": 0.0}, RuntimeError, "does not support non-positive values for delta")], weighted=True)),
    OpInfo("binary_cross_entropy", "nn.functional.binary_cross_entropy", _np_bce, (float32, float64), _bce_samples,
           _bce_errors),
    OpInfo("binary_cross_entropy_with_logits", "nn.functional.binary_cross_entropy_with_logits",
           _np_bce_with_logits, (float32, float64), _bce_with_logits_samples, _bce_with_logits_errors),
    OpInfo("kl_div", "nn.functional.kl_div", _np_kl_div, (float32, float64), _kl_div_samples, _kl_div_errors),
    OpInfo("cosine_embedding_loss", "nn.functional.cosine_embedding_loss", _np_cosine_embedding_loss,
           (float32, float64), _cosine_embedding_samples, _cosine_embedding_errors),
    OpInfo("margin_ranking_loss", "nn.functional.margin_ranking_loss", _np_margin_ranking_loss, (float32, float64),
           _margin_ranking_samples, _margin_ranking_errors),
    OpInfo("pad", "nn.functional.pad", _np_pad, (float32, float64, int64), _pad_samples, _pad_errors,
           cost=movement_cost),
    OpInfo("max_pool1d", "nn.functional.max_pool1d", _np_pool(references.max_pool, 1), (float32, float64),
           _pool_samples(1, max_pool=True), kinks_at_ties=True, cost=reduction_cost),
    OpInfo("max_pool2d", "nn.functional.max_pool2d", _np_pool(references.max_pool, 2), (float32, float64),
           _pool_samples(2, max_pool=True), _pool_errors("max_pool2d"), kinks_at_ties=True, cost=reduction_cost),
    OpInfo("max_pool3d", "nn.functional.max_pool3d", _np_pool(references.max_pool, 3), (float32, float64),
           _pool_samples(3, max_pool=True), kinks_at_ties=True, cost=reduction_cost),
    OpInfo("avg_pool2d", "nn.functional.avg_pool2d", _np_pool(references.avg_pool, 2), (float32, float64),
           _pool_samples(2), _pool_errors("avg_pool2d"), cost=reduction_cost),
    OpInfo("adaptive_avg_pool2d", "nn.functional.adaptive_avg_pool2d", _np_adaptive(np.mean), (float32, float64),
           _adaptive_samples, _adaptive_errors, cost=reduction_cost),
    OpInfo("adaptive_max_pool2d", "nn.functional.adaptive_max_pool2d", _np_adaptive(np.max), (float32, float64),
           _adaptive_samples, _adaptive_errors, kinks_at_ties=True, cost=reduction_cost),
    OpInfo("interpolate", "nn.functional.interpolate", _np_interpolate, (float32, float64), _interpolate_samples,
           _interpolate_errors, cost=elementwise_cost(4)),
    OpInfo("pixel_shuffle", "nn.functional.pixel_shuffle", _np_pixel_shuffle, (float32, float64, int64),
           _pixel_shuffle_samples, _pixel_shuffle_errors, cost=movement_cost),
    OpInfo("group_norm", "nn.functional.group_norm", _np_group_norm, (float32, float64), _group_norm_samples,
           _group_norm_errors, cost=elementwise_cost(8), tol={float32: (2e-5, 2e-5)}),
]


# ---------------------------------------------------------------------------- linear algebra (GEMM)
def _gemm_cost(sample, out):
    a = sample.args[1] if sample.args and len(sample.args) == 3 else sample.args[0]
    inner = a.shape[-1] if a.ndim else 1
    return 2 * max(_numel(out), 1) * inner, _nbytes((sample.args, sample.kwargs)) + _nbytes(out)


def _matmul_samples(dtype, rng):
    mk = _mk(rng, dtype)
    yield SampleInput((mk((3, 4)), mk((4, 5))), {}, "2-D @ 2-D")
    yield SampleInput((mk((7, 17)), mk((17, 13), "transposed")), {}, "transposed rhs, odd sizes")
    yield SampleInput((mk((17, 7), "transposed"), mk((7, 9))), {}, "transposed lhs")
    yield SampleInput((mk((4,)), mk((4, 3))), {}, "1-D @ 2-D")
    yield SampleInput((mk((3, 4)), mk((4,))), {}, "2-D @ 1-D")
    yield SampleInput((mk((5,)), mk((5,))), {}, "1-D @ 1-D")
    yield SampleInput((mk((2, 1, 3, 4)), mk((3, 4, 2))), {}, "broadcast batch dims")
    yield SampleInput((mk((2, 3, 4), "strided"), mk((4, 6))), {}, "batched lhs, shared rhs")
    yield SampleInput((mk((0, 4)), mk((4, 5))), {}, "zero rows")
    yield SampleInput((mk((3, 0)), mk((0, 2))), {}, "zero inner dim")


def _matmul_errors(rng):
    x = make_tensor((2, 3), float32, rng)
    yield ErrorInput(SampleInput((x, make_tensor((4, 5), float32, rng))), RuntimeError, "2x3 and 4x5")
    yield ErrorInput(SampleInput((make_tensor((), float32, rng), x)), RuntimeError, "at least 1D")
    yield ErrorInput(SampleInput((x, make_tensor((3, 2), float64, rng))), RuntimeError, "dtype")
    yield ErrorInput(SampleInput((x, "not a tensor")), TypeError, "")


def _gemm_family_samples(kind):
    def gen(dtype, rng):
        mk = _mk(rng, dtype)
        if kind == "mm":
            yield SampleInput((mk((5, 3)), mk((3, 4))), {})
            yield SampleInput((mk((6, 33), "transposed"), mk((33, 17), "transposed")), {}, "both transposed")
            yield SampleInput((mk((4, 0)), mk((0, 3))), {}, "empty inner dim")
        elif kind == "bmm":
            yield SampleInput((mk((3, 5, 4)), mk((3, 4, 2))), {})
            yield SampleInput((mk((2, 7, 3), "strided"), mk((2, 3, 6), "transposed")), {}, "non-contiguous")
            yield SampleInput((mk((0, 2, 3)), mk((0, 3, 4))), {}, "empty batch")
        elif kind == "mv":
            yield SampleInput((mk((5, 3)), mk((3,))), {})
            yield SampleInput((mk((9, 6), "transposed"), mk((6,), "strided")), {}, "transposed matrix, strided vector")
            yield SampleInput((mk((0, 3)), mk((3,))), {}, "no rows")
        elif kind == "dot":
            yield SampleInput((mk((7,)), mk((7,))), {})
            yield SampleInput((mk((33,), "strided"), mk((33,))), {}, "strided")
            yield SampleInput((mk((0,)), mk((0,))), {}, "empty")
        elif kind == "outer":
            yield SampleInput((mk((4,)), mk((3,), "strided")), {})
            yield SampleInput((mk((0,)), mk((3,))), {}, "empty")
        elif kind == "addmm":
            yield SampleInput((mk((3, 4)), mk((3, 5)), mk((5, 4))), {})
            yield SampleInput((mk((4,)), mk((3, 5)), mk((5, 4), "transposed")), {}, "row bias")
            yield SampleInput((mk((3, 1)), mk((3, 5)), mk((5, 4))), {"beta": 0.5, "alpha": -2.0}, "column input, scaled")
            yield SampleInput((mk((3, 4)), mk((3, 5)), mk((5, 4))), {"beta": 0.0}, "beta 0")
            yield SampleInput((mk(()), mk((3, 0)), mk((0, 4))), {}, "0-d input, empty inner dim")
        elif kind == "_addmm_activation":
            yield SampleInput((mk((4,)), mk((3, 5)), mk((5, 4))), {}, "relu")
            yield SampleInput((mk((3, 4)), mk((3, 5)), mk((5, 4), "transposed")), {"use_gelu": True, "alpha": 0.5}, "gelu")
            yield SampleInput((mk((4,)), mk((0, 5)), mk((5, 4))), {}, "no rows")
        elif kind == "baddbmm":
            yield SampleInput((mk((2, 3, 4)), mk((2, 3, 5)), mk((2, 5, 4))), {})
            yield SampleInput((mk((4,)), mk((2, 3, 5)), mk((2, 5, 4), "transposed")), {"beta": 2.0, "alpha": 0.5}, "broadcast input")
            yield SampleInput((mk(()), mk((0, 3, 5)), mk((0, 5, 4))), {}, "0-d input, empty batch")
        elif kind == "addmv":
            yield SampleInput((mk((3,)), mk((3, 5), "transposed"), mk((5,))), {"beta": 0.5, "alpha": 2.0})
            yield SampleInput((mk((3,)), mk((3, 0)), mk((0,))), {}, "empty inner dim")
            yield SampleInput((mk(()), mk((3, 2)), mk((2,))), {}, "0-d input")
        elif kind == "tensordot":
            yield SampleInput((mk((3, 4, 5)), mk((4, 5, 2))), {"dims": 2})
            yield SampleInput((mk((3, 4, 5), "transposed"), mk((5, 3, 2))), {"dims": ([0, 2], [1, 0])}, "explicit dims")
            yield SampleInput((mk((3, 0)), mk((0, 2))), {"dims": 1}, "empty contraction")
    return gen


def _np_addmm(inp, a, b, beta=1, alpha=1):
    return beta * inp + alpha * (a @ b) if beta != 0 else alpha * (a @ b)


def _np_addmm_activation(inp, a, b, beta=1, alpha=1, use_gelu=False):
    z = _np_addmm(inp, a, b, beta, alpha)
    return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0))) if use_gelu else np.maximum(z, 0)


def _np_tensordot(a, b, dims=2):
    return np.tensordot(a, b, axes=dims)


_EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ii->i", [(4, 4)]),
    ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("ij->ji", [(3, 4)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("ijk->", [(2, 3, 4)]), ("ij,ij->i", [(3, 4), (3, 4)]),
]


def _einsum_samples(dtype, rng):
    mk = _mk(rng, dtype)
    for eq, shapes in _EINSUM_CASES:
        yield SampleInput((eq, *[mk(s, "transposed" if i == 0 else "contiguous") for i, s in enumerate(shapes)]), {}, eq)
    yield SampleInput(("ij,jk->ik", mk((2, 0)), mk((0, 3))), {}, "empty inner dim")


def _einsum_errors(rng):
    x = make_tensor((2, 3), float32, rng)
    yield ErrorInput(SampleInput(("ij,jk->ik", x)), RuntimeError, "fewer operands")
    yield ErrorInput(SampleInput(("ijk->i", x)), RuntimeError, "does not match the number of dimensions")
    yield ErrorInput(SampleInput(("ij->k", x)), RuntimeError, "does not appear")
    yield ErrorInput(SampleInput(("ij,ij->i", x, make_tensor((2, 4), float32, rng))), RuntimeError, "")


def _gemm_family_errors(kind):
    def gen(rng):
        t = lambda *shape, dtype=float32: make_tensor(shape, dtype, rng)  # noqa: E731
        if kind == "mm":
            yield ErrorInput(SampleInput((t(2, 3), t(4, 5))), RuntimeError, "2x3 and 4x5")
            yield ErrorInput(SampleInput((t(3), t(3, 2))), RuntimeError, "must be a matrix")
            yield ErrorInput(SampleInput((t(2, 3), t(3, 2, dtype=float64))), RuntimeError, "dtype")
        elif kind == "bmm":
            yield ErrorInput(SampleInput((t(2, 2, 3), t(3, 3, 2))), RuntimeError, "same number of batches")
            yield ErrorInput(SampleInput((t(2, 3), t(3, 2))), RuntimeError, "3D")
            yield ErrorInput(SampleInput((t(2, 2, 3), t(2, 4, 2))), RuntimeError, "cannot be multiplied")
        elif kind in ("mv", "dot"):
            yield ErrorInput(SampleInput((t(2, 3), t(3, 2))), RuntimeError, "")
        elif kind == "addmm":
            yield ErrorInput(SampleInput((t(3, 4), t(3, 5), t(6, 4))), RuntimeError, "3x5 and 6x4")
            yield ErrorInput(SampleInput((t(2, 4), t(3, 5), t(5, 4))), RuntimeError, "")
        if kind != "tensordot":  # torch raises AttributeError there; heron a TypeError
            yield ErrorInput(SampleInput(("not a tensor", t(2, 2))), TypeError, "")
    return gen


def _gemm_op(name, ref, kind=None, **kw):
    return OpInfo(name, name, ref, (float32, float64), _gemm_family_samples(kind or name), _gemm_family_errors(kind or name),
                  cost=_gemm_cost, tol={float32: (1e-5, 1e-5)}, **kw)


LINALG_OPS = [
    OpInfo("matmul", "matmul", np.matmul, (float32, float64), _matmul_samples, _matmul_errors, cost=_gemm_cost,
           tol={float32: (1e-5, 1e-5)}, method="matmul"),
    _gemm_op("mm", np.matmul, method="mm"),
    _gemm_op("bmm", np.matmul, method="bmm"),
    _gemm_op("mv", np.matmul, method="mv"),
    _gemm_op("dot", np.dot, method="dot"),
    _gemm_op("outer", np.outer, method="outer"),
    _gemm_op("addmm", _np_addmm, method="addmm"),
    _gemm_op("_addmm_activation", _np_addmm_activation, kinks_at_ties=True),
    _gemm_op("baddbmm", _np_addmm, method="baddbmm"),
    _gemm_op("addmv", _np_addmm, method="addmv"),
    _gemm_op("tensordot", _np_tensordot),
    OpInfo("einsum", "einsum", lambda eq, *ops: np.einsum(eq, *ops), (float32, float64), _einsum_samples,
           _einsum_errors, tol={float32: (1e-5, 1e-5)}),
]


# ---------------------------------------------------------------------------- the database
op_db: list[OpInfo] = (UNARY_OPS + BINARY_OPS + MISC_ELEMENTWISE + INPLACE_OPS + REDUCTION_OPS + SOFTMAX_OPS + JOIN_OPS
                       + INDEX_OPS + INDEXING_OPS + MISC_OPS + VIEW_OPS + NN_OPS + LINALG_OPS)

ops_by_name = {op.name: op for op in op_db}
assert len(ops_by_name) == len(op_db), "duplicate OpInfo names"
