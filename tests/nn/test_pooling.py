"""Pooling: F.max_pool/avg_pool/adaptive_*_pool/max_unpool/lp_pool (1d, 2d, 3d) against
NumPy float64 references (heron.testing.references: a loop over windows) and torch (values, indices, gradients,
exception types); finite-difference gradients, double backward, ties, NaN and -inf, integer
inputs, unbatched and empty inputs, and the pooling modules."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import heron
from heron import nn
from heron.autograd import gradcheck, gradgradcheck
from heron.nn import functional as F
from heron.testing import assert_fails_like_torch, check_vjp_random_direction
from heron.testing import references as ref

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def leaf(array):
    return heron.tensor(array, dtype=heron.float64, requires_grad=True)


# ---------------------------------------------------------------------------- against NumPy
MAX_CASES = [  # (input shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 11), 3, 2, 1, 1, False), ((3, 10), 2, None, 0, 1, True), ((2, 2, 9), 3, 2, 1, 2, True),
    ((2, 3, 7, 8), 3, 2, 1, 1, False), ((2, 3, 7, 8), 2, None, 0, 1, True), ((3, 9, 6), (3, 2), (2, 1), (1, 0), (2, 1), True),
    ((1, 2, 5, 6, 7), (3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), True), ((2, 4, 5, 5), 3, 1, 1, 1, False),
]


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", MAX_CASES, ids=str)
def test_max_pool_matches_numpy_and_finite_differences(shape, kernel, stride, padding, dilation, ceil_mode):
    n = len(kernel) if isinstance(kernel, tuple) else (len(shape) - 2 if len(shape) > 3 else 1)
    x = np.random.default_rng(0).standard_normal(shape)
    pool = getattr(F, f"max_pool{n}d")
    values, indices = pool(leaf(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    expected = ref.max_pool(x, n, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    np.testing.assert_allclose(values.detach().numpy(), expected[0])
    assert indices.dtype is heron.int64 and np.array_equal(indices.numpy(), expected[1])
    check_vjp_random_direction(lambda t: pool(t, kernel, stride, padding, dilation, ceil_mode), [leaf(x)])


AVG_CASES = [  # (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((2, 3, 11), 3, 2, 1, False, True, None), ((3, 10), 4, 3, 2, True, False, None),
    ((2, 3, 7, 8), 3, 2, 1, True, True, None), ((2, 3, 7, 8), 3, 2, 1, True, False, None),
    ((3, 9, 6), (3, 2), (2, 1), (1, 0), False, True, 5), ((1, 2, 5, 6, 7), (3, 2, 2), (2, 1, 2), (1, 0, 1), True, False, None),
]


@pytest.mark.parametrize("shape,kernel,stride,padding,ceil_mode,count_include_pad,divisor", AVG_CASES, ids=str)
def test_avg_pool_matches_numpy_and_finite_differences(shape, kernel, stride, padding, ceil_mode, count_include_pad,
                                                       divisor):
    n = len(kernel) if isinstance(kernel, tuple) else len(shape) - 2 if len(shape) == 4 else 1
    x = np.random.default_rng(1).standard_normal(shape)
    pool = getattr(F, f"avg_pool{n}d")
    extra = () if n == 1 else (divisor,)
    out = pool(leaf(x), kernel, stride, padding, ceil_mode, count_include_pad, *extra)
    expected = ref.avg_pool(x, n, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    check_vjp_random_direction(lambda t: pool(t, kernel, stride, padding, ceil_mode, count_include_pad, *extra),
                               [leaf(x)])


@pytest.mark.parametrize("n,shape,output_size", [(1, (2, 3, 10), 4), (1, (3, 7), 7), (2, (2, 9, 8), (4, 3)),
                                                  (2, (1, 2, 5, 7), (5, 2)), (2, (2, 3, 6, 5), 1), (1, (2, 3, 4), 9),
                                                  (3, (1, 2, 5, 6, 7), (2, 4, 3))])
def test_adaptive_pools_match_numpy(n, shape, output_size):
    x = np.random.default_rng(2).standard_normal(shape)
    sizes = output_size if isinstance(output_size, tuple) else (output_size,) * n
    avg = getattr(F, f"adaptive_avg_pool{n}d")(leaf(x), output_size)
    np.testing.assert_allclose(avg.detach().numpy(), ref.adaptive_pool(x, sizes, np.mean), rtol=1e-12, atol=1e-12)
    values, indices = getattr(F, f"adaptive_max_pool{n}d")(leaf(x), output_size, return_indices=True)
    np.testing.assert_allclose(values.detach().numpy(), ref.adaptive_pool(x, sizes, np.max))
    flat = x.reshape(x.shape[:-n] + (-1,))
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(flat.shape[:-1] + (-1,)), -1),
                                  values.detach().numpy().reshape(flat.shape[:-1] + (-1,)))
    for op in (f"adaptive_avg_pool{n}d", f"adaptive_max_pool{n}d"):
        check_vjp_random_direction(lambda t: getattr(F, op)(t, output_size), [leaf(x)])


def test_adaptive_output_size_none_keeps_the_input_size():
    x = heron.randn(2, 3, 5, 7)
    assert F.adaptive_avg_pool2d(x, (None, 3)).shape == (2, 3, 5, 3)
    assert F.adaptive_max_pool2d(x, (2, None)).shape == (2, 3, 2, 7)
    assert F.adaptive_avg_pool2d(x, (0, 2)).shape == (2, 3, 0, 2)


def test_max_unpool_puts_the_maxima_back():
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 7))
    values, indices = F.max_pool2d(heron.tensor(x), 2, return_indices=True)
    restored = F.max_unpool2d(values, indices, 2, output_size=(6, 7)).numpy()
    assert restored.shape == (2, 3, 6, 7)
    flat = restored.reshape(2, 3, -1)
    picked = np.take_along_axis(flat, indices.numpy().reshape(2, 3, -1), -1)
    np.testing.assert_array_equal(picked, values.numpy().reshape(2, 3, -1))
    assert np.count_nonzero(flat) == values.numel()
    check_vjp_random_direction(lambda v: F.max_unpool2d(v, indices, 2, output_size=(6, 7)), [leaf(values.numpy())])
    v1, i1 = F.max_pool1d(heron.tensor(x[0]), 3, return_indices=True)
    assert F.max_unpool1d(v1, i1, 3, output_size=[7]).shape == (3, 6, 7)
    v3, i3 = F.max_pool3d(heron.tensor(x[None]), 2, return_indices=True)
    assert F.max_unpool3d(v3, i3, 2, output_size=(3, 6, 7)).shape == (1, 2, 3, 6, 7)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_lp_pool_is_the_p_norm_of_each_window(p):
    x = np.abs(np.random.default_rng(4).standard_normal((2, 3, 6, 7))) + 0.1
    out = F.lp_pool2d(heron.tensor(x), p, (2, 3), (2, 2), ceil_mode=True).numpy()
    expected = ref.avg_pool(x ** p, 2, (2, 3), (2, 2), 0, True, True) * 6
    np.testing.assert_allclose(out, expected ** (1 / p), rtol=1e-5)
    np.testing.assert_allclose(F.lp_pool1d(heron.tensor(x[0]), p, 3).numpy(),
                               (ref.avg_pool(x[0] ** p, 1, 3) * 3) ** (1 / p), rtol=1e-5)
    np.testing.assert_allclose(F.lp_pool2d(heron.tensor(x), math.inf, 2).numpy(),
                               ref.max_pool(x, 2, 2))


def test_full_jacobians_and_double_backward():
    rng = np.random.default_rng(5)
    x = leaf(rng.standard_normal((1, 2, 5, 6)))
    assert gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, (2, 4)), (x,))
    assert gradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 4)), (x,))
    assert gradcheck(lambda t: F.lp_pool2d(t * t + 0.5, 2.0, 2), (x,))
    assert gradgradcheck(lambda t: F.max_pool2d(t, 2), (x,))
    assert gradgradcheck(lambda t: F.avg_pool2d(t, 3, 1, 1), (x,))
    assert gradgradcheck(lambda t: F.adaptive_avg_pool2d(t, 3), (x,))


def test_unbatched_and_empty_batch_inputs():
    x = heron.randn(3, 7, 8)
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    batched = F.max_pool2d(x.unsqueeze(0), 2, return_indices=True)
    assert values.shape == indices.shape == (3, 3, 4)
    assert np.array_equal(values.numpy(), batched[0][0].numpy()) and np.array_equal(indices.numpy(), batched[1][0].numpy())
    for op in (lambda t: F.max_pool2d(t, 2), lambda t: F.avg_pool2d(t, 2), lambda t: F.adaptive_max_pool2d(t, 3),
               lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: F.lp_pool2d(t, 2, 2)):
        assert op(heron.zeros(0, 3, 6, 6)).shape[0] == 0


def test_max_pool_of_integers_and_integer_averages_truncate():
    x = np.random.default_rng(6).integers(-50, 50, size=(2, 3, 6, 7))
    values, indices = F.max_pool2d(heron.tensor(x), 3, 2, 1, return_indices=True)
    expected = ref.max_pool(x.astype(np.float64), 2, 3, 2, 1, return_indices=True)
    assert values.dtype is heron.int64 and np.array_equal(values.numpy(), expected[0])
    assert np.array_equal(indices.numpy(), expected[1])
    averages = F.avg_pool2d(heron.tensor(x), 2).numpy()
    assert np.array_equal(averages, np.trunc(ref.avg_pool(x.astype(np.float64), 2, 2)))
    with pytest.raises(NotImplementedError):
        F.max_pool1d(heron.tensor(x[0]), 2)  # as torch: no integer max_pool1d
    with pytest.raises(NotImplementedError):
        F.adaptive_avg_pool2d(heron.tensor(x), 2)


def test_max_pool_of_minus_infinity_reports_the_first_input_position():
    x = heron.full((1, 1, 3), -math.inf)
    values, indices = F.max_pool1d(x, 2, 1, 1, return_indices=True)
    assert indices.tolist() == [[[0, 0, 1, 2]]]  # never a position in the padding


def test_max_pool2d_of_a_large_batch():
    """Overlapping windows: each output's gradient reaches exactly one input."""
    x = heron.randn(4, 64, 112, 112, requires_grad=True)
    out = F.max_pool2d(x, 3, 2, 1)
    out.sum().backward()
    assert out.shape == (4, 64, 56, 56) and float(x.grad.sum()) == out.numel()


# ---------------------------------------------------------------------------- modules
def test_modules_call_their_functional_op():
    x = heron.randn(2, 3, 8, 9)
    values, indices = nn.MaxPool2d(2, return_indices=True)(x)
    assert np.array_equal(values.numpy(), F.max_pool2d(x, 2).numpy())
    assert nn.MaxUnpool2d(2)(values, indices, output_size=(8, 9)).shape == (2, 3, 8, 9)
    assert np.allclose(nn.AvgPool2d(3, 2, 1, divisor_override=4)(x).numpy(), F.avg_pool2d(x, 3, 2, 1, False, True, 4).numpy())
    assert nn.AvgPool1d(2).kernel_size == (2,) and nn.AvgPool1d(2)(x[0]).shape == (3, 8, 4)
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (2, 3, 8, 2)
    assert len(nn.AdaptiveMaxPool1d(3, return_indices=True)(x[0])) == 2
    assert nn.LPPool2d(2, 2)(x).shape == (2, 3, 4, 4) and nn.MaxPool3d(2)(x).shape == (2, 1, 4, 4)
    assert nn.MaxPool1d(3, 2).stride == 2 and nn.MaxPool2d(3).stride == 3 and nn.LPPool1d(2, 3).stride is None


# ---------------------------------------------------------------------------- against torch
def _torch_cases():
    cases = []
    for k, s, p, d, ceil in itertools.product([1, 2, 3], [None, 1, 2, 3], [0, 1], [1, 2], [False, True]):
        if p <= k // 2:
            for shape in [(2, 3, 9, 8), (3, 7, 5)]:
                cases.append(("max_pool2d", shape, (k, s, p, d, ceil), {"return_indices": True}))
                cases.append(("max_pool1d", shape[:-1], (k, s, p, d, ceil), {"return_indices": True}))
                if d == 1:
                    cases.append(("avg_pool2d", shape, (k, s, p, ceil, False), {"divisor_override": 3 if s == 2 else None}))
                    cases.append(("avg_pool1d", shape[:-1], (k, s, p, ceil, True), {}))
    cases += [("max_pool3d", (2, 3, 5, 6, 7), ((3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), True), {"return_indices": True}),
              ("avg_pool3d", (2, 3, 5, 6, 7), ((3, 2, 2), (2, 1, 2), (1, 0, 1), True, False), {})]
    for out in [1, 2, 3, 5, 7, (3, None), (4, 9)]:
        cases += [("adaptive_avg_pool2d", (2, 3, 9, 8), (out,), {}),
                  ("adaptive_max_pool2d", (2, 3, 9, 8), (out,), {"return_indices": True})]
        if not isinstance(out, tuple):
            cases += [("adaptive_avg_pool1d", (3, 9), (out,), {}), ("adaptive_max_pool1d", (3, 9), (out, True), {}),
                      ("adaptive_avg_pool3d", (1, 2, 5, 6, 7), (out,), {}),
                      ("adaptive_max_pool3d", (1, 2, 5, 6, 7), (out, True), {})]
    return cases


@needs_torch
@pytest.mark.parametrize("name,shape,args,kwargs", _torch_cases(), ids=str)
def test_values_indices_and_gradients_match_torch(name, shape, args, kwargs):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    t = torch.tensor(x, requires_grad=True)
    h = leaf(x)
    expected, got = getattr(TF, name)(t, *args, **kwargs), getattr(F, name)(h, *args, **kwargs)
    if isinstance(expected, tuple):
        np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())
        expected, got = expected[0], got[0]
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(cotangent))
    got.backward(heron.tensor(cotangent))
    np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("p,kernel,stride,ceil_mode", [(1, 2, None, False), (2, 3, 2, True), (3.5, (2, 3), 1, False),
                                                       (math.inf, 2, None, False), (-math.inf, 3, 2, True)])
def test_lp_pool_matches_torch(p, kernel, stride, ceil_mode):
    x = np.abs(np.random.default_rng(8).standard_normal((2, 3, 7, 8))) + 0.1
    t, h = torch.tensor(x, requires_grad=True), leaf(x)
    expected, got = TF.lp_pool2d(t, p, kernel, stride, ceil_mode), F.lp_pool2d(h, p, kernel, stride, ceil_mode)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    expected.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name,args", [("max_pool1d", (2,)), ("max_pool1d", (3, 1, 1)), ("adaptive_max_pool1d", (5,)),
                                       ("max_pool2d", ((1, 2),)), ("max_pool2d", ((1, 3), 1, (0, 1)))])
def test_ties_and_nans_pick_the_index_torch_picks(name, args):
    x = np.array([[[1.0, 3.0, 3.0, 2.0, math.nan, 0.0, math.nan, 5.0, -math.inf, -math.inf]]])
    x = x[None] if name == "max_pool2d" else x
    expected = getattr(TF, name)(torch.tensor(x), *args, return_indices=True)
    got = getattr(F, name)(heron.tensor(x), *args, return_indices=True)
    np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())
    np.testing.assert_array_equal(got[0].numpy(), expected[0].numpy())
    window_nans = np.array([[[math.nan, 1.0, math.nan, 2.0]]])
    assert F.max_pool1d(heron.tensor(window_nans), 4, return_indices=True)[1].tolist() == \
        TF.max_pool1d(torch.tensor(window_nans), 4, return_indices=True)[1].tolist()


@needs_torch
@pytest.mark.parametrize("args", [(3, 2, 1), (2,), (3, 1, 1), ((2, 3), (1, 2), (1, 1), (2, 1))])
def test_ties_and_nans_across_window_rows_pick_the_index_torch_picks(args):
    # Few distinct values (ReLU-like zeros, repeated integers, -0.0) and scattered NaNs, so
    # most windows hold several maxima in different rows and columns: torch keeps the first in
    # row-major window order, and the last NaN.
    rng = np.random.default_rng(11)
    x = rng.integers(-1, 3, (2, 3, 9, 10)).astype(np.float64)
    x[x < 0] = 0.0
    x[0, 0, 1::3, ::2] = -0.0
    x[1, 2] = rng.choice([math.nan, 1.0, 2.0], size=(9, 10), p=[0.2, 0.4, 0.4])
    for dtype in (np.float64, np.float32):
        expected = TF.max_pool2d(torch.tensor(x.astype(dtype)), *args, return_indices=True)
        got = F.max_pool2d(heron.tensor(x.astype(dtype)), *args, return_indices=True)
        np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())
        np.testing.assert_array_equal(got[0].numpy(), expected[0].numpy())


def _error_cases():
    """(name, call(F, lib)) pairs of bad (or borderline) calls; each must raise torch's type."""
    def randn(lib, *shape):
        return lib.tensor(np.random.default_rng(0).standard_normal(shape))

    cases = []
    shapes = {1: [(5,), (1, 2, 3, 8), (2, 0, 8), (2, 3, 0), (0, 3, 8)], 2: [(8,), (3, 8), (1, 1, 2, 3, 8), (2, 0, 7, 8)],
              3: [(3, 5, 6), (1, 1, 1, 2, 5, 6, 7), (1, 0, 5, 6, 7)]}
    for n, shape_list in shapes.items():
        for shape in shape_list:
            for op in (f"max_pool{n}d", f"avg_pool{n}d", f"adaptive_avg_pool{n}d", f"adaptive_max_pool{n}d"):
                cases.append((f"{op}{shape}", lambda F, L, op=op, shape=shape: getattr(F, op)(randn(L, *shape), 2)))
    bad_args = [((3,), {"padding": 2}), ((3,), {"padding": -1}), ((0,), {}), ((2,), {"stride": 0}), ((9,), {}),
                (((2, 2, 2),), {}), ((2.0,), {}), ((-1, 1), {}), ((2, -1), {}), ((3,), {"dilation": 4}),
                ((2,), {"dilation": 0})]
    for args, kwargs in bad_args:
        cases.append((f"max_pool2d{args}{kwargs}", lambda F, L, a=args, k=kwargs: F.max_pool2d(randn(L, 2, 3, 7, 8), *a, **k)))
        cases.append((f"max_pool1d{args}{kwargs}", lambda F, L, a=args, k=kwargs: F.max_pool1d(randn(L, 3, 8), *a, **k)))
        if "dilation" not in kwargs:
            cases.append((f"avg_pool2d{args}{kwargs}", lambda F, L, a=args, k=kwargs: F.avg_pool2d(randn(L, 2, 3, 7, 8), *a, **k)))
    cases += [
        ("avg_pool2d divisor 0", lambda F, L: F.avg_pool2d(randn(L, 2, 3, 7, 8), 2, divisor_override=0)),
        ("avg_pool1d int32", lambda F, L: F.avg_pool1d(randn(L, 3, 8).int(), 2)),
        ("max_pool2d bool", lambda F, L: F.max_pool2d(randn(L, 3, 8, 8) > 0, 2)),
        ("adaptive size 3", lambda F, L: F.adaptive_avg_pool2d(randn(L, 3, 8, 8), (2, 2, 2))),
        ("adaptive size -1", lambda F, L: F.adaptive_max_pool2d(randn(L, 3, 8, 8), (-1, 2))),
        ("adaptive 1d None", lambda F, L: F.adaptive_max_pool1d(randn(L, 3, 8), (None,))),
        ("adaptive float", lambda F, L: F.adaptive_avg_pool1d(randn(L, 3, 8), 2.5)),
    ]

    def unpool(F, L, transform=lambda v, i: (v, i), **kwargs):
        values, indices = F.max_pool2d(randn(L, 2, 3, 4, 4), 2, return_indices=True)
        return F.max_unpool2d(*transform(values, indices), 2, **kwargs)

    for name, kwargs in [("2d", {"transform": lambda v, i: (v[0, 0], i[0, 0])}),
                         ("float indices", {"transform": lambda v, i: (v, i.float())}),
                         ("int32 indices", {"transform": lambda v, i: (v, i.int())}),
                         ("indices shape", {"transform": lambda v, i: (v, i[:, :, :1])}),
                         ("index too big", {"transform": lambda v, i: (v, i + 100)}),
                         ("negative index", {"transform": lambda v, i: (v, i - 100)}),
                         ("output size out of range", {"output_size": (6, 5)}),
                         ("output size length", {"output_size": (5,)}), ("padding", {"padding": 1}),
                         ("integer values", {"transform": lambda v, i: (v.long(), i)})]:
        cases.append((f"max_unpool2d {name}", lambda F, L, k=kwargs: unpool(F, L, **dict(k))))
    return cases


@needs_torch
@pytest.mark.parametrize("name,call", _error_cases(), ids=[c[0] for c in _error_cases()])
def test_bad_or_borderline_arguments_behave_as_torch(name, call):
    """Where torch raises, heron raises the same exception type; where torch accepts (an
    empty channel dim for adaptive_avg_pool1d/2d), heron gives the same shape."""
    assert_fails_like_torch(call)
