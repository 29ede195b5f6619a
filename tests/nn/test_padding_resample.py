"""F.pad (constant, reflect, replicate, circular), F.interpolate (every mode heron has),
pixel_shuffle/pixel_unshuffle and their modules: against NumPy (np.pad, index formulas,
reshapes) and torch (values, gradients, exception types), finite-difference gradients."""
from __future__ import annotations


import numpy as np
import pytest

import heron
from heron import nn
from heron.autograd import gradcheck, gradgradcheck
from heron.nn import functional as F
from heron.testing import assert_fails_like_torch, check_vjp_random_direction

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def leaf(array):
    return heron.tensor(array, dtype=heron.float64, requires_grad=True)


def np_pad_widths(ndim, pad):
    """np.pad's ((before, after), ...) from F.pad's last-dim-first list."""
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return widths


# ---------------------------------------------------------------------------- pad
@pytest.mark.parametrize("mode,np_mode", [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((3, 5), (0, 4)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                       ((2, 1, 3, 4, 5), (1, 1, 2, 0, 0, 2))])
def test_pad_matches_numpy_and_finite_differences(mode, np_mode, shape, pad):
    x = np.random.default_rng(0).standard_normal(shape)
    out = F.pad(leaf(x), pad, mode)
    np.testing.assert_array_equal(out.detach().numpy(), np.pad(x, np_pad_widths(x.ndim, pad), np_mode))
    check_vjp_random_direction(lambda t: F.pad(t, pad, mode), [leaf(x)])


def test_constant_pad_value_negative_widths_and_any_number_of_dims():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = F.pad(heron.tensor(x), (-1, 2, 1, -2, 1, 0), value=7.5).numpy()
    expected = np.pad(x[:, :1, 1:], ((1, 0), (1, 0), (0, 2)), constant_values=7.5)
    np.testing.assert_array_equal(out, expected)
    assert F.pad(heron.tensor(x), (-2, -2)).shape == (2, 3, 0)
    assert F.pad(heron.tensor(x).long(), (1, 1), value=2.7).numpy()[0, 0, 0] == 2  # cast as torch casts
    assert gradcheck(lambda t: F.pad(t, (-1, 2, 1, 0), value=3.0), (leaf(x[:1, :2]),))
    assert gradgradcheck(lambda t: F.pad(t, (2, -1)), (leaf(x[:1, :2]),))


def test_non_constant_pad_accepts_an_empty_batch():
    assert F.pad(heron.zeros(0, 3, 4), (1, 2), "reflect").shape == (0, 3, 7)
    assert F.pad(heron.zeros(0, 3, 4), (1, 2), "circular").shape == (0, 3, 7)


@needs_torch
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 4), (3, 3)), ((2, 3, 4), (-1, 2)), ((2, 3, 4), (2, -1)), ((3, 4), (2, 1)),
                                       ((1, 2, 3, 4), (1, 2, 2, 1)), ((1, 1, 2, 3, 4), (1, 1, 1, 1, 1, 1)),
                                       ((2, 3, 4), (-2, -2))])
def test_pad_matches_torch(mode, shape, pad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    t, h = torch.tensor(x, requires_grad=True), leaf(x)
    try:
        expected = TF.pad(t, pad, mode)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            F.pad(h, pad, mode)
        return
    got = F.pad(h, pad, mode)
    np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    if expected.numel():
        cotangent = rng.standard_normal(tuple(expected.shape))
        expected.backward(torch.tensor(cotangent))
        got.backward(heron.tensor(cotangent))
        np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def _pad_error_cases():
    def randn(lib, *shape):
        return lib.tensor(np.random.default_rng(0).standard_normal(shape))

    x3 = (2, 3, 4)
    calls = {
        "odd length": (x3, (1,), "constant", None), "too long": (x3, (1,) * 8, "constant", None),
        "crop past the end": (x3, (-3, -2), "constant", None), "bad mode": (x3, (1, 1), "foo", None),
        "reflect value": (x3, (1, 1), "reflect", 1.0), "reflect 1-D": ((5,), (1, 1), "reflect", None),
        "reflect 4-D by 2": ((1, 2, 3, 4), (1, 1), "reflect", None), "reflect too wide": (x3, (4, 1), "reflect", None),
        "reflect crop past": (x3, (-3, -2), "reflect", None), "reflect 2-D too high": ((1, 2, 3, 4), (1, 1, 3, 0), "reflect", None),
        "reflect empty channel": ((2, 0, 4), (1, 1), "reflect", None), "replicate empty": ((2, 3, 0), (1, 1), "replicate", None),
        "replicate 1-D": ((5,), (1, 1), "replicate", None), "circular too wide": (x3, (5, 3), "circular", None),
        "circular value": (x3, (1, 1), "circular", 1.0), "circular empty": ((2, 3, 0), (1, 1), "circular", None),
        "circular crop past": (x3, (-3, -2), "circular", None), "float widths": (x3, (1.0, 1), "constant", None),
        "int overflow": (x3, (1, 1), "constant", 1e20),
    }
    cases = [(name, lambda F, L, s=shape, p=pad, m=mode, v=value: F.pad(randn(L, *s).int() if v == 1e20 else randn(L, *s),
                                                                        p, m, v))
             for name, (shape, pad, mode, value) in calls.items()]
    cases += [("bool reflect", lambda F, L: F.pad(randn(L, 2, 3, 4) > 0, (1, 1), "reflect")),
              ("mode None", lambda F, L: F.pad(randn(L, 2, 3, 4), (1, 1), None)),
              ("pad is a tensor", lambda F, L: F.pad(randn(L, 2, 3, 4), L.tensor([1, 1]))),
              ("input is not a tensor", lambda F, L: F.pad([1.0, 2.0], (1, 1)))]
    return cases


def _interpolate_error_cases():
    def randn(lib, *shape):
        return lib.tensor(np.random.default_rng(0).standard_normal(shape))

    x4 = (2, 3, 5, 4)
    calls = {
        "size and scale": (x4, {"size": 7, "scale_factor": 2}), "neither": (x4, {}),
        "size length": (x4, {"size": (7,)}), "float size": (x4, {"size": (7.0, 3)}),
        "scale length": (x4, {"scale_factor": (2,)}), "nearest align": (x4, {"scale_factor": 2, "align_corners": True}),
        "area align": (x4, {"scale_factor": 2, "mode": "area", "align_corners": False}),
        "recompute with size": (x4, {"size": 3, "recompute_scale_factor": True}),
        "bilinear 3-D": ((2, 3, 5), {"scale_factor": 2, "mode": "bilinear"}),
        "linear 4-D": (x4, {"scale_factor": 2, "mode": "linear"}), "2-D input": ((3, 4), {"scale_factor": 2}),
        "bad mode": (x4, {"scale_factor": 2, "mode": "foo"}), "antialias nearest": (x4, {"scale_factor": 2, "antialias": True}),
        "size 0": (x4, {"size": (0, 3)}), "size -1": (x4, {"size": (-1, 3)}), "scale to 0": (x4, {"scale_factor": 0.1}),
        "empty spatial": ((2, 3, 0, 4), {"size": (3, 3)}), "trilinear 4-D": (x4, {"scale_factor": 2, "mode": "trilinear"}),
        "lanczos without antialias": (x4, {"scale_factor": 2, "mode": "lanczos"}),
        "bicubic 5-D": ((1, 1, 2, 3, 4), {"scale_factor": 2, "mode": "bicubic"}),
        "6-D": ((1, 1, 1, 1, 2, 2), {"scale_factor": 2}),
    }
    cases = [(name, lambda F, L, s=shape, k=kwargs: F.interpolate(randn(L, *s), **k))
             for name, (shape, kwargs) in calls.items()]
    cases.append(("integer input", lambda F, L: F.interpolate(randn(L, 2, 3, 4, 4).long(), scale_factor=2)))
    return cases


def _shuffle_error_cases():
    def randn(lib, *shape):
        return lib.tensor(np.random.default_rng(0).standard_normal(shape))

    return [("shuffle 2-D", lambda F, L: F.pixel_shuffle(randn(L, 8, 3), 2)),
            ("shuffle channels", lambda F, L: F.pixel_shuffle(randn(L, 2, 6, 3, 3), 2)),
            ("shuffle factor 0", lambda F, L: F.pixel_shuffle(randn(L, 2, 8, 3, 3), 0)),
            ("shuffle float factor", lambda F, L: F.pixel_shuffle(randn(L, 2, 8, 3, 3), 2.0)),
            ("unshuffle height", lambda F, L: F.pixel_unshuffle(randn(L, 2, 2, 5, 6), 2)),
            ("unshuffle width", lambda F, L: F.pixel_unshuffle(randn(L, 2, 2, 4, 5), 2)),
            ("unshuffle factor -1", lambda F, L: F.pixel_unshuffle(randn(L, 2, 2, 4, 6), -1))]


ERROR_CASES = _pad_error_cases() + _interpolate_error_cases() + _shuffle_error_cases()


@needs_torch
@pytest.mark.parametrize("name,call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_arguments_raise_torchs_exception_type(name, call):
    assert_fails_like_torch(call)


# ---------------------------------------------------------------------------- interpolate
def test_nearest_and_area_match_numpy():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 6))
    up = F.interpolate(heron.tensor(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(up, x.repeat(2, 2).repeat(2, 3))
    exact = F.interpolate(heron.tensor(x), size=(3, 4), mode="nearest-exact").numpy()
    rows, cols = np.floor((np.arange(3) + 0.5) * 4 / 3).astype(int), np.floor((np.arange(4) + 0.5) * 6 / 4).astype(int)
    np.testing.assert_array_equal(exact, x[:, :, rows][:, :, :, cols])
    area = F.interpolate(heron.tensor(x), scale_factor=0.5, mode="area").numpy()
    np.testing.assert_allclose(area, x.reshape(2, 3, 2, 2, 3, 2).mean((3, 5)))


def test_linear_interpolation_matches_the_formula():
    x = np.random.default_rng(3).standard_normal((2, 3, 5))
    out = F.interpolate(heron.tensor(x), size=8, mode="linear", align_corners=True).numpy()
    source = np.arange(8) * 4 / 7
    np.testing.assert_allclose(out, np.stack([np.interp(source, np.arange(5), row) for row in x.reshape(-1, 5)])
                               .reshape(2, 3, 8), rtol=1e-12)
    half_pixel = np.maximum((np.arange(8) + 0.5) * 5 / 8 - 0.5, 0)
    out = F.interpolate(heron.tensor(x), size=8, mode="linear").numpy()
    np.testing.assert_allclose(out, np.stack([np.interp(half_pixel, np.arange(5), row) for row in x.reshape(-1, 5)])
                               .reshape(2, 3, 8), rtol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
def test_interpolate_finite_differences(mode):
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 5))
    align = {} if mode in ("nearest", "nearest-exact", "area") else {"align_corners": False}
    check_vjp_random_direction(lambda t: F.interpolate(t, size=(6, 3), mode=mode, **align), [leaf(x)])
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode=mode, **align), (leaf(x[:, :1, :3, :3]),))


def _interpolate_torch_cases():
    shapes = {1: (2, 3, 7), 2: (2, 3, 5, 7), 3: (1, 2, 4, 5, 3)}
    modes = {1: ["nearest", "nearest-exact", "linear", "area"], 2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
             3: ["nearest", "nearest-exact", "trilinear", "area"]}
    cases = []
    for dims, shape in shapes.items():
        for mode in modes[dims]:
            for align in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
                kwargs = {"mode": mode, "align_corners": align}
                cases += [(shape, dict(kwargs, size=size)) for size in (1, 3, 11)]
                cases += [(shape, dict(kwargs, scale_factor=s, recompute_scale_factor=r))
                          for s in (0.5, 1.7, 2.0, 3.0) for r in (None, True)]
    cases.append(((2, 3, 5, 7), {"size": (3, 11), "mode": "bilinear"}))
    cases.append(((2, 3, 5, 7), {"scale_factor": (1.5, 0.6), "mode": "bicubic", "align_corners": True}))
    return cases


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,kwargs", _interpolate_torch_cases(), ids=str)
def test_interpolate_matches_torch(dtype, shape, kwargs):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    t, h = torch.tensor(x, requires_grad=True), heron.tensor(x, requires_grad=True)
    expected, got = TF.interpolate(t, **kwargs), F.interpolate(h, **kwargs)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    cotangent = rng.standard_normal(tuple(expected.shape)).astype(dtype)
    expected.backward(torch.tensor(cotangent))
    got.backward(heron.tensor(cotangent))
    np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=tolerance, atol=10 * tolerance)


@pytest.mark.parametrize("kwargs", [{"mode": "bilinear", "antialias": True}, {"mode": "bicubic", "antialias": True},
                                    {"mode": "lanczos", "antialias": True}])
def test_options_heron_lacks_raise_not_implemented_naming_them(kwargs):
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(heron.randn(1, 2, 4, 4), scale_factor=2, **kwargs)


def test_deprecated_upsample_names_warn_and_interpolate():
    x = heron.randn(1, 2, 3, 4)
    with pytest.warns(UserWarning, match="upsample_bilinear"):
        out = F.upsample_bilinear(x, scale_factor=2)
    assert np.allclose(out.numpy(), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy())
    with pytest.warns(UserWarning, match="upsample_nearest"):
        assert F.upsample_nearest(x, size=5).shape == (1, 2, 5, 5)
    with pytest.warns(UserWarning, match="nn.functional.upsample"):
        assert F.upsample(x, scale_factor=3).shape == (1, 2, 9, 12)


# ---------------------------------------------------------------------------- pixel shuffle
def test_pixel_shuffle_and_unshuffle_are_inverse_reshapes():
    x = np.random.default_rng(6).standard_normal((2, 3, 8, 3, 5))
    out = F.pixel_shuffle(heron.tensor(x), 2).numpy()
    expected = x.reshape(2, 3, 2, 2, 2, 3, 5).transpose(0, 1, 2, 5, 3, 6, 4).reshape(2, 3, 2, 6, 10)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(F.pixel_unshuffle(heron.tensor(out), 2).numpy(), x)
    check_vjp_random_direction(lambda t: F.pixel_shuffle(t, 2), [leaf(x)])
    assert F.pixel_shuffle(heron.zeros(0, 9, 2, 2, dtype=heron.int64), 3).shape == (0, 1, 6, 6)


# ---------------------------------------------------------------------------- modules
def test_padding_upsampling_and_shuffle_modules():
    x = heron.randn(1, 2, 3, 4)
    assert nn.ZeroPad2d(1)(x).shape == (1, 2, 5, 6) and nn.ZeroPad2d(1).padding == (1, 1, 1, 1)
    assert np.array_equal(nn.ConstantPad1d((1, 2), 3.5)(x).numpy(), F.pad(x, (1, 2), value=3.5).numpy())
    assert np.array_equal(nn.ReflectionPad2d((1, 0, 2, 1))(x).numpy(), F.pad(x, (1, 0, 2, 1), "reflect").numpy())
    assert np.array_equal(nn.ReplicationPad3d(1)(x).numpy(), F.pad(x, (1,) * 6, "replicate").numpy())
    assert np.array_equal(nn.CircularPad2d(1)(x).numpy(), F.pad(x, (1,) * 4, "circular").numpy())
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.CircularPad2d(1)(x[0, 0])
    assert isinstance(nn.ZeroPad1d(2), nn.ConstantPad1d) and nn.ZeroPad3d(1).value == 0.0
    assert nn.Upsample(scale_factor=2, mode="bilinear")(x).shape == (1, 2, 6, 8)
    assert nn.Upsample(scale_factor=(2, 1)).scale_factor == (2.0, 1.0) and nn.Upsample(size=3).scale_factor is None
    assert np.allclose(nn.UpsamplingBilinear2d(size=(5, 5))(x).numpy(),
                       F.interpolate(x, size=(5, 5), mode="bilinear", align_corners=True).numpy())
    assert nn.UpsamplingNearest2d(scale_factor=2)(x).shape == (1, 2, 6, 8)
    assert nn.PixelUnshuffle(2)(nn.PixelShuffle(2)(heron.randn(1, 8, 2, 2))).shape == (1, 8, 2, 2)
