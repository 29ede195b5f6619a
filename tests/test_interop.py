"""Interop with NumPy and torch: from_numpy/numpy/__array__ share memory, the buffer protocol,
and DLPack in both directions."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import heron
from heron.testing.tensors import ALL_DTYPES

NUMPY_DTYPES = [d for d in ALL_DTYPES if d is not heron.bfloat16]


# ---------------------------------------------------------------------------- NumPy
@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: d._name)
def test_from_numpy_shares_memory_both_ways(dtype):
    a = (np.arange(6) % 2 if dtype is heron.bool else np.arange(6)).astype(dtype.to_numpy()).reshape(2, 3)
    t = heron.from_numpy(a)
    assert t.dtype is dtype and t.shape == (2, 3) and t.data_ptr() == a.ctypes.data
    a[0, 0] = 1
    assert t[0, 0].item() == 1
    t[1, 2] = 0
    assert a[1, 2] == 0
    assert t.numpy() is not a and np.shares_memory(t.numpy(), a)


def test_from_numpy_keeps_strides_and_the_array_alive():
    base = np.arange(24.0).reshape(4, 6)
    view = base[::2, 1::2]
    t = heron.from_numpy(view)
    assert t.shape == (2, 3) and t.stride() == (12, 2)
    assert t.tolist() == view.tolist()
    tt = heron.from_numpy(base.T)
    assert tt.stride() == (1, 6) and not tt.is_contiguous()
    t.add_(100)
    assert base[0, 1] == 101
    del base, view
    assert t[0, 0].item() == 101.0  # the tensor keeps NumPy's buffer alive


def test_from_numpy_rejects_what_torch_rejects():
    with pytest.raises(TypeError):
        heron.from_numpy(np.zeros(2, dtype=np.complex64))
    with pytest.raises(TypeError):
        heron.from_numpy([1, 2])
    with pytest.raises(ValueError):
        heron.from_numpy(np.arange(4.0)[::-1])  # negative strides


def test_numpy_shares_memory():
    t = heron.zeros(2, 3)
    a = t.numpy()
    t.fill_(4)
    assert (a == 4).all()
    a[0, 1] = -1
    assert t[0, 1].item() == -1
    v = t.t().numpy()
    assert v.shape == (3, 2) and v.strides == (4, 12)


def test_array_protocol():
    t = heron.arange(6.0).reshape(2, 3)
    a = np.asarray(t)
    assert a.dtype == np.float32 and np.shares_memory(a, t.numpy())
    c = np.array(t)
    assert not np.shares_memory(c, t.numpy()) and c.tolist() == t.tolist()
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.add.reduce(np.asarray(t), axis=None) == 15.0
    assert np.asarray(heron.tensor(3)).shape == ()
    with pytest.raises(TypeError):
        np.asarray(heron.ones(2, dtype=heron.bfloat16))


def test_tensor_and_as_tensor_from_numpy():
    a = np.arange(4, dtype=np.int32)
    copied = heron.tensor(a)
    shared = heron.as_tensor(a)
    a[0] = 9
    assert copied[0].item() == 0 and shared[0].item() == 9 and copied.dtype is heron.int32
    assert heron.as_tensor(a, dtype=heron.float32).dtype is heron.float32
    assert heron.tensor(np.float32(2.5)).dtype is heron.float32 and heron.tensor(np.int64(3)).item() == 3


def _buffer(t):
    if sys.version_info >= (3, 12):
        return memoryview(t)
    return t.__buffer__(0)  # PEP 688's method, called directly where memoryview() cannot


def test_buffer_protocol():
    t = heron.arange(6, dtype=heron.int32).reshape(2, 3)
    m = _buffer(t)
    assert m.shape == (2, 3) and m.itemsize == 4 and m.format in ("i", "=i", "<i") and m.tolist() == t.tolist()
    a = np.asarray(m)
    a[1, 1] = 42
    assert t[1, 1].item() == 42
    s = _buffer(heron.arange(8.0)[::2])
    assert s.strides == (8,) and s.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_memoryview_of_tensor():
    if sys.version_info < (3, 12):
        pytest.skip("memoryview(obj) uses __buffer__ from Python 3.12")
    t = heron.ones(3)
    assert memoryview(t).tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------- DLPack
def test_dlpack_with_numpy():
    t = heron.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and np.shares_memory(a, t.numpy())
    b = np.arange(4, dtype=np.int16)
    h = heron.from_dlpack(b)
    assert h.dtype is heron.int16 and h.tolist() == [0, 1, 2, 3]
    b[2] = 7
    assert h[2].item() == 7
    assert t.__dlpack_device__() == (1, 0)


def test_dlpack_refuses_tensors_that_require_grad():
    with pytest.raises(RuntimeError, match="require"):
        heron.ones(2, requires_grad=True).__dlpack__()


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d._name)
def test_dlpack_to_torch_shares_memory(dtype):
    torch = pytest.importorskip("torch")
    h = heron.arange(6).reshape(2, 3).to(dtype)
    t = torch.from_dlpack(h)
    assert t.dtype == getattr(torch, dtype._name) and tuple(t.shape) == (2, 3)
    assert t.data_ptr() == h.data_ptr()
    assert t.float().tolist() == h.float().tolist()
    h.fill_(1)
    assert bool((t == 1).all())


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d._name)
def test_dlpack_from_torch_shares_memory(dtype):
    torch = pytest.importorskip("torch")
    t = torch.arange(6).reshape(2, 3).to(getattr(torch, dtype._name))
    h = heron.from_dlpack(t)
    assert h.dtype is dtype and h.shape == (2, 3) and h.data_ptr() == t.data_ptr()
    t.fill_(1)
    assert h.float().tolist() == [[1.0] * 3] * 2
    h2 = heron.from_dlpack(t.__dlpack__())  # a raw capsule works too
    assert h2.shape == (2, 3)


def test_dlpack_strides_and_edge_shapes():
    torch = pytest.importorskip("torch")
    h = heron.arange(12.0).reshape(3, 4).t()[1:]
    t = torch.from_dlpack(h)
    assert tuple(t.shape) == (3, 3) and t.stride() == h.stride() and t.tolist() == h.tolist()
    back = heron.from_dlpack(torch.arange(12.0).reshape(3, 4)[:, ::2])
    assert back.stride() == (4, 2) and back.tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]
    assert torch.from_dlpack(heron.tensor(2.5)).item() == 2.5
    assert tuple(torch.from_dlpack(heron.zeros(0, 3)).shape) == (0, 3)
    assert heron.from_dlpack(torch.zeros(2, 0)).shape == (2, 0)


def test_dlpack_round_trip_keeps_data_alive():
    torch = pytest.importorskip("torch")
    h = heron.from_dlpack(torch.arange(5.0))
    import gc

    gc.collect()
    assert h.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
