"""heron.Tensor itself: attributes, conversions, operators, printing and Python protocols.

Expected values are written out (checked against torch 2.13); where torch is importable the
printing test also compares with torch's own repr.
"""
from __future__ import annotations

import copy
import operator
import pickle

import numpy as np
import pytest

import heron
from heron.testing.tensors import ALL_DTYPES, assert_close, to_numpy


# ---------------------------------------------------------------------------- attributes
def test_shape_size_dim_numel():
    x = heron.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, heron.Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == "heron.Size([2, 3, 4])"
    assert x.size() == x.shape and x.size(1) == 3 and x.size(-1) == 4 and x.size(dim=0) == 2
    assert x.dim() == x.ndim == x.ndimension() == 3
    assert x.numel() == x.nelement() == 24 == x.shape.numel()
    assert heron.tensor(5.0).shape == () and heron.tensor(5.0).numel() == 1
    assert heron.zeros(0, 3).numel() == 0
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)
    with pytest.raises(IndexError):
        x.stride(-4)


def test_strides_contiguity_and_storage():
    x = heron.zeros(2, 3, 4)
    assert x.stride() == (12, 4, 1) and x.stride(0) == 12 and x.is_contiguous()
    t = x.transpose(0, 2)
    assert t.stride() == (1, 4, 12) and not t.is_contiguous()
    assert t.contiguous().is_contiguous() and x.contiguous() is x
    s = x[:, 1:, ::2]
    assert s.storage_offset() == 4 and s.stride() == (12, 4, 2)
    assert s.data_ptr() == x.data_ptr() + 4 * x.element_size()
    assert heron.zeros(3, dtype=heron.float64).element_size() == 8


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d._name)
def test_dtype_attributes(dtype):
    x = heron.zeros(2, dtype=dtype)
    assert x.dtype is dtype and x.dtype == dtype
    assert x.is_floating_point() == dtype.is_floating_point
    assert x.element_size() == dtype.itemsize
    assert x.device == heron.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    assert repr(dtype) == f"heron.{dtype._name}"
    assert pickle.loads(pickle.dumps(dtype)) is dtype


def test_dtype_aliases_and_promotion_helpers():
    assert heron.float is heron.float32 and heron.double is heron.float64 and heron.half is heron.float16
    assert heron.long is heron.int64 and heron.int is heron.int32 and heron.short is heron.int16
    assert heron.promote_types(heron.int32, heron.float16) is heron.float16
    assert heron.promote_types(heron.uint8, heron.int8) is heron.int16
    assert heron.result_type(heron.tensor([1]), 2.5) is heron.float32
    assert heron.can_cast(heron.float32, heron.int32) is False and heron.can_cast(heron.int32, heron.float32) is True


def test_T_mT_and_autograd_attributes():
    x = heron.zeros(2, 3, 4)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3) and heron.zeros(2, 3).T.shape == (3, 2)
    assert x.is_leaf and not x.requires_grad and x.grad is None and x.grad_fn is None
    y = heron.ones(3, requires_grad=True)
    z = y * 2
    assert y.is_leaf and y.requires_grad and not z.is_leaf and z.requires_grad and z.grad_fn is not None


# ---------------------------------------------------------------------------- item, tolist, numpy
@pytest.mark.parametrize("dtype, value, pytype", [
    (heron.float32, 2.5, float), (heron.float64, -1.25, float), (heron.float16, 0.5, float), (heron.bfloat16, 3.0, float),
    (heron.int64, 7, int), (heron.int32, -3, int), (heron.uint8, 200, int), (heron.bool, True, bool)])
def test_item(dtype, value, pytype):
    x = heron.tensor(value, dtype=dtype)
    assert type(x.item()) is pytype and x.item() == value
    assert heron.tensor([value], dtype=dtype).item() == value  # one element of any shape
    assert heron.full((1, 1), value, dtype=dtype).item() == value


def test_item_rejects_many_elements():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        heron.ones(2).item()
    with pytest.raises(RuntimeError):
        heron.ones(0).item()


def test_tolist():
    assert heron.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert heron.tensor(2).tolist() == 2 and heron.tensor(2.5).tolist() == 2.5
    assert heron.tensor([True, False]).tolist() == [True, False]
    assert heron.tensor([1.5, 2.0], dtype=heron.bfloat16).tolist() == [1.5, 2.0]
    assert heron.zeros(0, 2).tolist() == []
    assert heron.arange(6).reshape(2, 3).t().tolist() == [[0, 3], [1, 4], [2, 5]]


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if d is not heron.bfloat16], ids=lambda d: d._name)
def test_numpy_dtype_and_values(dtype):
    x = heron.tensor([[1, 0], [3, 1]], dtype=dtype)
    a = x.numpy()
    assert a.dtype == dtype.to_numpy() and a.shape == (2, 2)
    np.testing.assert_array_equal(a, np.array([[1, 0], [3, 1]]).astype(dtype.to_numpy()))


def test_numpy_rules():
    with pytest.raises(RuntimeError, match="requires grad"):
        heron.ones(2, requires_grad=True).numpy()
    assert heron.ones(2, requires_grad=True).numpy(force=True).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):  # NumPy has no bfloat16 (torch raises TypeError too)
        heron.ones(2, dtype=heron.bfloat16).numpy()
    t = heron.arange(6).reshape(2, 3).t()
    assert t.numpy().strides == (8, 24)  # a strided view, not a copy


# ---------------------------------------------------------------------------- dtype and device conversion
@pytest.mark.parametrize("method, dtype", [
    ("float", heron.float32), ("double", heron.float64), ("half", heron.float16), ("bfloat16", heron.bfloat16),
    ("long", heron.int64), ("int", heron.int32), ("short", heron.int16), ("char", heron.int8), ("byte", heron.uint8),
    ("bool", heron.bool)])
def test_cast_methods(method, dtype):
    x = heron.tensor([0.0, 1.75, 2.5, 3.0])
    y = getattr(x, method)()
    assert y.dtype is dtype and y.shape == x.shape
    expected = {"bool": [False, True, True, True]}.get(method, [0, 1, 2, 3] if not dtype.is_floating_point else [0.0, 1.75, 2.5, 3.0])
    assert y.tolist() == expected


def test_cast_truncates_toward_zero_and_bool_is_nonzero():
    x = heron.tensor([-2.7, -0.5, 0.0, 0.5, 2.7])
    assert x.long().tolist() == [-2, 0, 0, 0, 2]
    assert x.bool().tolist() == [True, True, False, True, True]
    assert heron.tensor([300]).to(heron.uint8).tolist() == [44]  # wraps, as torch
    assert heron.tensor([True, False]).float().tolist() == [1.0, 0.0]


def test_to_forms():
    x = heron.tensor([1.0, 2.0])
    assert x.to(heron.float32) is x and x.to("cpu") is x and x.to(heron.device("cpu")) is x
    assert x.to(heron.float64).dtype is heron.float64
    assert x.to("cpu", heron.int32).dtype is heron.int32
    assert x.to(dtype=heron.int64, device="cpu").dtype is heron.int64
    assert x.to(heron.zeros(1, dtype=heron.float16)).dtype is heron.float16
    c = x.to(heron.float32, copy=True)
    assert c is not x and c.data_ptr() != x.data_ptr()
    assert x.type() == "heron.FloatTensor" and x.type(heron.float64).dtype is heron.float64
    assert x.type_as(heron.zeros(1, dtype=heron.int16)).dtype is heron.int16
    assert x.cpu() is x
    with pytest.raises(TypeError):
        x.to(foo=1)
    with pytest.raises(RuntimeError):
        x.to("nonsense")


def test_to_cuda_without_a_gpu_fails_clearly():
    if heron.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA|cuda"):
        heron.ones(2).to("cuda")


# ---------------------------------------------------------------------------- operators
A = np.array([[1.5, -2.0, 3.25], [0.5, 4.0, -1.0]])
B = np.array([[2.0, 0.5, -1.5], [3.0, -2.5, 1.0]])

BINARY_OPERATORS = [
    ("+", operator.add, np.add), ("-", operator.sub, np.subtract), ("*", operator.mul, np.multiply),
    ("/", operator.truediv, np.true_divide), ("//", operator.floordiv, np.floor_divide), ("%", operator.mod, np.mod),
    ("**", operator.pow, lambda a, b: np.power(np.abs(a), b)),
    ("==", operator.eq, np.equal), ("!=", operator.ne, np.not_equal), ("<", operator.lt, np.less),
    ("<=", operator.le, np.less_equal), (">", operator.gt, np.greater), (">=", operator.ge, np.greater_equal),
]


@pytest.mark.parametrize("sym, fn, ref", BINARY_OPERATORS, ids=[o[0] for o in BINARY_OPERATORS])
def test_binary_operators(sym, fn, ref):
    a = np.abs(A) if sym == "**" else A
    x, y = heron.tensor(a), heron.tensor(B)
    assert_close(fn(x, y), ref(a, B), rtol=1e-6, atol=1e-6)
    assert_close(fn(x, 2.0), ref(a, 2.0), rtol=1e-6, atol=1e-6)  # tensor op scalar
    assert_close(fn(x, heron.tensor(2.0)), ref(a, 2.0), rtol=1e-6, atol=1e-6)  # 0-d tensor
    if sym not in ("**",):
        assert_close(fn(3.0, y), ref(3.0, B), rtol=1e-6, atol=1e-6)  # reflected
    expected_dtype = heron.bool if sym in ("==", "!=", "<", "<=", ">", ">=") else heron.float64  # from float64 arrays
    assert fn(x, y).dtype is expected_dtype


def test_reflected_operators_with_int_tensors():
    x = heron.tensor([1, 2, 4])
    assert (2 - x).tolist() == [1, 0, -2] and (2 - x).dtype is heron.int64
    assert (2 / x).tolist() == [2.0, 1.0, 0.5] and (2 / x).dtype is heron.float32
    assert (2 ** x).tolist() == [2, 4, 16] and (2 ** x).dtype is heron.int64
    assert (2.5 ** x).dtype is heron.float32
    assert (7 // x).tolist() == [7, 3, 1] and (7 % x).tolist() == [0, 1, 3]
    assert (heron.tensor([7, -7]) // 2).tolist() == [3, -4] and (heron.tensor([7, -7]) % 3).tolist() == [1, 2]
    assert (heron.tensor([7.5, -7.5]) % 2).tolist() == [1.5, 0.5]
    assert (x ** 2.0).dtype is heron.float32
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        x ** -1


def test_unary_and_bitwise_operators():
    x = heron.tensor([-1.5, 2.0])
    assert (-x).tolist() == [1.5, -2.0] and (+x).tolist() == [-1.5, 2.0] and abs(x).tolist() == [1.5, 2.0]
    i = heron.tensor([5, 3])
    assert (~i).tolist() == [-6, -4] and (i & 1).tolist() == [1, 1] and (i | 2).tolist() == [7, 3] and (i ^ 1).tolist() == [4, 2]
    b = heron.tensor([True, False])
    assert (~b).tolist() == [False, True] and (b & heron.tensor([True, True])).tolist() == [True, False]
    assert (-heron.tensor([1], dtype=heron.uint8)).tolist() == [255]
    with pytest.raises(TypeError):
        ~heron.tensor([1.0])
    with pytest.raises(RuntimeError):
        -b
    with pytest.raises(RuntimeError):
        b - b
    with pytest.raises(RuntimeError):
        heron.tensor([1.0]) & heron.tensor([1.0])


def test_matmul_operator():
    a, b = heron.tensor(A), heron.tensor(B.T.copy())
    assert_close(a @ b, A @ B.T, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("sym, fn", [("+=", operator.iadd), ("-=", operator.isub), ("*=", operator.imul),
                                     ("/=", operator.itruediv), ("//=", operator.ifloordiv), ("%=", operator.imod),
                                     ("**=", operator.ipow)])
def test_inplace_operators_keep_identity_and_storage(sym, fn):
    x = heron.tensor(np.abs(A) + 1.0)
    ptr, version = x.data_ptr(), x._version
    ref = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.true_divide, "//=": np.floor_divide,
           "%=": np.mod, "**=": np.power}[sym](np.abs(A) + 1.0, B if sym != "**=" else 2.0)
    other = heron.tensor(B) if sym != "**=" else 2.0
    y = fn(x, other)
    assert y is x and x.data_ptr() == ptr and x._version > version
    assert_close(x, ref, rtol=1e-6, atol=1e-6)


def test_inplace_operator_broadcasting_and_dtype_rules():
    x = heron.zeros(2, 3)
    x += heron.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == [[1, 2, 3], [1, 2, 3]]
    i = heron.tensor([1, 2])
    i += 1
    assert i.dtype is heron.int64 and i.tolist() == [2, 3]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        i /= 2
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        small = heron.zeros(3, 1)
        small += heron.zeros(3, 4)
    b = heron.tensor([True, False])
    b &= heron.tensor([False, False])
    assert b.tolist() == [False, False]


def test_inplace_on_view_writes_through():
    base = heron.zeros(3, 4)
    view = base[:, 1]
    view += 5
    assert base[:, 1].tolist() == [5, 5, 5] and base.sum().item() == 15
    base.t()[2].mul_(0).add_(7)
    assert base[:, 2].tolist() == [7, 7, 7]


# ---------------------------------------------------------------------------- Python protocols
def test_len_iter_and_their_0d_errors():
    x = heron.arange(6).reshape(3, 2)
    assert len(x) == 3 and [r.tolist() for r in x] == [[0, 1], [2, 3], [4, 5]]
    assert len(heron.zeros(0, 4)) == 0 and list(heron.zeros(0, 4)) == []
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(heron.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(heron.tensor(1.0))


def test_bool_int_float_index_rules():
    assert bool(heron.tensor([3.0])) is True and bool(heron.tensor(0)) is False and bool(heron.zeros(1, 1)) is False
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(heron.ones(2))
    with pytest.raises(RuntimeError, match="no values is ambiguous"):
        bool(heron.ones(0))
    assert int(heron.tensor(2.7)) == 2 and int(heron.tensor(-2.7)) == -2 and float(heron.tensor(3)) == 3.0
    assert complex(heron.tensor(3.0)) == 3 + 0j
    for conv in (int, float):
        with pytest.raises(ValueError, match="only one element tensors"):
            conv(heron.ones(2))
        with pytest.raises(ValueError):
            conv(heron.ones(0))
    assert [10, 20, 30][heron.tensor(1)] == 20 and operator.index(heron.tensor([2])) == 2
    with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
        [1, 2][heron.tensor(1.0)]


def test_contains_eq_hash():
    x = heron.tensor([1.0, 2.0])
    assert 2.0 in x and 5.0 not in x and heron.tensor([1.0]) in x
    assert (x == x).tolist() == [True, True]
    assert (x == None) is False and (x == "a") is False  # noqa: E711
    assert (x != None) is True  # noqa: E711
    with pytest.raises(TypeError):
        x < "a"
    d = {x: 1}
    assert d[x] == 1 and hash(x) != hash(x.clone())


def test_format_and_str():
    assert f"{heron.tensor(2.5):.2f}" == "2.50"
    assert str(heron.tensor([2.5])) == "tensor([2.5000])" == f"{heron.tensor([2.5])}"


def test_copy_deepcopy_and_pickle():
    x = heron.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    d = copy.deepcopy(x)
    assert d is not x and d.requires_grad and d.is_leaf and d.tolist() == x.tolist() and d.data_ptr() != x.data_ptr()
    for t in (x, heron.tensor([1, 2], dtype=heron.int16), heron.tensor([1.5], dtype=heron.bfloat16), heron.tensor(True)):
        r = pickle.loads(pickle.dumps(t))
        assert r.dtype is t.dtype and r.shape == t.shape and r.tolist() == t.tolist() and r.requires_grad == t.requires_grad
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_new_factories_keep_dtype():
    x = heron.ones(2, dtype=heron.int32)
    assert x.new_zeros(3).dtype is heron.int32 and x.new_ones(2, 2).shape == (2, 2)
    assert x.new_full((2,), 7).tolist() == [7, 7] and x.new_tensor([1.5]).dtype is heron.int32
    assert x.new_empty(4).shape == (4,) and x.new_zeros(3, dtype=heron.float64).dtype is heron.float64


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        heron.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        heron.ones(2, dtype=heron.long).requires_grad_()


# ---------------------------------------------------------------------------- printing
REPR_CASES = [
    ("tensor([1., 2.])", "tensor([1., 2.])"),
    ("tensor([1.5, -2.25, 3.0])", "tensor([ 1.5000, -2.2500,  3.0000])"),
    ("tensor(3.5)", "tensor(3.5000)"),
    ("tensor(3)", "tensor(3)"),
    ("tensor([True, False])", "tensor([ True, False])"),
    ("tensor([])", "tensor([])"),
    ("zeros(0, 3)", "tensor([], size=(0, 3))"),
    ("zeros(0, dtype=int64)", "tensor([], dtype=heron.int64)"),
    ("tensor([1e-8, 1.0])", "tensor([1.0000e-08, 1.0000e+00])"),
    ("tensor([float('nan'), float('inf'), -float('inf'), 1.5])", "tensor([   nan,    inf,   -inf, 1.5000])"),
    ("tensor([1., 2.], dtype=float64)", "tensor([1., 2.], dtype=heron.float64)"),
    ("tensor([1, 2], dtype=int32)", "tensor([1, 2], dtype=heron.int32)"),
    ("tensor([1., 2.], requires_grad=True)", "tensor([1., 2.], requires_grad=True)"),
    ("tensor([-0.0, 0.0])", "tensor([-0., 0.])"),
    ("arange(12.).reshape(3, 4)", "tensor([[ 0.,  1.,  2.,  3.],\n        [ 4.,  5.,  6.,  7.],\n        [ 8.,  9., 10., 11.]])"),
    ("arange(2000.)", "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"),
]


@pytest.mark.parametrize("expr, expected", REPR_CASES, ids=[c[0] for c in REPR_CASES])
def test_repr(expr, expected):
    t = eval("heron." + expr.replace("dtype=", "dtype=heron."), {"heron": heron})
    assert repr(t) == expected


MORE_REPR_CASES = [c[0] for c in REPR_CASES] + [
    "tensor([1.5], dtype=float16)", "tensor([1.5], dtype=bfloat16)", "tensor([[1.123456, 2.5], [3., 4.]])",
    "ones(2, 3, 2)", "tensor([100., 2.])", "tensor([0.001, 2.0])", "tensor([1, 2], dtype=uint8)",
    "arange(30).reshape(5, 6)", "tensor(float('nan'))", "tensor([123456789.0, 1.0])", "zeros(2, 0, dtype=int32)",
    "arange(10000).reshape(100, 100)", "arange(4000.).reshape(10, 20, 20) / 7", "tensor([True]*1500)",
    "tensor([0.0, 0.0])", "arange(100.) * 1e-5", "arange(50.) / 3", "tensor([[-1, 2], [300, -4000]])",
]


@pytest.mark.parametrize("expr", MORE_REPR_CASES)
def test_repr_matches_torch(expr):
    torch = pytest.importorskip("torch")
    expected = repr(eval("torch." + expr.replace("dtype=", "dtype=torch."), {"torch": torch}))
    got = repr(eval("heron." + expr.replace("dtype=", "dtype=heron."), {"heron": heron}))
    assert got == expected.replace("torch.", "heron.")


def test_repr_of_views_and_grad_fn():
    x = heron.arange(6.0).reshape(2, 3)
    assert repr(x.t()) == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
    y = heron.ones(2, requires_grad=True) * 2
    assert repr(y).startswith("tensor([2., 2.], grad_fn=<") and repr(y).endswith("Backward0>)")


def test_set_printoptions_round_trip():
    try:
        heron.set_printoptions(precision=2)
        assert repr(heron.tensor([1.23456])) == "tensor([1.23])"
        heron.set_printoptions(threshold=5, edgeitems=1)
        assert repr(heron.arange(10)) == "tensor([0,  ..., 9])"
    finally:
        heron.set_printoptions(profile="default")
    assert repr(heron.tensor([1.23456])) == "tensor([1.2346])"
    assert to_numpy(heron.tensor([1.0])).tolist() == [1.0]
