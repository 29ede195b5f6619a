"""heron.nn.init: gains, fan computations, the statistics of each initialiser, reproducibility
through generators, and torch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron
from heron.nn import init


def sample(shape, fill, *args, **kwargs):
    t = heron.empty(*shape)
    assert fill(t, *args, **kwargs) is t
    return t.numpy()


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(heron.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(heron.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(heron.empty(4))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(heron.empty(3, 3), mode="fan_avg")


def test_uniform_normal_constant():
    u = sample((20000,), init.uniform_, -2.0, 3.0)
    assert u.min() >= -2.0 and u.max() <= 3.0 and abs(u.mean() - 0.5) < 0.05
    n = sample((20000,), init.normal_, 1.0, 2.0)
    assert abs(n.mean() - 1.0) < 0.06 and abs(n.std() - 2.0) < 0.06
    assert (sample((3, 2), init.constant_, 0.5) == 0.5).all()
    assert (sample((3,), init.ones_) == 1).all() and (sample((3,), init.zeros_) == 0).all()
    assert np.array_equal(sample((2, 3), init.eye_), np.eye(2, 3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(heron.empty(3))


def test_xavier_statistics():
    fan_in, fan_out = 200, 100
    std = math.sqrt(2.0 / (fan_in + fan_out))
    u = sample((fan_out, fan_in), init.xavier_uniform_, gain=2.0)
    assert np.abs(u).max() <= 2.0 * math.sqrt(3.0) * std and abs(u.std() - 2.0 * std) < 0.03 * 2.0 * std
    n = sample((fan_out, fan_in), init.xavier_normal_)
    assert abs(n.std() - std) < 0.03 * std


@pytest.mark.parametrize("mode, nonlinearity, a", [("fan_in", "leaky_relu", 0), ("fan_out", "relu", 0),
                                                   ("fan_in", "leaky_relu", math.sqrt(5)), ("fan_out", "tanh", 0)])
def test_kaiming_statistics(mode, nonlinearity, a):
    shape = (150, 120)
    fan = 120 if mode == "fan_in" else 150
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = sample(shape, init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity)
    assert np.abs(u).max() <= math.sqrt(3.0) * std and abs(u.std() - std) < 0.03 * std
    n = sample(shape, init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(n.std() - std) < 0.03 * std


def test_kaiming_on_an_empty_tensor_warns_and_does_nothing():
    t = heron.empty(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(t) is t


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 0.5, 0.6), (1.0, 0.5, 0.0, 3.0)])
def test_trunc_normal_stays_in_bounds_with_the_right_moments(mean, std, a, b):
    values = sample((20000,), init.trunc_normal_, mean, std, a, b)
    assert values.min() >= a and values.max() <= b
    # Moments of the truncated normal, from its closed form.
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    expected_mean = mean + std * (pdf(alpha) - pdf(beta)) / z
    expected_var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - ((pdf(alpha) - pdf(beta)) / z) ** 2)
    assert abs(values.mean() - expected_mean) < 0.03 * max(std, b - a)
    assert abs(values.var() - expected_var) < 0.05 * expected_var + 1e-4


def test_trunc_normal_warns_when_mean_is_far_outside():
    with pytest.warns(UserWarning, match="mean is more than 2 std from \\[a, b\\]"):
        init.trunc_normal_(heron.empty(10), mean=10.0, std=1.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2)])
def test_orthogonal(shape):
    q = sample(shape, init.orthogonal_, gain=2.0).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    assert np.allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(heron.empty(3))


@pytest.mark.parametrize("fill", [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
                                  init.kaiming_uniform_, init.kaiming_normal_, init.trunc_normal_, init.orthogonal_])
def test_generators_make_initialisation_reproducible(fill):
    first = sample((4, 5), fill, generator=heron.Generator().manual_seed(3))
    second = sample((4, 5), fill, generator=heron.Generator().manual_seed(3))
    assert np.array_equal(first, second)
    heron.manual_seed(11)
    third = sample((4, 5), fill)
    heron.manual_seed(11)
    assert np.array_equal(third, sample((4, 5), fill))


def test_initialisers_record_no_graph_on_parameters():
    from heron import nn

    p = nn.Parameter(heron.empty(3, 3))
    for fill in (init.uniform_, init.normal_, init.constant_, init.zeros_, init.ones_, init.eye_, init.xavier_uniform_,
                 init.kaiming_uniform_, init.trunc_normal_, init.orthogonal_):
        args = (0.5,) if fill is init.constant_ else ()
        fill(p, *args)
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
