"""Conformance with real torch: the same call on the same inputs gives the same values, dtypes
and shapes (including type promotion with Python scalars and 0-d tensors), and the result
aliases its input exactly when torch's does. Skipped when torch is not importable."""
from __future__ import annotations

import itertools
import re
import zlib

import numpy as np
import pytest

import heron
from heron.testing.opdb import op_db
from heron.testing.tensors import (ALL_DTYPES, assert_close, flatten_outputs, heron_dtype, map_structure, tensors_in, to_numpy,
                                   tolerance, torch_dtype, torch_to_numpy)

torch = pytest.importorskip("torch")


def shared_torch(obj):
    """torch views of the heron tensors in ``obj`` (same memory, strides and offset, via
    DLPack); heron dtypes become torch dtypes."""
    return map_structure(obj, lambda o: torch.from_dlpack(o.detach()) if isinstance(o, heron.Tensor) else torch_dtype(o),
                         is_leaf=lambda o: isinstance(o, (heron.Tensor, heron.dtype)))


def samples(op, dtype, known_failures=False):
    """The op's samples, built from a fixed seed so that two calls give identical copies."""
    rng = np.random.default_rng(zlib.crc32(f"{op.name}/{dtype._name}".encode()))
    return list(op.sample_inputs(dtype, rng, test="conformance", known_failures=known_failures))


def aliased(outputs, inputs, fill):
    """For each output: does it change when every input is overwritten (0 then 1)?"""
    before = [fill.read(o) for o in outputs]
    flags = [False] * len(outputs)
    for value in (0, 1):
        for t in inputs:
            fill.write(t, value)
        for i, o in enumerate(outputs):
            now = fill.read(o)
            flags[i] |= not np.array_equal(now, before[i], equal_nan=now.dtype.kind == "f")
            before[i] = now
    return flags


class _HeronFill:
    read = staticmethod(to_numpy)

    @staticmethod
    def write(t, value):
        t.fill_(value)


class _TorchFill:
    read = staticmethod(torch_to_numpy)

    @staticmethod
    def write(t, value):
        with torch.no_grad():
            t.fill_(value)


CASES = [pytest.param(op, dt, id=f"{op.name}-{dt._name}") for op in op_db if not op.statistical for dt in op.dtypes]


def compare_with_torch(op, ours, theirs):
    """Runs each sample with heron and its identical twin with torch; compares the results."""
    torch_op = op.get_torch_op()
    for sample, twin in zip(ours, theirs):
        t_args, t_kwargs = shared_torch(twin.args), shared_torch(twin.kwargs)
        try:
            expected = torch_op(*t_args, **t_kwargs)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{op.name} {sample}: torch rejects this sample ({type(e).__name__}: {e}) but heron accepts it")
        got = op.op(*sample.args, **sample.kwargs)
        got_flat = [o for o in flatten_outputs(got)]
        exp_flat = [o for o in flatten_outputs(expected)]
        assert len(got_flat) == len(exp_flat), f"{op.name} {sample}: {len(got_flat)} results, torch gives {len(exp_flat)}"
        for i, (g, e) in enumerate(zip(got_flat, exp_flat)):
            where = f"{op.name} {sample} result {i}"
            assert isinstance(g, heron.Tensor) == isinstance(e, torch.Tensor), where
            if not isinstance(e, torch.Tensor):
                assert g == e, where
                continue
            assert g.dtype is heron_dtype(e.dtype), f"{where}: dtype {g.dtype}, torch {e.dtype}"
            assert tuple(g.shape) == tuple(e.shape), f"{where}: shape {tuple(g.shape)}, torch {tuple(e.shape)}"
            rtol, atol = tolerance(g.dtype, op.tol)
            assert_close(g, torch_to_numpy(e), rtol=rtol, atol=atol, msg=f"{where} vs torch: ")
        if op.inplace:
            continue
        outs = [o for o in tensors_in(got) if o.numel()]
        t_outs = [o for o in exp_flat if isinstance(o, torch.Tensor) and o.numel()]
        ours_alias = aliased(outs, tensors_in((sample.args, sample.kwargs)), _HeronFill)
        theirs_alias = aliased(t_outs, [t for t in flatten_outputs((t_args, list(t_kwargs.values())))
                                        if isinstance(t, torch.Tensor)], _TorchFill)
        assert ours_alias == theirs_alias, (
            f"{op.name} {sample}: result shares memory with the input: heron {ours_alias}, torch {theirs_alias}")


@pytest.mark.parametrize("op, dtype", CASES)
def test_same_results_as_torch(op, dtype):
    compare_with_torch(op, samples(op, dtype), samples(op, dtype))  # identical copies: one for each library


KNOWN_FAILURES = [
    pytest.param(op, dt, id=f"{op.name}-{dt._name}-{k.desc}", marks=pytest.mark.xfail(strict=True, reason=k.reason))
    for op in op_db for k in op.known_failures if "conformance" in k.tests
    for dt in op.dtypes if k.dtypes is None or dt in k.dtypes
]


@pytest.mark.parametrize("op, dtype", KNOWN_FAILURES)
def test_known_failure(op, dtype):
    ours, theirs = samples(op, dtype, known_failures=True), samples(op, dtype, known_failures=True)
    assert ours
    compare_with_torch(op, ours, theirs)


# ---------------------------------------------------------------------------- known C++ differences
def _raises(exc_type, fn):
    try:
        fn()
    except exc_type:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False


# Differences from torch caused by C++ bugs logged in .notes/cpp_bugs.md. The matrix tests below
# tolerate exactly these; each has a probe (what torch does) run as a strict xfail, so a fix is
# noticed: then delete the entry.
# Differences from torch that come from a known C++ bug: name -> (pattern of the difference lines
# it explains, reason, probe that is True once heron behaves like torch). Empty: none are known.
KNOWN_CPP_DIFFS = {}


def unexpected(diffs):
    """The differences not explained by a KNOWN_CPP_DIFFS entry."""
    return [d for d in diffs if not any(re.search(pattern, d) for pattern, _, _ in KNOWN_CPP_DIFFS.values())]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=r))
                                  for n, (_, r, _) in KNOWN_CPP_DIFFS.items()])
def test_known_cpp_difference(name):
    assert KNOWN_CPP_DIFFS[name][2]()


# ---------------------------------------------------------------------------- type promotion
def _value(dtype):
    return {heron.bool: [True, False]}.get(dtype, [1, 2])


def _pair_call(lib, name, a, b):
    if name == "where":
        return lib.where(lib.tensor([True, False]), a, b)
    return getattr(lib, name)(a, b) if name not in ("__add__", "__truediv__", "__rsub__", "__mul__") else getattr(a, name)(b)


def _outcome(fn):
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001
        return f"raises {type(e).__name__}"
    return str(out.dtype).replace("torch.", "").replace("heron.", "")


PROMOTION_OPS = ["add", "mul", "div", "maximum", "eq", "where", "__rsub__", "__truediv__"]
NAMES = [d._name for d in ALL_DTYPES]


@pytest.mark.parametrize("name", PROMOTION_OPS)
def test_promotion_tensor_tensor(name):
    diffs = []
    for a, b in itertools.product(ALL_DTYPES, repeat=2):
        for shape_b in ((2,), ()):  # a full tensor, then a 0-d tensor (a lower promotion category)
            ha = heron.tensor(_value(a), dtype=a)
            hb = heron.tensor(_value(b) if shape_b else _value(b)[0], dtype=b)
            ta, tb = torch.tensor(_value(a), dtype=torch_dtype(a)), torch.tensor(hb.tolist(), dtype=torch_dtype(b))
            got = _outcome(lambda: _pair_call(heron, name, ha, hb))
            want = _outcome(lambda: _pair_call(torch, name, ta, tb))
            if got != want:
                diffs.append(f"{a._name} {name} {b._name}{'' if shape_b else ' (0-d)'}: heron {got}, torch {want}")
    assert not unexpected(diffs), "\n".join(unexpected(diffs))


@pytest.mark.parametrize("name", PROMOTION_OPS)
def test_promotion_with_python_scalars(name):
    if name in ("maximum",):
        pytest.skip("torch.maximum takes tensors only")
    diffs = []
    for a in ALL_DTYPES:
        for scalar in (True, 2, -3, 2.5, float("inf")):
            for reflected in (False, True):
                ha, ta = heron.tensor(_value(a), dtype=a), torch.tensor(_value(a), dtype=torch_dtype(a))
                if reflected and name in ("add", "mul", "div", "eq"):
                    got = _outcome(lambda: getattr(ha, f"__r{name if name != 'div' else 'truediv'}__")(scalar)) \
                        if name != "eq" else _outcome(lambda: ha == scalar)
                    want = _outcome(lambda: getattr(ta, f"__r{name if name != 'div' else 'truediv'}__")(scalar)) \
                        if name != "eq" else _outcome(lambda: ta == scalar)
                elif name == "where":
                    args = (scalar, ha) if reflected else (ha, scalar)
                    t_args = (scalar, ta) if reflected else (ta, scalar)
                    got = _outcome(lambda: heron.where(heron.tensor([True, False]), *args))
                    want = _outcome(lambda: torch.where(torch.tensor([True, False]), *t_args))
                else:
                    got = _outcome(lambda: _pair_call(heron, name, ha, scalar))
                    want = _outcome(lambda: _pair_call(torch, name, ta, scalar))
                if got != want:
                    diffs.append(f"{a._name} {name} {scalar!r}{' (reflected)' if reflected else ''}: heron {got}, torch {want}")
    assert not unexpected(diffs), "\n".join(unexpected(diffs))


UNARY_DTYPE_CALLS = {
    "exp": lambda lib, x: lib.exp(x), "sqrt": lambda lib, x: lib.sqrt(x), "sigmoid": lambda lib, x: lib.sigmoid(x),
    "abs": lambda lib, x: lib.abs(x), "neg": lambda lib, x: lib.neg(x), "relu": lambda lib, x: lib.relu(x),
    "sum": lambda lib, x: lib.sum(x), "sum_dim": lambda lib, x: x.sum(0), "prod": lambda lib, x: lib.prod(x),
    "mean": lambda lib, x: lib.mean(x), "cumsum": lambda lib, x: lib.cumsum(x, 0), "amax": lambda lib, x: lib.amax(x),
    "argmax": lambda lib, x: lib.argmax(x), "max_dim": lambda lib, x: x.max(0)[0], "all": lambda lib, x: lib.all(x),
    "any_dim": lambda lib, x: x.any(0), "var": lambda lib, x: x.var(), "norm": lambda lib, x: x.norm(),
    "softmax": lambda lib, x: lib.softmax(x, 0), "logical_not": lambda lib, x: lib.logical_not(x),
    "clamp_float": lambda lib, x: lib.clamp(x, min=0.5), "clamp_int": lambda lib, x: lib.clamp(x, min=1, max=2),
    "sort": lambda lib, x: lib.sort(x)[0], "topk": lambda lib, x: lib.topk(x, 1)[0], "tril": lambda lib, x: x.reshape(1, 2).tril(),
    "cat_with_f16": lambda lib, x: lib.cat([x, lib.ones(1, dtype=lib.float16)]),
    "cat_with_i8": lambda lib, x: lib.cat([x, lib.ones(1, dtype=lib.int8)]),
    "stack_with_bool": lambda lib, x: lib.stack([x, lib.ones(2, dtype=lib.bool)]),
    "sum_dtype": lambda lib, x: x.sum(dtype=lib.float64), "floor_divide": lambda lib, x: x // 2,
    "pow_float": lambda lib, x: x ** 0.5, "pow_int": lambda lib, x: x ** 2, "rpow": lambda lib, x: 2 ** x,
    "mul_bool": lambda lib, x: x * True, "div_trunc": lambda lib, x: lib.div(x, 2, rounding_mode="trunc"),
    "masked_fill_float": lambda lib, x: x.masked_fill(lib.tensor([True, False]), 1.5),
    "index_select": lambda lib, x: x.index_select(0, lib.tensor([1])), "gelu": lambda lib, x: lib.nn.functional.gelu(x),
}


@pytest.mark.parametrize("call", UNARY_DTYPE_CALLS)
def test_result_dtypes_of_single_input_ops(call):
    fn = UNARY_DTYPE_CALLS[call]
    diffs = []
    for d in ALL_DTYPES:
        h = heron.tensor(_value(d), dtype=d)
        t = torch.tensor(_value(d), dtype=torch_dtype(d))
        got, want = _outcome(lambda: fn(heron, h)), _outcome(lambda: fn(torch, t))
        if got != want:
            diffs.append(f"{call}({d._name}): heron {got}, torch {want}")
    assert not unexpected(diffs), "\n".join(unexpected(diffs))


@pytest.mark.parametrize("data", [
    [1, 2], [1.0, 2], [True, False], [True, 1], [[1, 2], [3, 4.5]], 3, 3.5, True, [], [[]], [1e40], [2 ** 62],
], ids=repr)
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_tensor_dtype_inference(data, default):
    heron.set_default_dtype(getattr(heron, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        h, t = heron.tensor(data), torch.tensor(data)
        assert str(h.dtype).replace("heron.", "") == str(t.dtype).replace("torch.", "")
        assert tuple(h.shape) == tuple(t.shape)
        assert h.tolist() == t.tolist() if h.dtype is not heron.float32 else np.allclose(h.tolist(), t.tolist())
        x = heron.tensor([1, 2]) / heron.tensor([2, 2])
        assert x.dtype is getattr(heron, default)
        assert (heron.tensor([1, 2]) * 1.5).dtype is getattr(heron, default)
        assert heron.arange(3.0).dtype is getattr(heron, default) and heron.zeros(2).dtype is getattr(heron, default)
    finally:
        heron.set_default_dtype(heron.float32)
        torch.set_default_dtype(torch.float32)


CREATION_CASES = {
    "arange(5)": lambda L: L.arange(5), "arange(1, 7, 2)": lambda L: L.arange(1, 7, 2),
    "arange(0, 1, 0.25)": lambda L: L.arange(0, 1, 0.25), "arange(5, dtype=float64)": lambda L: L.arange(5, dtype=L.float64),
    "arange(10, 0, -3)": lambda L: L.arange(10, 0, -3), "linspace(0, 1, 5)": lambda L: L.linspace(0, 1, 5),
    "linspace(-2, 2, 1)": lambda L: L.linspace(-2, 2, 1), "eye(3)": lambda L: L.eye(3), "eye(2, 4)": lambda L: L.eye(2, 4),
    "full((2, 2), 7)": lambda L: L.full((2, 2), 7), "full((2,), 1.5)": lambda L: L.full((2,), 1.5),
    "full((2,), True)": lambda L: L.full((2,), True), "zeros(2, 3, dtype=int8)": lambda L: L.zeros(2, 3, dtype=L.int8),
    "ones((2,))": lambda L: L.ones((2,)), "zeros_like(int16)": lambda L: L.zeros_like(L.ones(2, dtype=L.int16)),
    "full_like(ones(2), 3)": lambda L: L.full_like(L.ones(2), 3), "scalar_tensor(2)": lambda L: L.scalar_tensor(2),
    "new_ones": lambda L: L.tensor([[1, 2]]).new_ones(3), "empty(0, 2).shape": lambda L: L.empty(0, 2),
}


def test_creation_functions_match_torch():
    diffs = []
    for expr, make in CREATION_CASES.items():
        h, t = make(heron), make(torch)
        same = (str(h.dtype).replace("heron.", "") == str(t.dtype).replace("torch.", "") and tuple(h.shape) == tuple(t.shape)
                and (h.numel() == 0 or np.allclose(to_numpy(h), torch_to_numpy(t))))
        if not same:
            diffs.append(f"{expr}: heron {h!r}, torch {t!r}")
    assert not unexpected(diffs), "\n".join(unexpected(diffs))


def test_broadcast_shapes_match_torch():
    shapes = [(), (1,), (3,), (0,), (2, 1), (1, 3), (2, 3), (4, 1, 3), (0, 1), (5, 0, 1)]
    for a, b in itertools.product(shapes, repeat=2):
        try:
            want = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            with pytest.raises(RuntimeError):
                heron.broadcast_shapes(a, b)
            continue
        assert tuple(heron.broadcast_shapes(a, b)) == want, (a, b)
        assert tuple((heron.zeros(a) + heron.zeros(b)).shape) == want
