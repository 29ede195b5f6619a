"""Determinism: results are bit-identical for 1 and 2 threads and from run to run, and
random numbers are reproducible from a seed (default generator and Generator objects)."""
from __future__ import annotations

import numpy as np
import pytest

import heron
from heron.testing.tensors import from_values


def bits(t):
    t = t.detach()
    if t.dtype is heron.bfloat16:
        t = t.float()  # exact
    return t.contiguous().numpy().tobytes()


def with_threads(n, fn):
    before = heron.get_num_threads()
    heron.set_num_threads(n)
    try:
        return fn()
    finally:
        heron.set_num_threads(before)


def same_for_1_and_2_threads(fn):
    one = with_threads(1, fn)
    two = with_threads(2, fn)
    again = with_threads(2, fn)
    one, two, again = ([one] if isinstance(one, heron.Tensor) else list(one)), \
        ([two] if isinstance(two, heron.Tensor) else list(two)), ([again] if isinstance(again, heron.Tensor) else list(again))
    for a, b, c in zip(one, two, again):
        assert bits(a) == bits(b), "1 and 2 threads differ"
        assert bits(b) == bits(c), "two runs with 2 threads differ"


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(1234)
    return {
        "vec32": from_values(rng.standard_normal(1 << 21), heron.float32),
        "vec64": from_values(rng.standard_normal(1 << 20), heron.float64),
        "vec16": from_values(rng.standard_normal(1 << 20), heron.float16),
        "vecbf": from_values(rng.standard_normal(1 << 19), heron.bfloat16),
        "mat": from_values(rng.standard_normal((1024, 1536)), heron.float32),
        "ints": from_values(rng.integers(-1000, 1000, size=1 << 20), heron.int64),
    }


REDUCTIONS = {
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(),
    "amax": lambda x: x.amax(),
    "argmax": lambda x: x.argmax(),
    "var": lambda x: x.var(),
    "std": lambda x: x.std(correction=0),
    "norm": lambda x: x.norm(),
    "logsumexp": lambda x: heron.logsumexp(x, 0),
    "prod": lambda x: (x * 1e-3 + 1).prod(),
    "cumsum": lambda x: x.cumsum(0),
    "sort": lambda x: heron.sort(x)[0],
}


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("key", ["vec32", "vec64", "vec16", "vecbf"])
def test_full_reductions_thread_count_independent(big, name, key):
    x = big[key]
    if name in ("sort", "cumsum") and key in ("vec16", "vecbf"):
        x = x[: 1 << 16]
    same_for_1_and_2_threads(lambda: REDUCTIONS[name](x))


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "argmax", "var", "logsumexp", "softmax", "log_softmax", "cumsum"])
def test_dim_reductions_thread_count_independent(big, name, dim):
    x = big["mat"]
    fn = {
        "sum": lambda: x.sum(dim), "mean": lambda: x.mean(dim), "amax": lambda: x.amax(dim), "argmax": lambda: x.argmax(dim),
        "var": lambda: x.var(dim), "logsumexp": lambda: heron.logsumexp(x, dim), "softmax": lambda: heron.softmax(x, dim),
        "log_softmax": lambda: heron.log_softmax(x, dim), "cumsum": lambda: x.cumsum(dim),
    }[name]
    same_for_1_and_2_threads(fn)


def test_non_contiguous_and_integer_reductions(big):
    m = big["mat"].t()
    same_for_1_and_2_threads(lambda: (m.sum(0), m.sum(1), m.sum(), (m * 2).exp().sum(1)))
    ints = big["ints"]
    same_for_1_and_2_threads(lambda: (ints.sum(), ints.cumsum(0), ints.amax()))


def test_elementwise_and_matmul_thread_count_independent(big):
    x = big["vec32"]
    m = big["mat"]
    same_for_1_and_2_threads(lambda: (x.exp(), heron.tanh(x) * x + 1, heron.nn.functional.gelu(x)))
    same_for_1_and_2_threads(lambda: m[:256] @ m[:256].t())


def test_backward_thread_count_independent(big):
    def run():
        w = big["mat"][:256, :256].clone().requires_grad_()
        loss = (heron.softmax(w @ w.t(), 1) * w).sum()
        (g,) = heron.autograd.grad(loss, w)
        return g

    same_for_1_and_2_threads(run)


# ---------------------------------------------------------------------------- random numbers
def _draws(generator=None):
    return (
        heron.rand(10_000, generator=generator),
        heron.randn(10_001, dtype=heron.float64, generator=generator),
        heron.randint(0, 1000, (5000,), generator=generator),
        heron.randperm(3000, generator=generator),
        heron.multinomial(heron.arange(1.0, 11.0), 2000, True, generator=generator),
        heron.empty(4097).normal_(2.0, 3.0, generator=generator),
        heron.empty(4097).uniform_(-1.0, 1.0, generator=generator),
        heron.empty(3000).bernoulli_(0.3, generator=generator),
        heron.rand(1000, dtype=heron.float16, generator=generator),
    )


def test_random_numbers_thread_count_independent():
    def run():
        heron.manual_seed(2024)
        return _draws()

    same_for_1_and_2_threads(run)


def test_manual_seed_reproduces_and_streams_advance():
    heron.manual_seed(7)
    a = _draws()
    heron.manual_seed(7)
    b = _draws()
    for x, y in zip(a, b):
        assert bits(x) == bits(y)
    c = _draws()  # the stream moved on
    assert bits(a[0]) != bits(c[0])
    heron.manual_seed(8)
    assert bits(heron.rand(100)) != bits(a[0][:100])
    assert heron.initial_seed() == 8


def test_rng_state_save_and_restore():
    heron.manual_seed(3)
    heron.rand(17)
    state = heron.get_rng_state()
    x = heron.randn(100)
    heron.rand(5)
    heron.set_rng_state(state)
    assert bits(heron.randn(100)) == bits(x)


def test_generator_objects_are_independent_streams():
    g1 = heron.Generator().manual_seed(11)
    g2 = heron.Generator()
    assert g2.manual_seed(11) is g2 and g1.initial_seed() == 11 and g1.device == heron.device("cpu")
    heron.manual_seed(0)
    default_before = heron.rand(10)
    a = heron.rand(1000, generator=g1)
    heron.manual_seed(0)
    heron.rand(10)
    b = heron.rand(1000, generator=g2)
    assert bits(a) == bits(b)
    heron.manual_seed(0)
    assert bits(heron.rand(10)) == bits(default_before)  # generator draws do not touch the default stream
    state = g1.get_state()
    x = heron.randn(50, generator=g1)
    g1.set_state(state)
    assert bits(heron.randn(50, generator=g1)) == bits(x)


def test_random_value_ranges():
    g = heron.Generator().manual_seed(5)
    u = heron.rand(100_000, generator=g).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    n = heron.randn(100_000, generator=g, dtype=heron.float64).numpy()
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1.0) < 0.02
    r = heron.randint(-3, 4, (10_000,), generator=g).numpy()
    assert r.min() == -3 and r.max() == 3
    p = heron.randperm(1000, generator=g).numpy()
    assert sorted(p.tolist()) == list(range(1000))


def test_seed_range():
    g = heron.Generator()
    g.manual_seed(2 ** 64 - 1)
    g.manual_seed(-1)
    for bad in (2 ** 64, -(2 ** 63) - 1):
        with pytest.raises(ValueError, match="Overflow"):  # torch 2.13 raises ValueError
            g.manual_seed(bad)
