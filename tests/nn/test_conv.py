"""Convolutions: F.conv1d/conv2d/conv_transpose1d/conv_transpose2d, F.unfold/fold and the
conv modules against NumPy float64 references (direct sums over kernel taps) and torch (values,
gradients, exception types); finite-difference gradients, double backward included."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import heron
from heron import nn
from heron.autograd import gradcheck, gradgradcheck
from heron.nn import functional as F
from heron.testing import check_vjp_random_direction

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


# ---------------------------------------------------------------------------- NumPy references
def _taps(size, kernel, stride, padding, dilation):
    """Output size of a convolution along one dim."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def ref_conv2d(x, w, b, stride, padding, dilation, groups):
    """out[n, o, i, j] = sum over c, ki, kj of x_padded[n, c, i s + ki d, j s + kj d] w[o, c, ki, kj]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x.shape
    out_c, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = _taps(h, kh, sh, ph, dh), _taps(wd, kw, sw, pw, dw)
    out = np.zeros((n, out_c, ho, wo))
    og = out_c // groups
    for g in range(groups):
        for ki in range(kh):
            for kj in range(kw):
                window = xp[:, g * cg:(g + 1) * cg, ki * dh:ki * dh + sh * (ho - 1) + 1:sh,
                            kj * dw:kj * dw + sw * (wo - 1) + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", window, w[g * og:(g + 1) * og, :, ki, kj])
    return out if b is None else out + b[None, :, None, None]


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """Each input pixel (i, j) adds x[n, c, i, j] w[c, o, ki, kj] at (i s + ki d, j s + kj d)
    of the uncropped output; the padding is then cut from both sides."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, og * groups, full_h, full_w))
    cg = c // groups
    for g in range(groups):
        for ki in range(kh):
            for kj in range(kw):
                contrib = np.einsum("nchw,co->nohw", x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg, :, ki, kj])
                full[:, g * og:(g + 1) * og, ki * dh:ki * dh + sh * (h - 1) + 1:sh,
                     kj * dw:kj * dw + sw * (wd - 1) + 1:sw] += contrib
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    return out if b is None else out + b[None, :, None, None]


def ref_unfold(x, kernel, dilation, padding, stride):
    """Columns (N, C kh kw, L) read off the padded image block by block."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = _taps(h, kh, sh, ph, dh), _taps(wd, kw, sw, pw, dw)
    cols = np.zeros((n, c, kh, kw, ho, wo))
    for ki in range(kh):
        for kj in range(kw):
            rows = slice(ki * dh, ki * dh + sh * (ho - 1) + 1, sh)
            columns = slice(kj * dw, kj * dw + sw * (wo - 1) + 1, sw)
            cols[:, :, ki, kj] = xp[:, :, rows, columns]
    return cols.reshape(n, c * kh * kw, ho * wo)


def _pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


# ---------------------------------------------------------------------------- cases
# (name, input shape, weight shape, keyword arguments); spatial dims decide 1-D or 2-D.
CONV_CASES = [
    ("plain", (2, 3, 7, 6), (4, 3, 3, 3), {}),
    ("padding-stride", (2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ("tuples", (2, 2, 9, 8), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ("groups", (2, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("depthwise", (2, 3, 6, 6), (6, 1, 3, 3), dict(groups=3, stride=2, padding=1)),
    ("dilation-odd-size", (1, 2, 9, 7), (2, 2, 3, 3), dict(dilation=2, padding=1)),
    ("stride-greater-than-kernel", (2, 2, 10, 9), (3, 2, 2, 2), dict(stride=3)),
    ("1x1", (3, 5, 4, 3), (2, 5, 1, 1), {}),
    ("same-odd", (2, 3, 5, 6), (4, 3, 3, 3), dict(padding="same")),
    ("same-even-asymmetric", (2, 3, 5, 6), (4, 3, 4, 2), dict(padding="same")),
    ("same-dilated", (1, 2, 7, 7), (3, 2, 2, 3), dict(padding="same", dilation=(3, 2))),
    ("valid", (2, 3, 6, 5), (4, 3, 3, 2), dict(padding="valid", stride=2)),
    ("unbatched", (3, 6, 5), (4, 3, 3, 3), dict(padding=1)),
    ("kernel-equals-padded-input", (1, 2, 3, 3), (2, 2, 5, 5), dict(padding=1)),
    ("1d", (2, 4, 9), (6, 2, 3), dict(groups=2, stride=2, padding=1)),
    ("1d-same-even", (2, 3, 8), (2, 3, 4), dict(padding="same", dilation=1)),
    ("1d-dilated-unbatched", (3, 11), (2, 3, 3), dict(dilation=3, padding=(2,))),
]

TRANSPOSE_CASES = [
    ("plain", (2, 3, 4, 5), (3, 2, 3, 3), {}),
    ("stride-padding", (2, 3, 4, 5), (3, 2, 3, 2), dict(stride=2, padding=1)),
    ("output-padding", (2, 2, 3, 4), (2, 3, 3, 3), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    ("output-padding-below-dilation", (1, 2, 3, 3), (2, 2, 2, 2), dict(stride=1, dilation=3, output_padding=2)),
    ("groups", (2, 4, 3, 3), (4, 3, 2, 3), dict(groups=2, stride=2, dilation=(1, 2))),
    ("depthwise", (2, 3, 4, 4), (3, 1, 3, 3), dict(groups=3, padding=1)),
    ("stride-greater-than-kernel", (1, 2, 3, 3), (2, 2, 2, 2), dict(stride=3)),
    ("unbatched", (3, 4, 4), (3, 2, 2, 2), dict(stride=2)),
    ("1d", (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("1d-unbatched", (2, 6), (2, 3, 4), dict(dilation=2)),
]

IDS = [c[0] for c in CONV_CASES]
T_IDS = [c[0] for c in TRANSPOSE_CASES]


def _arrays(case, rng, transposed=False):
    """(x, weight, bias) float64 arrays of a case."""
    _, x_shape, w_shape, _ = case
    out_channels = w_shape[1] * case[3].get("groups", 1) if transposed else w_shape[0]
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(out_channels)


def _param_2d(kwargs, name, default, nd):
    """A case's parameter as an (h, w) pair (strings pass through); a 1-D case is the 2-D one
    of height 1, whose height parameter is the default (stride 1, padding 0, ...)."""
    value = kwargs.get(name, default)
    if isinstance(value, str):
        return value
    if nd == 1:
        return (default, value[0] if isinstance(value, tuple) else value)
    return value if isinstance(value, tuple) else (value, value)


def _same_padding(w_shape, dilation):
    """np.pad widths of padding='same' per spatial dim: the left half, the right the rest."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(w_shape[2:], dilation)]


def _expected(case, x, w, reference):
    """``reference(x4, w4, param)`` on a case lifted to batched 2-D, brought back to its shape."""
    nd = len(case[2]) - 2
    batched = x.ndim == nd + 2
    x4 = x if batched else x[None]
    x4, w4 = (x4, w) if nd == 2 else (x4[..., None, :], w[..., None, :])
    out = reference(x4, w4, lambda name, default: _param_2d(case[3], name, default, nd))
    out = out if nd == 2 else out[:, :, 0]
    return out if batched else out[0]


def expected_conv(case, x, w, b):
    def reference(x4, w4, param):
        dilation, padding = param("dilation", 1), param("padding", 0)
        if padding == "same":
            x4 = np.pad(x4, [(0, 0), (0, 0)] + _same_padding(w4.shape, dilation))
        if isinstance(padding, str):
            padding = (0, 0)
        return ref_conv2d(x4, w4, b, param("stride", 1), padding, dilation, case[3].get("groups", 1))

    return _expected(case, x, w, reference)


def expected_conv_transpose(case, x, w, b):
    def reference(x4, w4, param):
        return ref_conv_transpose2d(x4, w4, b, param("stride", 1), param("padding", 0), param("output_padding", 0),
                                    param("dilation", 1), case[3].get("groups", 1))

    return _expected(case, x, w, reference)


def _conv_fn(lib_f, case):
    nd = len(case[2]) - 2
    conv = getattr(lib_f, f"conv{nd}d")
    return lambda x, w, b: conv(x, w, b, **case[3])


def _conv_transpose_fn(lib_f, case):
    nd = len(case[2]) - 2
    conv = getattr(lib_f, f"conv_transpose{nd}d")
    return lambda x, w, b: conv(x, w, b, **case[3])


def _leaves(arrays):
    return [heron.tensor(a, dtype=heron.float64, requires_grad=True) for a in arrays]


def _quiet(fn, *args):
    """Calls ``fn`` with the 'same'-padding copy warning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args)


# ---------------------------------------------------------------------------- values and gradients
@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_conv_matches_numpy_and_its_gradient_finite_differences(case):
    rng = np.random.default_rng(len(case[0]))
    x, w, b = _arrays(case, rng)
    fn = _conv_fn(F, case)
    out = _quiet(fn, *_leaves((x, w, b)))
    np.testing.assert_allclose(out.detach().numpy(), expected_conv(case, x, w, b), rtol=1e-10, atol=1e-10)
    _quiet(check_vjp_random_direction, fn, _leaves((x, w, b)))


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=T_IDS)
def test_conv_transpose_matches_numpy_and_its_gradient_finite_differences(case):
    rng = np.random.default_rng(len(case[0]))
    x, w, b = _arrays(case, rng, transposed=True)
    fn = _conv_transpose_fn(F, case)
    out = fn(*_leaves((x, w, b)))
    np.testing.assert_allclose(out.detach().numpy(), expected_conv_transpose(case, x, w, b), rtol=1e-10, atol=1e-10)
    check_vjp_random_direction(fn, _leaves((x, w, b)))


def _compare_with_torch(heron_fn, torch_fn, arrays, rng):
    """Outputs and gradients of all inputs agree with torch's in float64."""
    h_in = _leaves(arrays)
    t_in = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    h_out, t_out = _quiet(heron_fn, *h_in), _quiet(torch_fn, *t_in)
    assert tuple(h_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(h_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    cotangent = rng.standard_normal(tuple(t_out.shape))
    h_out.backward(heron.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    for h, t in zip(h_in, t_in):
        np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("case", CONV_CASES, ids=IDS)
def test_conv_values_and_gradients_match_torch(case):
    rng = np.random.default_rng(1)
    _compare_with_torch(_conv_fn(F, case), _conv_fn(torch.nn.functional, case), _arrays(case, rng), rng)


@needs_torch
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=T_IDS)
def test_conv_transpose_values_and_gradients_match_torch(case):
    rng = np.random.default_rng(2)
    _compare_with_torch(_conv_transpose_fn(F, case), _conv_transpose_fn(torch.nn.functional, case),
                        _arrays(case, rng, transposed=True), rng)


def test_full_jacobians_and_double_backward():
    rng = np.random.default_rng(3)
    x, w, b = _leaves((rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)))
    conv = lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)  # noqa: E731
    assert gradcheck(conv, (x, w, b)) and gradgradcheck(conv, (x, w, b))
    wt = _leaves((rng.standard_normal((4, 3, 3, 2)),))[0]
    conv_t = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)  # noqa: E731
    assert gradcheck(conv_t, (x, wt, b)) and gradgradcheck(conv_t, (x, wt, b))
    x1, w1 = _leaves((rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3, 4))))
    assert _quiet(gradgradcheck, lambda x, w: F.conv1d(x, w, padding="same"), (x1, w1))
    cols = _leaves((rng.standard_normal((1, 8, 6)),))[0]
    assert gradgradcheck(lambda c: F.fold(c, (3, 4), 2, padding=(1, 0), stride=(2, 1)), (cols,))
    assert gradgradcheck(lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1), (x,))


def test_float32_and_empty_batch():
    x, w = heron.randn(2, 3, 5, 5), heron.randn(4, 3, 3, 3)
    out = F.conv2d(x, w, padding=1)
    assert out.dtype is heron.float32 and out.shape == (2, 4, 5, 5)
    expected = ref_conv2d(x.numpy().astype(np.float64), w.numpy().astype(np.float64), None, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-4)
    assert F.conv2d(heron.randn(0, 3, 5, 5), w).shape == (0, 4, 3, 3)
    assert F.conv_transpose2d(heron.randn(0, 4, 5, 5), heron.randn(4, 2, 3, 3)).shape == (0, 2, 7, 7)


def test_same_padding_with_an_odd_total_warns_as_torch():
    with pytest.warns(UserWarning, match="padding='same' with even kernel lengths"):
        F.conv2d(heron.randn(1, 1, 4, 4), heron.randn(1, 1, 2, 2), padding="same")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.conv2d(heron.randn(1, 1, 4, 4), heron.randn(1, 1, 3, 3), padding="same")


# ---------------------------------------------------------------------------- unfold and fold
UNFOLD_CASES = [
    ((2, 3, 6, 5), dict(kernel_size=2)),
    ((2, 2, 7, 6), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
    ((3, 5, 5), dict(kernel_size=3, padding=2, stride=3)),
]


@pytest.mark.parametrize("shape, kwargs", UNFOLD_CASES)
def test_unfold_matches_numpy_and_fold_is_its_adjoint(shape, kwargs):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    batched = x if x.ndim == 4 else x[None]
    kernel, dilation, padding, stride = _pairs(kwargs["kernel_size"], kwargs.get("dilation", 1),
                                               kwargs.get("padding", 0), kwargs.get("stride", 1))
    expected = ref_unfold(batched, kernel, dilation, padding, stride)
    cols = F.unfold(heron.tensor(x), **kwargs)
    np.testing.assert_allclose(cols.numpy(), expected if x.ndim == 4 else expected[0])
    # <unfold(x), c> == <x, fold(c)>: fold is the adjoint of unfold.
    c = rng.standard_normal(tuple(cols.shape))
    folded = F.fold(heron.tensor(c), tuple(shape[-2:]), **kwargs).numpy()
    assert folded.shape == shape
    np.testing.assert_allclose(np.sum(cols.numpy() * c), np.sum(x * folded), rtol=1e-10)


@needs_torch
@pytest.mark.parametrize("shape, kwargs", UNFOLD_CASES)
def test_unfold_and_fold_match_torch(shape, kwargs):
    rng = np.random.default_rng(5)
    _compare_with_torch(lambda x: F.unfold(x, **kwargs), lambda x: torch.nn.functional.unfold(x, **kwargs),
                        [rng.standard_normal(shape)], rng)
    cols = F.unfold(heron.randn(*shape), **kwargs)
    size = tuple(shape[-2:])
    _compare_with_torch(lambda c: F.fold(c, size, **kwargs), lambda c: torch.nn.functional.fold(c, size, **kwargs),
                        [rng.standard_normal(tuple(cols.shape))], rng)


# ---------------------------------------------------------------------------- errors, against torch
def _error_cases():
    """(name, call(L, t)) with L the functional module and t a float tensor factory."""
    x4, w4 = (2, 4, 7, 7), (6, 4, 3, 3)

    def conv(x_shape, w_shape, w_dtype=None, b_shape=None, b_dtype=None, nd=2, **kw):
        def call(L, t):
            bias = None if b_shape is None else t(b_shape, b_dtype)
            return getattr(L, f"conv{nd}d")(t(x_shape), t(w_shape, w_dtype), bias, **kw)
        return call

    def conv_t(x_shape, w_shape, w_dtype=None, nd=2, **kw):
        return lambda L, t: getattr(L, f"conv_transpose{nd}d")(t(x_shape), t(w_shape, w_dtype), **kw)

    return [
        ("input-2d", conv((4, 7), w4)),
        ("input-5d", conv((1, 2, 4, 7, 7), w4)),
        ("weight-3d", conv(x4, (6, 4, 3))),
        ("weight-1d", conv(x4, (6,))),
        ("weight-5d", conv(x4, (6, 4, 3, 3, 1))),
        ("conv1d-weight-4d", conv((2, 4, 9), w4, nd=1)),
        ("in-channels-not-divisible-by-groups", conv(x4, (6, 1, 3, 3), groups=3)),
        ("out-channels-not-divisible-by-groups", conv(x4, (5, 2, 3, 3), groups=2)),
        ("channel-mismatch", conv(x4, (6, 3, 3, 3))),
        ("channel-mismatch-1d", conv((2, 4, 9), (6, 3, 3), nd=1)),
        ("kernel-larger-than-padded-input", conv(x4, (6, 4, 9, 3))),
        ("kernel-larger-than-padded-input-1d", conv((2, 4, 9), (6, 4, 13), nd=1)),
        ("stride-0", conv(x4, w4, stride=0)),
        ("stride-negative", conv(x4, w4, stride=(1, -1))),
        ("dilation-0", conv(x4, w4, dilation=0)),
        ("padding-negative", conv(x4, w4, padding=-1)),
        ("groups-0", conv(x4, w4, groups=0)),
        ("stride-3-values", conv(x4, w4, stride=(1, 1, 1))),
        ("padding-2-values-1d", conv((2, 4, 9), (6, 4, 3), nd=1, padding=(1, 1))),
        ("same-with-stride-2", conv(x4, w4, padding="same", stride=2)),
        ("same-with-stride-2-1d", conv((2, 4, 9), (6, 4, 3), nd=1, padding="same", stride=2)),
        ("bad-padding-string", conv(x4, w4, padding="full")),
        ("float-stride", conv(x4, w4, stride=1.5)),
        ("float-groups", conv(x4, w4, groups=1.0)),
        ("dtype-mismatch", conv(x4, w4, w_dtype="float32")),
        ("bias-dtype-mismatch", conv(x4, w4, b_shape=(6,), b_dtype="float32")),
        ("bias-shape", conv(x4, w4, b_shape=(5,))),
        ("bias-2d", conv(x4, w4, b_shape=(6, 1))),
        ("zero-height-input", conv((2, 4, 0, 7), (6, 4, 1, 1))),
        ("transpose-groups-not-dividing-weight", conv_t((2, 4, 5, 5), (4, 3, 3, 3), groups=3)),
        ("transpose-channel-mismatch", conv_t((2, 4, 5, 5), (5, 3, 3, 3))),
        ("transpose-output-padding-ge-stride-and-dilation", conv_t((2, 4, 5, 5), (4, 3, 3, 3), stride=2,
                                                                   output_padding=2)),
        ("transpose-output-padding-1-stride-1", conv_t((2, 4, 5, 5), (4, 3, 3, 3), output_padding=1)),
        ("transpose-output-padding-negative", conv_t((2, 4, 5, 5), (4, 3, 3, 3), stride=2, output_padding=-1)),
        ("transpose-output-too-small", conv_t((2, 4, 5, 5), (4, 3, 3, 3), padding=4)),
        ("transpose-padding-negative", conv_t((2, 4, 5, 5), (4, 3, 3, 3), padding=-1)),
        ("transpose-stride-0", conv_t((2, 4, 5, 5), (4, 3, 3, 3), stride=0)),
        ("transpose-groups-0", conv_t((2, 4, 5, 5), (4, 3, 3, 3), groups=0)),
        ("transpose-padding-string", conv_t((2, 4, 5, 5), (4, 3, 3, 3), padding="same")),
        ("transpose-output-padding-3-values", conv_t((2, 4, 5, 5), (4, 3, 3, 3), output_padding=(1, 1, 1))),
        ("transpose-input-2d", conv_t((5, 5), (4, 3, 3, 3))),
        ("transpose-weight-3d", conv_t((2, 4, 5, 5), (4, 3, 3))),
        ("transpose-1d-weight-4d", conv_t((2, 4, 5), (4, 3, 3, 3), nd=1)),
        ("transpose-dtype-mismatch", conv_t((2, 4, 5, 5), (4, 3, 3, 3), w_dtype="float32")),
        ("transpose-zero-height-input", conv_t((2, 4, 0, 5), (4, 3, 3, 3))),
        ("unfold-2d-input", lambda L, t: L.unfold(t((5, 5)), 2)),
        ("unfold-5d-input", lambda L, t: L.unfold(t((1, 2, 3, 5, 5)), 2)),
        ("unfold-kernel-too-big", lambda L, t: L.unfold(t((2, 3, 5, 5)), 6)),
        ("unfold-kernel-0", lambda L, t: L.unfold(t((2, 3, 5, 5)), 0)),
        ("unfold-stride-0", lambda L, t: L.unfold(t((2, 3, 5, 5)), 2, stride=0)),
        ("unfold-padding-negative", lambda L, t: L.unfold(t((2, 3, 5, 5)), 2, padding=-1)),
        ("unfold-kernel-3-values", lambda L, t: L.unfold(t((2, 3, 5, 5)), (2, 2, 2))),
        ("unfold-zero-channels", lambda L, t: L.unfold(t((2, 0, 5, 5)), 2)),
        ("fold-4d-input", lambda L, t: L.fold(t((2, 4, 5, 5)), (5, 5), 3)),
        ("fold-channels-not-divisible", lambda L, t: L.fold(t((2, 35, 9)), (5, 5), 3, padding=1, stride=2)),
        ("fold-block-count-mismatch", lambda L, t: L.fold(t((2, 36, 9)), (2, 2), 3)),
        ("fold-dilation-0", lambda L, t: L.fold(t((2, 36, 9)), (5, 5), 3, dilation=0)),
        ("fold-output-size-3-values", lambda L, t: L.fold(t((2, 36, 9)), (2, 2, 2), 3)),
    ]


ERROR_CASES = _error_cases()


def _heron_factory(shape, dtype=None):
    return heron.zeros(*shape, dtype=getattr(heron, dtype or "float64"))


@needs_torch
@pytest.mark.parametrize("name, call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_arguments_raise_torchs_exception_type(name, call):
    def torch_factory(shape, dtype=None):
        return torch.zeros(*shape, dtype=getattr(torch, dtype or "float64"))

    with pytest.raises(Exception) as t_info:
        call(torch.nn.functional, torch_factory)
    with pytest.raises(Exception) as h_info:
        call(F, _heron_factory)
    assert isinstance(h_info.value, type(t_info.value)), f"heron raised {h_info.value!r}, torch {t_info.value!r}"
    assert str(h_info.value)


def test_error_messages_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"weight of size \[6, 3, 3, 3\], expected input\[2, 4, 7, 7\] to have 3 "
                                           r"channels, but got 4"):
        F.conv2d(heron.zeros(2, 4, 7, 7), heron.zeros(6, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"padded input size per channel: \(7 x 7\). Kernel size: \(9 x 3\)"):
        F.conv2d(heron.zeros(2, 4, 7, 7), heron.zeros(6, 4, 9, 3))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose1d(heron.zeros(1, 2, 5), heron.zeros(2, 2, 3), stride=2, output_padding=2)


def test_integer_inputs_are_not_implemented():
    x = heron.zeros(1, 2, 5, 5, dtype=heron.int64)
    with pytest.raises(NotImplementedError, match="floating-point only"):
        F.conv2d(x, heron.zeros(3, 2, 3, 3, dtype=heron.int64))
    with pytest.raises(NotImplementedError):
        F.unfold(x, 2)


# ---------------------------------------------------------------------------- modules
def test_module_parameters_init_and_forward():
    heron.manual_seed(0)
    conv = nn.Conv2d(4, 8, (3, 2), groups=2)
    assert conv.weight.shape == (8, 2, 3, 2) and conv.bias.shape == (8,)
    bound = 1 / np.sqrt(2 * 3 * 2)  # kaiming_uniform_(a=sqrt(5)) and the bias both give 1/sqrt(fan_in)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound and np.abs(conv.bias.detach().numpy()).max() <= bound
    assert list(conv.state_dict()) == ["weight", "bias"]
    x = heron.randn(2, 4, 5, 5, dtype=heron.float32)
    expected = ref_conv2d(x.numpy().astype(np.float64), conv.weight.detach().numpy().astype(np.float64),
                          conv.bias.detach().numpy().astype(np.float64), (1, 1), (0, 0), (1, 1), 2)
    np.testing.assert_allclose(conv(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    transposed = nn.ConvTranspose1d(4, 6, 3, groups=2, bias=False, dtype=heron.float64)
    assert transposed.weight.shape == (4, 3, 3) and transposed.bias is None and transposed.weight.dtype is heron.float64


def test_conv_transpose_output_size_picks_output_padding():
    conv = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = heron.randn(1, 2, 4, 4)
    assert conv(x).shape == (1, 3, 7, 7)
    assert conv(x, output_size=(8, 7)).shape == (1, 3, 8, 7)
    assert conv(x, output_size=[1, 3, 8, 8]).shape == (1, 3, 8, 8)
    assert conv(x[0], output_size=(3, 8, 8)).shape == (3, 8, 8)
    with pytest.raises(ValueError, match=r"valid sizes range from \[7, 7\] to \[8, 8\]"):
        conv(x, output_size=(9, 7))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        conv(x, output_size=(8,))


MODULE_ERRORS = [
    ("groups-0", lambda nn: nn.Conv2d(4, 4, 3, groups=0)),
    ("in-channels-not-divisible", lambda nn: nn.Conv2d(5, 4, 3, groups=2)),
    ("out-channels-not-divisible", lambda nn: nn.Conv1d(4, 5, 3, groups=2)),
    ("bad-padding-string", lambda nn: nn.Conv2d(4, 4, 3, padding="full")),
    ("same-with-stride", lambda nn: nn.Conv1d(4, 4, 3, padding="same", stride=2)),
    ("bad-padding-mode", lambda nn: nn.Conv2d(4, 4, 3, padding_mode="mirror")),
    ("transpose-reflect", lambda nn: nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect")),
    ("transpose-groups-0", lambda nn: nn.ConvTranspose1d(4, 4, 3, groups=0)),
]


@pytest.mark.parametrize("name, build", MODULE_ERRORS, ids=[c[0] for c in MODULE_ERRORS])
def test_module_constructor_errors_are_value_errors(name, build):
    with pytest.raises(ValueError) as h_info:
        build(heron.nn)
    if torch is not None:
        with pytest.raises(ValueError) as t_info:
            build(torch.nn)
        assert str(h_info.value).split("{")[0] == str(t_info.value).split("{")[0]  # sets print in any order


@needs_torch
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd, padding", [(1, 2), (2, (1, 2)), (2, "same"), (1, "same")])
def test_padding_modes_match_torch(mode, nd, padding):
    rng = np.random.default_rng(6)
    kernel = 4 if padding == "same" else 3

    def build(lib):
        cls = lib.nn.Conv1d if nd == 1 else lib.nn.Conv2d
        return cls(2, 3, kernel, padding=padding, padding_mode=mode, dtype=lib.float64)

    h_mod, t_mod = build(heron), build(torch)
    h_mod.load_state_dict({k: heron.tensor(v.detach().numpy()) for k, v in t_mod.state_dict().items()})
    assert list(h_mod._reversed_padding_repeated_twice) == list(t_mod._reversed_padding_repeated_twice)
    x = rng.standard_normal((2, 2, 6) if nd == 1 else (2, 2, 5, 6))
    _compare_with_torch(lambda x: h_mod(x), lambda x: t_mod(x), [x], rng)


def test_core_functions_have_the_plug_in_signatures():
    """The lead's fused kernel plugs in here: both cores take batched 4-D tensors and pairs."""
    from heron.nn import _conv

    x, w = heron.randn(1, 2, 5, 5), heron.randn(3, 2, 3, 3)
    out = _conv._conv2d_core(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    assert np.array_equal(out.numpy(), _conv._conv2d_composite(x, w, None, (1, 1), (1, 1), (1, 1), 1).numpy())
    wt = heron.randn(2, 3, 3, 3)
    out_t = _conv._conv_transpose2d_core(x, wt, None, (2, 2), (1, 1), (1, 1), (1, 1), 1)
    assert out_t.shape == (1, 3, 10, 10)

