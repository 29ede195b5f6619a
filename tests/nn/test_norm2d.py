"""Normalisation and dropout for CNNs: F.group_norm, F.instance_norm, F.local_response_norm
against NumPy float64 references and torch; BatchNorm2d/3d, InstanceNorm1d/2d/3d, GroupNorm,
LocalResponseNorm; channel dropout (dropout1d/2d/3d), alpha_dropout and feature_alpha_dropout
(the channel structure, statistics, reproducibility, in-place); torch's exception types."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import heron
from heron import nn
from heron.autograd import gradcheck
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


def ref_normalize(x, axes, eps):
    mean = x.mean(axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axes, keepdims=True) + eps)


# ---------------------------------------------------------------------------- group, instance, LRN
@pytest.mark.parametrize("shape,groups", [((2, 6, 5, 4), 3), ((3, 6), 2), ((2, 4, 7), 4), ((1, 6, 2, 2, 3), 1)])
def test_group_norm_matches_numpy(shape, groups):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    out = F.group_norm(leaf(x), groups, leaf(w), leaf(b), 1e-3).detach().numpy()
    grouped = x.reshape(shape[0], groups, -1)
    expected = ref_normalize(grouped, 2, 1e-3).reshape(shape)
    channel = (1, -1) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(out, expected * w.reshape(channel) + b.reshape(channel), rtol=1e-10, atol=1e-12)
    check_vjp_random_direction(lambda *t: F.group_norm(t[0], groups, t[1], t[2], 1e-3), [leaf(x), leaf(w), leaf(b)])


def test_instance_norm_matches_numpy_and_updates_running_stats():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5, 6))
    mean, var = np.zeros(4), np.ones(4)
    running_mean, running_var = heron.tensor(mean), heron.tensor(var)
    out = F.instance_norm(leaf(x), running_mean, running_var, momentum=0.2, eps=1e-4).detach().numpy()
    np.testing.assert_allclose(out, ref_normalize(x, (2, 3), 1e-4), rtol=1e-10, atol=1e-12)
    batch_mean = x.mean((2, 3)).mean(0)
    batch_var = x.var((2, 3), ddof=1).mean(0)
    np.testing.assert_allclose(running_mean.numpy(), 0.8 * mean + 0.2 * batch_mean, rtol=1e-12)
    np.testing.assert_allclose(running_var.numpy(), 0.8 * var + 0.2 * batch_var, rtol=1e-12)
    frozen = F.instance_norm(heron.tensor(x), running_mean, running_var, use_input_stats=False).numpy()
    expected = (x - running_mean.numpy()[:, None, None]) / np.sqrt(running_var.numpy()[:, None, None] + 1e-5)
    np.testing.assert_allclose(frozen, expected, rtol=1e-10)
    check_vjp_random_direction(lambda t: F.instance_norm(t), [leaf(x)])


def test_local_response_norm_matches_numpy():
    x = np.random.default_rng(2).standard_normal((2, 6, 3, 4))
    out = F.local_response_norm(leaf(x), 3, alpha=0.01, beta=0.8, k=2.0).detach().numpy()
    squares = np.pad(x * x, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = sum(squares[:, i:i + 6] for i in range(3)) / 3
    np.testing.assert_allclose(out, x / (2.0 + 0.01 * window) ** 0.8, rtol=1e-12)
    assert gradcheck(lambda t: F.local_response_norm(t, 4, 0.1, 0.75, 1.0), (leaf(x[:1, :, :2, :2]),))


@needs_torch
@pytest.mark.parametrize("case", ["group", "instance-train", "instance-eval", "lrn-3d", "lrn-5d"])
def test_values_gradients_and_running_stats_match_torch(case):
    rng = np.random.default_rng(3)
    shape = {"lrn-3d": (2, 6, 5), "lrn-5d": (2, 3, 4, 5, 2)}.get(case, (2, 6, 5, 4))
    x, w, b = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    stats = rng.standard_normal(shape[1]), rng.uniform(0.5, 2.0, shape[1])
    libs = {"torch": (torch, TF, lambda a: torch.tensor(a, requires_grad=True)), "heron": (heron, F, leaf)}
    results = {}
    for name, (lib, functional, make) in libs.items():
        inputs = [make(x), make(w), make(b)]
        running = [lib.tensor(s) for s in stats]
        if case == "group":
            out = functional.group_norm(inputs[0], 3, inputs[1], inputs[2], 1e-4)
        elif case.startswith("instance"):
            out = functional.instance_norm(inputs[0], *running, inputs[1], inputs[2], case == "instance-train", 0.3, 1e-4)
        else:
            out = functional.local_response_norm(inputs[0], 4, 0.02, 0.7, 1.5)
        out.backward(lib.tensor(np.linspace(-1, 1, out.numel()).reshape(shape)))
        results[name] = [out.detach().numpy()] + [t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
                                                  for t in inputs] + [s.numpy() for s in running]
    for got, expected in zip(results["heron"], results["torch"]):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------- dropout
def test_channel_dropout_drops_whole_channels_with_probability_p():
    heron.manual_seed(0)
    out = F.dropout2d(heron.ones(1000, 8, 3, 3), 0.3).numpy().reshape(1000, 8, 9)
    dropped = (out == 0).all(-1)
    assert np.all(dropped | np.isclose(out, 1 / 0.7).all(-1))
    assert abs(dropped.mean() - 0.3) < 0.02
    unbatched = F.dropout1d(heron.ones(500, 6), 0.5).numpy()
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2).all(-1))
    unbatched = F.dropout3d(heron.ones(400, 2, 2, 2), 0.5).numpy().reshape(400, -1)
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2).all(-1))


def test_dropout_draws_are_reproducible_and_eval_is_the_identity():
    x = heron.randn(4, 5, 6, 6)
    for op in (F.dropout1d, F.dropout2d, F.dropout3d, F.dropout, F.alpha_dropout, F.feature_alpha_dropout):
        sample = x[0] if op is F.dropout1d else x
        heron.manual_seed(7)
        first = op(sample, 0.4, True).numpy()
        heron.manual_seed(7)
        assert np.array_equal(first, op(sample, 0.4, True).numpy())
        assert op(sample, 0.4, False) is sample and op(sample, 0.0, True) is sample
        assert not op(sample, 1.0, True).numpy().any()


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    heron.manual_seed(1)
    out = F.alpha_dropout(heron.randn(200000), 0.2, True).numpy()
    assert abs(out.mean()) < 0.01 and abs(out.std() - 1) < 0.01
    channels = F.feature_alpha_dropout(heron.randn(4000, 8, 5), 0.2, True).numpy()
    assert abs(channels.mean()) < 0.02 and abs(channels.std() - 1) < 0.02
    # one draw per channel: a dropped channel is one affine image of the input
    x = heron.randn(50, 8, 5)
    out = F.feature_alpha_dropout(x, 0.5, True).numpy()
    shift = out - x.numpy() * (out[..., :1] - out[..., 1:2]) / (x.numpy()[..., :1] - x.numpy()[..., 1:2])
    assert np.allclose(shift, shift[..., :1], atol=1e-4)


def test_inplace_dropout_writes_into_its_input():
    heron.manual_seed(2)
    x = heron.ones(20, 4, 3)
    out = F.dropout1d(x, 0.5, True, inplace=True)
    assert out is x and set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_channel_dropout_gradient_is_the_mask():
    heron.manual_seed(3)
    x = leaf(np.ones((6, 5, 2, 2)))
    out = F.dropout2d(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


# ---------------------------------------------------------------------------- modules
def test_batch_norm_2d_and_3d_check_their_rank_and_share_one_implementation():
    bn2, bn3 = nn.BatchNorm2d(3), nn.BatchNorm3d(3)
    assert type(bn2).forward is type(nn.BatchNorm1d(3)).forward is type(bn3).forward
    x = heron.randn(4, 3, 5, 5)
    out = bn2(x).detach().numpy()
    np.testing.assert_allclose(out, ref_normalize(x.numpy(), (0, 2, 3), 1e-5), rtol=1e-4, atol=1e-5)
    assert int(bn2.num_batches_tracked) == 1 and bn3(heron.randn(2, 3, 2, 2, 2)).shape == (2, 3, 2, 2, 2)
    with pytest.raises(ValueError, match="expected 4D input"):
        bn2(heron.randn(4, 3, 5))
    with pytest.raises(ValueError, match="expected 5D input"):
        bn3(x)
    assert list(bn2.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_instance_norm_modules():
    norm = nn.InstanceNorm2d(3)
    assert norm.weight is None and norm.running_mean is None and list(norm.state_dict()) == []
    x = heron.randn(3, 4, 5)
    np.testing.assert_allclose(norm(x).numpy(), norm(x.unsqueeze(0)).numpy()[0])  # unbatched
    tracked = nn.InstanceNorm1d(4, affine=True, track_running_stats=True)
    tracked(heron.randn(2, 4, 6))
    assert int(tracked.num_batches_tracked) == 0 and not np.allclose(tracked.running_mean.numpy(), 0)
    tracked.eval()
    y = heron.randn(2, 4, 6)
    np.testing.assert_allclose(tracked(y).detach().numpy(), F.instance_norm(
        y, tracked.running_mean, tracked.running_var, tracked.weight, tracked.bias, False).detach().numpy())
    with pytest.raises(ValueError, match="to match num_features"):
        tracked(heron.randn(2, 5, 6))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(heron.randn(2, 5, 6))
    with pytest.raises(ValueError, match="expected 4D or 5D input"):
        nn.InstanceNorm3d(2)(heron.randn(2, 3, 4))
    errors = []
    nn.InstanceNorm2d(3)._load_from_state_dict({"running_mean": heron.zeros(3)}, "", {}, True, [], [], errors)
    assert "Unexpected running stats buffer" in errors[0]


def test_group_norm_and_local_response_norm_modules():
    norm = nn.GroupNorm(2, 6)
    assert np.array_equal(norm.weight.detach().numpy(), np.ones(6)) and norm.bias is not None
    assert nn.GroupNorm(3, 6, affine=False).weight is None and nn.GroupNorm(3, 6, bias=False).bias is None
    x = heron.randn(2, 6, 3)
    np.testing.assert_allclose(norm(x).detach().numpy(), F.group_norm(x, 2).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="must be divisible by num_groups"):
        nn.GroupNorm(4, 6)
    assert np.allclose(nn.LocalResponseNorm(2)(x).numpy(), F.local_response_norm(x, 2).numpy())


def test_dropout_modules():
    x = heron.ones(3, 4, 5)
    for layer in (nn.Dropout1d(0.5), nn.Dropout2d(0.5), nn.Dropout3d(0.5), nn.AlphaDropout(0.5),
                  nn.FeatureAlphaDropout(0.5)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert layer(x).shape == x.shape
            layer.eval()
            assert layer(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# ---------------------------------------------------------------------------- errors against torch
def _error_cases():
    def randn(lib, *shape):
        return lib.tensor(np.random.default_rng(0).standard_normal(shape))

    x4 = (2, 6, 5, 4)
    return [
        ("group_norm groups do not divide", lambda F, L: F.group_norm(randn(L, *x4), 4)),
        ("group_norm 1-D", lambda F, L: F.group_norm(randn(L, 6), 3)),
        ("group_norm one value per group", lambda F, L: F.group_norm(randn(L, 1, 6), 6)),
        ("group_norm weight size", lambda F, L: F.group_norm(randn(L, *x4), 3, L.ones(5))),
        ("group_norm integers", lambda F, L: F.group_norm(randn(L, *x4).long(), 3)),
        ("group_norm zero groups", lambda F, L: F.group_norm(randn(L, *x4), 0)),
        ("instance_norm one element", lambda F, L: F.instance_norm(randn(L, 2, 6, 1))),
        ("instance_norm no stats in eval", lambda F, L: F.instance_norm(randn(L, *x4), use_input_stats=False)),
        ("instance_norm running size", lambda F, L: F.instance_norm(randn(L, *x4), L.zeros(5), L.ones(5))),
        ("instance_norm weight size", lambda F, L: F.instance_norm(randn(L, *x4), weight=L.ones(5))),
        ("local_response_norm 2-D", lambda F, L: F.local_response_norm(randn(L, 2, 6), 3)),
        ("dropout1d 4-D", lambda F, L: F.dropout1d(randn(L, *x4))),
        ("dropout1d 1-D", lambda F, L: F.dropout1d(randn(L, 3))),
        ("dropout2d 1-D", lambda F, L: F.dropout2d(randn(L, 3))),
        ("feature_alpha_dropout 0-d", lambda F, L: F.feature_alpha_dropout(randn(L), 0.5, True)),
        ("dropout2d integers", lambda F, L: F.dropout2d(randn(L, *x4).long())),
        ("dropout2d p > 1", lambda F, L: F.dropout2d(randn(L, *x4), 1.5)),
        ("alpha_dropout p < 0", lambda F, L: F.alpha_dropout(randn(L, *x4), -0.1)),
    ]


@needs_torch
@pytest.mark.parametrize("name,call", _error_cases(), ids=[c[0] for c in _error_cases()])
def test_bad_arguments_raise_torchs_exception_type(name, call):
    assert_fails_like_torch(call)
