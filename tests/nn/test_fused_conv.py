"""The fused convolution kernels (heron.ops.conv) against their composite twins
(heron.nn._conv._conv2d_composite / _conv_transpose2d_composite): values and every gradient
over a grid of geometries (tolerance as data), every compiled ISA level, the threaded path
bit-identical to one thread, double backward through the twin, and the kernel entry's checks."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.nn import _conv

# Relative to the largest magnitude of the reference: the kernels sum in a different order.
TOLERANCE = {heron.float32: 2e-5, heron.float64: 1e-12}

# (batch, in_channels, height, width, out_channels, kernel, stride, padding, dilation, groups)
GEOMETRIES = [
    (2, 3, 9, 11, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),     # a ResNet-style 3x3
    (2, 4, 8, 8, 6, (3, 3), (2, 2), (1, 0), (1, 2), 2),      # stride, dilation and groups
    (1, 6, 7, 5, 6, (3, 1), (1, 1), (0, 0), (1, 1), 6),      # depthwise
    (3, 8, 6, 6, 4, (1, 1), (1, 1), (0, 0), (1, 1), 1),      # pointwise: straight to GEMM
    (2, 8, 7, 7, 5, (1, 1), (2, 2), (0, 0), (1, 1), 1),      # 1x1 with stride: patches again
    (2, 1, 28, 28, 6, (5, 5), (1, 1), (2, 2), (1, 1), 1),    # LeNet's first layer
    (2, 5, 10, 9, 5, (2, 4), (3, 2), (1, 2), (2, 1), 5),     # odd everything
    (1, 3, 5, 5, 2, (7, 7), (1, 1), (3, 3), (1, 1), 1),      # kernel larger than the input
    (2, 4, 5, 5, 4, (2, 2), (3, 3), (0, 0), (1, 1), 1),      # stride > kernel: unread pixels
    (1, 2, 1, 40, 3, (1, 5), (1, 2), (0, 2), (1, 3), 1),     # a conv1d as height 1
]


def _operands(rng, dtype, geometry, transposed=False):
    n, c, h, w, co, kernel, _, _, _, groups = geometry
    shape = (c, co // groups, *kernel) if transposed else (co, c // groups, *kernel)
    x = heron.tensor(rng.standard_normal((n, c, h, w)), dtype=dtype, requires_grad=True)
    weight = heron.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
    bias = heron.tensor(rng.standard_normal(shape[1] * groups if transposed else co), dtype=dtype, requires_grad=True)
    return x, weight, bias


def _values_and_grads(fn, operands, rng):
    for t in operands:
        t.grad = None
    out = fn(*operands)
    grad = heron.tensor(rng.standard_normal(out.shape), dtype=out.dtype)
    out.backward(grad)
    return [out.detach().numpy()] + [t.grad.numpy() for t in operands]


def _assert_close(fused, twin, dtype):
    for f, t in zip(fused, twin):
        assert f.shape == t.shape
        scale = max(1.0, float(np.abs(t).max(initial=0.0)))
        np.testing.assert_allclose(f, t, rtol=0, atol=TOLERANCE[dtype] * scale)


def _conv_pair(geometry):
    *_, stride, padding, dilation, groups = geometry
    options = (stride, padding, dilation, groups)
    return (lambda x, w, b: _conv._conv2d_core(x, w, b, *options),
            lambda x, w, b: _conv._conv2d_composite(x, w, b, *options))


def _transpose_pair(geometry, output_padding):
    *_, stride, padding, dilation, groups = geometry
    options = (stride, padding, output_padding, dilation, groups)
    return (lambda x, w, b: _conv._conv_transpose2d_core(x, w, b, *options),
            lambda x, w, b: _conv._conv_transpose2d_composite(x, w, b, *options))


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv2d_matches_composite_twin(dtype, geometry, rng):
    operands = _operands(rng, dtype, geometry)
    fused_fn, twin_fn = _conv_pair(geometry)
    assert fused_fn(*operands).grad_fn.name() == "Conv2dFusedBackward"
    seed = int(rng.integers(1 << 31))
    fused = _values_and_grads(fused_fn, operands, np.random.default_rng(seed))
    twin = _values_and_grads(twin_fn, operands, np.random.default_rng(seed))
    _assert_close(fused, twin, dtype)


@pytest.mark.parametrize("dtype", [heron.float32, heron.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv_transpose2d_matches_composite_twin(dtype, geometry, rng):
    stride, dilation = geometry[6], geometry[8]
    # The largest output_padding torch accepts: below max(stride, dilation) in each dim.
    output_padding = tuple(max(s, d) - 1 for s, d in zip(stride, dilation))
    operands = _operands(rng, dtype, geometry, transposed=True)
    fused_fn, twin_fn = _transpose_pair(geometry, output_padding)
    assert fused_fn(*operands).grad_fn.name() == "ConvTranspose2dFusedBackward"
    seed = int(rng.integers(1 << 31))
    fused = _values_and_grads(fused_fn, operands, np.random.default_rng(seed))
    twin = _values_and_grads(twin_fn, operands, np.random.default_rng(seed))
    _assert_close(fused, twin, dtype)


@pytest.mark.parametrize("geometry", [GEOMETRIES[0], GEOMETRIES[3], GEOMETRIES[6]])
def test_every_isa_level_matches_the_twin(level, geometry, rng):
    operands = _operands(rng, heron.float32, geometry)
    fused_fn, twin_fn = _conv_pair(geometry)
    seed = int(rng.integers(1 << 31))
    _assert_close(_values_and_grads(fused_fn, operands, np.random.default_rng(seed)),
                  _values_and_grads(twin_fn, operands, np.random.default_rng(seed)), heron.float32)


@pytest.mark.parametrize("geometry", [(4, 16, 20, 20, 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),
                                      (4, 32, 12, 12, 16, (1, 1), (1, 1), (0, 0), (1, 1), 1),
                                      (2, 16, 15, 15, 16, (3, 3), (2, 2), (1, 1), (1, 1), 4),
                                      (8, 6, 14, 14, 16, (5, 5), (1, 1), (0, 0), (1, 1), 1)])  # direct path
def test_threads_do_not_change_a_bit(geometry, rng):
    operands = _operands(rng, heron.float32, geometry)
    fused_fn, _ = _conv_pair(geometry)
    seed = int(rng.integers(1 << 31))
    before = heron.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            heron.set_num_threads(threads)
            results.append(_values_and_grads(fused_fn, operands, np.random.default_rng(seed)))
    finally:
        heron.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_gradcheck_and_double_backward_through_the_twin(rng):
    geometry = (1, 2, 5, 4, 3, (2, 3), (2, 1), (1, 1), (1, 2), 1)
    operands = _operands(rng, heron.float64, geometry)
    fused_fn, _ = _conv_pair(geometry)
    assert heron.autograd.gradcheck(fused_fn, operands)
    assert heron.autograd.gradgradcheck(fused_fn, operands)
    transposed = _operands(rng, heron.float64, geometry, transposed=True)
    fused_t, _ = _transpose_pair(geometry, (1, 0))
    assert heron.autograd.gradcheck(fused_t, transposed)
    assert heron.autograd.gradgradcheck(fused_t, transposed)


def test_kernel_entry_checks_its_operands():
    x, w = heron.zeros(1, 4, 5, 5), heron.zeros(2, 4, 3, 3)
    options = ((1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="4-D"):
        heron._C.conv2d_forward(heron.zeros(4, 5, 5)._a, w._a, None, *options)
    with pytest.raises(RuntimeError, match="groups=2"):
        heron._C.conv2d_forward(x._a, w._a, None, (1, 1), (0, 0), (1, 1), 2)
    with pytest.raises(RuntimeError, match="float64"):
        heron._C.conv2d_forward(x._a, w.double()._a, None, *options)
    with pytest.raises(RuntimeError, match="smaller than the dilated kernel"):
        heron._C.conv2d_forward(x._a, heron.zeros(2, 4, 6, 6)._a, None, *options)
    with pytest.raises(RuntimeError, match="positive"):
        heron._C.conv2d_forward(x._a, w._a, None, (0, 1), (0, 0), (1, 1), 1)
    with pytest.raises(RuntimeError, match="bias"):
        heron._C.conv2d_forward(x._a, w._a, heron.zeros(3)._a, *options)
    with pytest.raises(RuntimeError, match="grad_output"):
        heron._C.conv2d_backward_input(heron.zeros(1, 2, 4, 4)._a, w._a, (1, 4, 5, 5), *options)
    with pytest.raises(NotImplementedError):
        heron._C.conv2d_forward(x.int()._a, w.int()._a, None, *options)
