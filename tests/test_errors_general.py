"""Errors that are not tied to one op: autograd misuse, impossible sizes, bad data, dims, and
special values (NaN and infinities propagate as in torch). Expected types are torch 2.13's."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron

nan, inf = math.nan, math.inf


# ---------------------------------------------------------------------------- autograd misuse
def test_inplace_on_leaf_requiring_grad():
    x = heron.ones(3, requires_grad=True)
    for inplace in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.clamp_(0, 1),
                    lambda: x.copy_(heron.zeros(3)), lambda: x.__setitem__(0, 5.0), lambda: x.exp_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            inplace()
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_backward_twice_without_retain_graph():
    x = heron.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_backward_on_non_scalar_without_gradient():
    x = heron.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        heron.autograd.grad(x * 2, x)
    (x.sum() * 2).backward()  # scalar (0-d) is fine
    (x[:1] * 2).backward()  # so is one element of any shape, as torch
    assert x.grad.tolist() == [4.0, 2.0, 2.0]


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="floating point"):
        heron.ones(2, dtype=heron.long, requires_grad=True)


def test_numpy_of_tensor_requiring_grad():
    with pytest.raises(RuntimeError, match="detach"):
        heron.ones(2, requires_grad=True).numpy()


# ---------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("make", [
    lambda: heron.empty(2 ** 62),
    lambda: heron.zeros(2 ** 31, 2 ** 31, 2 ** 31),
    lambda: heron.ones(2 ** 40, dtype=heron.float64),
    lambda: heron.arange(2 ** 62),
], ids=["empty-2^62", "zeros-overflow", "ones-2^40", "arange-2^62"])
def test_impossible_sizes_fail_cleanly(make):
    with pytest.raises((MemoryError, RuntimeError)):
        make()
    assert heron.ones(2).sum().item() == 2.0  # the process is fine afterwards


@pytest.mark.parametrize("make", [lambda: heron.empty(2 ** 62), lambda: heron.empty(2 ** 40)], ids=["overflow", "allocation"])
def test_impossible_sizes_raise_torchs_type(make):
    # torch raises RuntimeError ("Storage size calculation overflowed" / "can't allocate memory");
    # heron's error is also a MemoryError, as ARCHITECTURE asks for failed allocations.
    with pytest.raises(RuntimeError) as info:
        make()
    assert isinstance(info.value, MemoryError)


def test_negative_sizes():
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        heron.empty(-1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        heron.ones(2, -1)
    with pytest.raises(RuntimeError, match="invalid shape dimension -2"):
        heron.ones(6).reshape(-2, 3)
    with pytest.raises(RuntimeError):
        heron.ones(3).expand(-2, 3)
    with pytest.raises(RuntimeError):
        heron.randperm(-1)
    with pytest.raises(RuntimeError):
        heron.linspace(0, 1, -1)


def test_shape_errors_are_runtime_and_value_errors():
    with pytest.raises(heron.ShapeError) as info:
        heron.ones(3) + heron.ones(4)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


def test_bad_sizes_and_data():
    with pytest.raises(TypeError):
        heron.zeros("a")
    with pytest.raises(TypeError):
        heron.ones(2.5)
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        heron.tensor("abc")
    with pytest.raises(TypeError):
        heron.tensor([1, "a"])
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        heron.tensor(None)
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        heron.tensor([None])
    with pytest.raises(ValueError):
        heron.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        heron.full((2,), "a")
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        heron.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="from=5 >= to=2"):
        heron.randint(5, 2, (3,))
    with pytest.raises(RuntimeError, match="n_sample <= 0"):
        heron.multinomial(heron.ones(3), 0)
    with pytest.raises(RuntimeError, match="positive integer"):
        heron.set_num_threads(0)
    with pytest.raises(RuntimeError):
        heron.device("foo")


def test_cuda_requests_without_a_gpu():
    if heron.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError):
        heron.ones(2, device="cuda")


# ---------------------------------------------------------------------------- dims
def test_negative_dims_wrap():
    x = heron.arange(24.0).reshape(2, 3, 4)
    assert x.sum(-1).shape == (2, 3) and x.sum(-3).shape == (3, 4)
    assert x.transpose(-1, -3).shape == (4, 3, 2) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.narrow(-1, 1, 2).shape == (2, 3, 2) and x.size(-2) == 3 and x.stride(-1) == 1
    assert heron.softmax(x, -1).sum(-1).allclose(heron.ones(2, 3))
    assert heron.cat([x, x], -2).shape == (2, 6, 4) and heron.stack([x, x], -1).shape == (2, 3, 4, 2)
    assert heron.gather(x, -1, heron.zeros(2, 3, 1, dtype=heron.long)).shape == (2, 3, 1)
    assert x.flatten(-2).shape == (2, 12) and x.squeeze(-1).shape == (2, 3, 4)
    s = heron.tensor(2.0)
    assert s.sum(-1).item() == 2.0 and s.sum(0).item() == 2.0 and s.unsqueeze(-1).shape == (1,)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(-4), lambda x: x.sum(3), lambda x: heron.softmax(x, -4), lambda x: heron.cat([x, x], -4),
    lambda x: x.transpose(0, 3), lambda x: x.unsqueeze(-5), lambda x: x.size(-4), lambda x: x.argmax(3),
    lambda x: x.cumsum(-4), lambda x: heron.tensor(2.0).sum(1), lambda x: heron.tensor(2.0).unsqueeze(-2),
], ids=["sum-4", "sum3", "softmax-4", "cat-4", "transpose", "unsqueeze-5", "size-4", "argmax3", "cumsum-4",
        "0d-sum1", "0d-unsqueeze-2"])
def test_dims_out_of_range_raise_index_error(call):
    with pytest.raises(IndexError, match="Dimension out of range"):
        call(heron.ones(2, 3, 4))


def test_repeated_dims_rejected():
    with pytest.raises(RuntimeError, match="appears multiple times"):
        heron.ones(2, 3).sum((1, -1))


# ---------------------------------------------------------------------------- NaN and infinities
def close_with_nan(t, expected):
    """Values within float32 rounding; NaN where NaN is expected, the same infinities."""
    got = np.asarray(t.tolist(), dtype=np.float64)
    np.testing.assert_allclose(got, np.asarray(expected, dtype=np.float64), rtol=1e-6, atol=1e-30, equal_nan=True)


def test_nan_propagates_through_reductions():
    x = heron.tensor([1.0, nan, 3.0])
    assert math.isnan(x.sum().item()) and math.isnan(x.mean().item()) and math.isnan(x.prod().item())
    assert math.isnan(x.max().item()) and math.isnan(x.min().item()) and math.isnan(x.amax().item())
    assert x.argmax().item() == 1 and x.argmin().item() == 1  # NaN wins, as torch
    v, i = x.max(0)
    assert math.isnan(v.item()) and i.item() == 1
    assert math.isnan(x.var().item()) and math.isnan(x.norm().item()) and math.isnan(heron.logsumexp(x, 0).item())
    close_with_nan(x.cumsum(0), [1.0, nan, nan])
    assert bool(heron.tensor([nan]).all()) is True  # NaN is nonzero


def test_nan_propagates_through_elementwise():
    x = heron.tensor([1.0, nan, 3.0])
    two = heron.full((3,), 2.0)
    close_with_nan(heron.maximum(x, two), [2.0, nan, 3.0])
    close_with_nan(heron.minimum(two, x), [1.0, nan, 2.0])
    close_with_nan(heron.relu(x), [1.0, nan, 3.0])
    close_with_nan(heron.clamp(x, 0, 2), [1.0, nan, 2.0])
    close_with_nan(heron.sigmoid(x), [1 / (1 + math.exp(-1)), nan, 1 / (1 + math.exp(-3))])
    assert (x == x).tolist() == [True, False, True] and (x != x).tolist() == [False, True, False]
    close_with_nan(heron.where(heron.tensor([True, False]), heron.tensor([nan, 1.0]), heron.tensor([0.0, nan])), [nan, nan])


def test_sort_and_topk_treat_nan_as_largest():
    v, i = heron.sort(heron.tensor([3.0, nan, 1.0, -inf, inf]))
    close_with_nan(v, [-inf, 1.0, 3.0, inf, nan])
    assert i.tolist() == [3, 2, 0, 4, 1]
    v, i = heron.sort(heron.tensor([3.0, nan, 1.0, -inf, inf]), descending=True)
    close_with_nan(v, [nan, inf, 3.0, 1.0, -inf])
    v, i = heron.topk(heron.tensor([3.0, nan, 1.0]), 2)
    close_with_nan(v, [nan, 3.0])
    assert i.tolist() == [1, 0]


def test_infinities():
    close_with_nan(heron.exp(heron.tensor([inf, -inf, nan, 100.0])), [inf, 0.0, nan, inf])
    close_with_nan(heron.log(heron.tensor([0.0, -1.0, inf])), [-inf, nan, inf])
    close_with_nan(heron.log1p(heron.tensor([-1.0, -2.0])), [-inf, nan])
    close_with_nan(heron.expm1(heron.tensor([100.0, 1000.0, -inf])), [inf, inf, -1.0])
    close_with_nan(heron.sigmoid(heron.tensor([inf, -inf, -100.0, 100.0])), [1.0, 0.0, 1 / (1 + math.exp(100.0)), 1.0])
    close_with_nan(heron.tanh(heron.tensor([inf, -inf, 50.0])), [1.0, -1.0, 1.0])
    close_with_nan(heron.sqrt(heron.tensor([-1.0, 0.0, inf])), [nan, 0.0, inf])
    close_with_nan(heron.rsqrt(heron.tensor([0.0, -0.0, inf, -1.0])), [inf, -inf, 0.0, nan])
    close_with_nan(heron.tensor([1.0, -1.0, 0.0]) / 0, [inf, -inf, nan])
    close_with_nan(heron.tensor([inf]) - heron.tensor([inf]), [nan])
    close_with_nan(heron.tensor([inf, 1.0]).mean(), inf)
    close_with_nan(heron.tensor([inf, 0.0]).prod(), nan)
    close_with_nan(heron.tensor([60000.0], dtype=heron.float16) * 2, [inf])
    F = heron.nn.functional
    close_with_nan(F.gelu(heron.tensor([inf, -inf, nan])), [inf, nan, nan])  # -inf * 0: NaN in torch too
    close_with_nan(F.silu(heron.tensor([inf, -inf, nan])), [inf, nan, nan])
    close_with_nan(F.softplus(heron.tensor([inf, -inf, nan, 100.0, -100.0])), [inf, 0.0, nan, 100.0, math.log1p(math.exp(-100.0))])


def test_softmax_with_infinities():
    close_with_nan(heron.softmax(heron.tensor([0.0, -inf, 1.0]), 0),
                   [1 / (1 + math.e), 0.0, math.e / (1 + math.e)])
    close_with_nan(heron.softmax(heron.tensor([-inf, -inf]), 0), [nan, nan])
    close_with_nan(heron.softmax(heron.tensor([inf, 1.0]), 0), [nan, nan])  # inf - inf, as torch
    close_with_nan(heron.log_softmax(heron.tensor([0.0, -inf]), 0), [0.0, -inf])
    close_with_nan(heron.logsumexp(heron.tensor([-inf, -inf]), 0), -inf)
    close_with_nan(heron.logsumexp(heron.tensor([inf, 1.0]), 0), inf)


def test_abs_clears_the_sign_of_zero():
    x = heron.abs(heron.tensor([-0.0, 0.0]))
    assert [math.copysign(1.0, v) for v in x.tolist()] == [1.0, 1.0]


def test_integer_division_by_zero():
    for call in (lambda: heron.tensor([1]) // 0, lambda: heron.tensor([1]) % 0,
                 lambda: heron.div(heron.tensor([1]), heron.tensor([0]), rounding_mode="trunc"),
                 lambda: heron.fmod(heron.tensor([1]), 0)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            call()
    close_with_nan(heron.tensor([1]) / 0, [inf])  # true division promotes to float
