"""The fused max- and average-pooling and batch-norm kernels (heron.ops.pooling,
heron.ops.normalization) against their composite twins and torch: values, gradients, running statistics, NaN
propagation, the threaded path bit-identical to one thread, double backward through the twin,
and the kernel entries' checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.nn import _pooling
from heron.ops import pooling as _fused_pool
from heron.nn import functional as F

TOLERANCE = {heron.float32: 2e-5, heron.float64: 1e-12}


def _leaf(array, dtype):
    return heron.tensor(array, dtype=dtype, requires_grad=True)


def _grads(fn, inputs, grad_seed):
    for t in inputs:
        if t is not None:
            t.grad = None
    out = fn()
    grad = heron.tensor(np.random.default_rng(grad_seed).standard_normal(out.shape), dtype=out.dtype)
    out.backward(grad)
    return [out.detach().numpy()] + [t.grad.numpy() for t in inputs if t is not None]


def _assert_close(a, b, dtype):
    for x, y in zip(a, b):
        scale = max(1.0, float(np.abs(y).max(initial=0.0)))
        np.testing.assert_allclose(x, y, rtol=0, atol=TOLERANCE[dtype] * scale)


# ---------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("shape", [(8, 3), (4, 5, 7), (3, 4, 6, 5), (2, 3, 2, 3, 4)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_composite_twin(dtype, shape, training, affine, rng):
    c = shape[1]
    x = _leaf(rng.standard_normal(shape) * 3 + 1, dtype)
    weight = _leaf(rng.standard_normal(c), dtype) if affine else None
    bias = _leaf(rng.standard_normal(c), dtype) if affine else None
    stats = [heron.tensor(rng.standard_normal(c), dtype=dtype), heron.tensor(rng.random(c) + 0.5, dtype=dtype)]
    fused_stats, twin_stats = [s.clone() for s in stats], [s.clone() for s in stats]
    fused = _grads(lambda: F.batch_norm(x, *fused_stats, weight, bias, training, 0.1, 1e-5), [x, weight, bias], 1)
    twin = _grads(lambda: F._batch_norm_composite(x, *twin_stats, weight, bias, training, 0.1, 1e-5),
                  [x, weight, bias], 1)
    _assert_close(fused, twin, dtype)
    _assert_close([s.numpy() for s in fused_stats], [s.numpy() for s in twin_stats], dtype)


def test_batch_norm_runs_the_fused_kernel():
    x = heron.randn(4, 3, 5, 5, requires_grad=True)
    out = F.batch_norm(x, None, None, training=True)
    assert out.grad_fn.name() == "FusedBatchNormBackward"


def test_batch_norm_running_statistics_follow_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 4, 5, 5)).astype(np.float32) * 2 + 3
    ours, theirs = heron.nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    for _ in range(3):
        ours(heron.tensor(x))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(heron.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_batch_norm_gradcheck_and_double_backward(rng):
    x = _leaf(rng.standard_normal((3, 2, 2, 3)), heron.float64)
    weight, bias = _leaf(rng.standard_normal(2), heron.float64), _leaf(rng.standard_normal(2), heron.float64)
    for training in (True, False):
        mean, var = heron.zeros(2, dtype=heron.float64), heron.ones(2, dtype=heron.float64)

        def f(x, w, b):
            return F.batch_norm(x, mean, var, w, b, training)

        assert heron.autograd.gradcheck(f, (x, weight, bias))
        assert heron.autograd.gradgradcheck(f, (x, weight, bias))


# ---------------------------------------------------------------------------- max pooling
POOLS = [  # (input shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 9, 7), 3, 2, 1, 1, True),
    ((1, 2, 11, 10), (3, 2), (2, 3), (1, 1), (2, 1), False),
    ((3, 10, 10), 3, 1, 1, 1, False),
    ((1, 1, 5, 5), 2, 2, 1, 1, True),  # the last window starts in the padding's last row
]


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("case", POOLS)
def test_max_pool2d_matches_composite_twin_and_torch(dtype, case, rng):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    data = rng.standard_normal(shape)
    x = _leaf(data, dtype)
    values, indices = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    assert values.grad_fn.next_functions[0][0].name() == "MaxPool2dFusedBackward"  # under a reshape
    planes = x.reshape(-1, *shape[-2:])
    kernel2 = _pooling._int_tuple(kernel, 2, "t", "k")
    windows = _pooling._Windows("t", tuple(shape[-2:]), kernel2, _pooling._stride_or_kernel(stride, kernel2, 2, "t"),
                                _pooling._int_tuple(padding, 2, "t", "p"), _pooling._int_tuple(dilation, 2, "t", "d"),
                                ceil_mode)
    twin_values, twin_indices = _pooling._max_pool_composite(planes, windows, dtype)
    np.testing.assert_array_equal(values.detach().numpy().reshape(-1), twin_values.detach().numpy().reshape(-1))
    np.testing.assert_array_equal(indices.numpy().reshape(-1), twin_indices.numpy().reshape(-1))
    fused = _grads(lambda: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), [x], 2)
    twin = _grads(lambda: _pooling._max_pool_composite(x.reshape(-1, *shape[-2:]), windows, dtype)[0]
                  .reshape(values.shape), [x], 2)
    _assert_close(fused, twin, dtype)
    torch = pytest.importorskip("torch")
    t_values, t_indices = torch.nn.functional.max_pool2d(torch.tensor(data), kernel, stride, padding, dilation,
                                                         ceil_mode, return_indices=True)
    np.testing.assert_allclose(values.detach().numpy(), t_values.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


def test_max_pool2d_nan_wins_and_double_backward(rng):
    data = rng.standard_normal((1, 1, 4, 4))
    data[0, 0, 1, 0] = np.nan
    values, indices = F.max_pool2d(heron.tensor(data), 2, return_indices=True)
    assert np.isnan(values.numpy()[0, 0, 0, 0]) and indices.numpy()[0, 0, 0, 0] == 4
    x = _leaf(rng.standard_normal((1, 2, 5, 5)), heron.float64)
    assert heron.autograd.gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), (x,))
    assert heron.autograd.gradgradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), (x,))


# ---------------------------------------------------------------------------- average pooling
AVG_POOLS = [  # (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 9, 7), 3, 2, 1, True, True, None),
    ((2, 3, 9, 7), 3, 2, 1, True, False, None),
    ((1, 2, 11, 10), (3, 2), (2, 3), (1, 1), False, False, None),
    ((3, 10, 10), 3, 1, 1, False, True, 5),
    ((1, 1, 5, 5), 2, 2, 1, True, True, None),  # the last window starts in the padding's last row
    ((2, 4, 56, 56), 3, 2, 1, False, True, None),
]


def _composite_only(monkeypatch):
    monkeypatch.setattr(_fused_pool, "fused_pool_applies", lambda input: False)


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("case", AVG_POOLS)
def test_avg_pool2d_matches_composite_twin_and_torch(dtype, case, rng, monkeypatch):
    shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor = case
    data = rng.standard_normal(shape)
    x = _leaf(data, dtype)

    def pool():
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor)

    assert pool().grad_fn.next_functions[0][0].name() == "AvgPool2dFusedBackward"  # under a reshape
    fused = _grads(pool, [x], 4)
    with monkeypatch.context() as m:
        _composite_only(m)
        twin = _grads(pool, [x], 4)
    _assert_close(fused, twin, dtype)
    torch = pytest.importorskip("torch")
    t = torch.tensor(data, requires_grad=True)
    out = torch.nn.functional.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    out.backward(torch.tensor(np.random.default_rng(4).standard_normal(out.shape)))
    _assert_close(fused, [out.detach().numpy(), t.grad.numpy()], dtype)


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("shape,output_size", [((2, 3, 8, 8), 1), ((2, 3, 7, 9), (3, 4)), ((3, 10, 5), (4, None)),
                                               ((1, 2, 5, 5), 7), ((2, 64, 14, 14), (7, 7))])
def test_adaptive_avg_pool2d_matches_composite_twin_and_torch(dtype, shape, output_size, rng, monkeypatch):
    data = rng.standard_normal(shape)
    x = _leaf(data, dtype)
    assert F.adaptive_avg_pool2d(x, output_size).grad_fn.next_functions[0][0].name() == "AvgPool2dFusedBackward"
    fused = _grads(lambda: F.adaptive_avg_pool2d(x, output_size), [x], 5)
    with monkeypatch.context() as m:
        _composite_only(m)
        twin = _grads(lambda: F.adaptive_avg_pool2d(x, output_size), [x], 5)
    _assert_close(fused, twin, dtype)
    torch = pytest.importorskip("torch")
    t = torch.tensor(data, requires_grad=True)
    out = torch.nn.functional.adaptive_avg_pool2d(t, output_size)
    out.backward(torch.tensor(np.random.default_rng(5).standard_normal(out.shape)))
    _assert_close(fused, [out.detach().numpy(), t.grad.numpy()], dtype)


def test_avg_pool2d_gradcheck_and_double_backward(rng):
    x = _leaf(rng.standard_normal((1, 2, 5, 6)), heron.float64)
    for fn in (lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
               lambda t: F.adaptive_avg_pool2d(t, (2, 4))):
        assert heron.autograd.gradcheck(fn, (x,))
        assert heron.autograd.gradgradcheck(fn, (x,))


def test_avg_pool_kernel_entry_checks_its_windows():
    planes = heron.zeros(2, 4, 4)
    rows = ([0, 2], [2, 4], [2.0, 2.0])
    with pytest.raises(RuntimeError, match="planes, height, width"):
        heron._C.avg_pool2d_forward(heron.zeros(1, 2, 4, 4)._a, rows, rows)
    with pytest.raises(ValueError, match="not within"):
        heron._C.avg_pool2d_forward(planes._a, ([0, 3], [2, 5], [2.0, 2.0]), rows)
    with pytest.raises(ValueError, match="as many ends"):
        heron._C.avg_pool2d_forward(planes._a, ([0, 2], [2], [2.0, 2.0]), rows)
    with pytest.raises(RuntimeError, match="grad_output"):
        heron._C.avg_pool2d_backward(heron.zeros(2, 3, 2)._a, (2, 4, 4), rows, rows)
    with pytest.raises(NotImplementedError):
        heron._C.avg_pool2d_forward(planes.int()._a, rows, rows)


# ---------------------------------------------------------------------------- all
def test_threads_do_not_change_a_bit(rng):
    x = _leaf(rng.standard_normal((8, 16, 32, 32)), heron.float32)
    weight, bias = _leaf(rng.standard_normal(16), heron.float32), _leaf(rng.standard_normal(16), heron.float32)
    before = heron.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            heron.set_num_threads(threads)
            results.append(_grads(lambda: F.avg_pool2d(F.max_pool2d(F.batch_norm(x, None, None, weight, bias, True),
                                                                       3, 2, 1), 3, 2, 1), [x, weight, bias], 3))
    finally:
        heron.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_kernel_entries_check_their_operands():
    x = heron.zeros(1, 2, 4, 4)
    pool = ((2, 2), (2, 2), (0, 0), (1, 1), (2, 2))
    with pytest.raises(RuntimeError, match="4-D"):
        heron._C.max_pool2d_forward(heron.zeros(2, 4, 4)._a, *pool)
    with pytest.raises(ValueError, match="windows starting past the input"):
        heron._C.max_pool2d_forward(x._a, (2, 2), (2, 2), (0, 0), (1, 1), (3, 2))
    with pytest.raises(RuntimeError, match="indices"):
        heron._C.max_pool2d_backward(heron.zeros(1, 2, 2, 2)._a, heron.zeros(1, 2, 2, 2)._a, (1, 2, 4, 4), *pool)
    with pytest.raises(NotImplementedError):
        heron._C.max_pool2d_forward(x.int()._a, *pool)
    with pytest.raises(RuntimeError, match="per-channel"):
        heron._C.batch_norm_forward(x._a, heron.ones(3)._a, None, None, None, 1e-5, True)
    with pytest.raises(RuntimeError, match="running"):
        heron._C.batch_norm_forward(x._a, None, None, None, None, 1e-5, False)
    with pytest.raises(RuntimeError, match="grad_output"):
        heron._C.batch_norm_backward(heron.zeros(1, 2, 4)._a, x._a, heron.zeros(2)._a, heron.ones(2)._a, None, True,
                                     True, False, False)
