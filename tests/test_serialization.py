"""heron.save / heron.load: round trips of tensors and nested objects, the safetensors layout,
atomic writes, clear errors on damaged files, and interop with the safetensors package and
torch when they are importable."""
from __future__ import annotations

import collections
import io
import json
import math
import os

import numpy as np
import pytest

import heron
from heron.serialization import SerializationError

ALL_DTYPES = [heron.bool, heron.uint8, heron.int8, heron.int16, heron.int32, heron.int64, heron.float16,
              heron.bfloat16, heron.float32, heron.float64]


def _sample(dtype, shape=(3, 4)):
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) - 5
    if dtype is heron.bool:
        return heron.tensor(values > 0)
    return heron.tensor(values * (0.5 if dtype.is_floating_point else 1)).to(dtype)


def _same(a, b):
    return a.dtype is b.dtype and a.shape == b.shape and a.float().tolist() == b.float().tolist()


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d._name)
def test_tensor_round_trip_every_dtype(dtype, tmp_path):
    t = _sample(dtype)
    heron.save(t, tmp_path / "t.safetensors")
    assert _same(heron.load(tmp_path / "t.safetensors"), t)


def test_special_shapes_and_strided_tensors(tmp_path):
    objects = {"scalar": heron.tensor(2.5), "empty": heron.zeros(0, 3), "transposed": _sample(heron.float32).t(),
               "sliced": heron.arange(10)[::3]}
    heron.save(objects, tmp_path / "x.safetensors")
    loaded = heron.load(tmp_path / "x.safetensors")
    for name, t in objects.items():
        assert _same(loaded[name], t), name
    assert loaded["transposed"].is_contiguous()


def test_nested_structures_round_trip(tmp_path):
    shared = heron.ones(2)
    obj = {
        "state": {0: {"step": heron.tensor(3.0), "exp_avg": shared}, 1: {"momentum_buffer": None}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False, "name": "g",
                          "limits": [float("inf"), -float("inf")]}],
        "again": shared,
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        2.5: "float key", None: "none key", True: "bool key",
        "numpy_scalar": np.float32(1.5),
    }
    heron.save(obj, tmp_path / "n.safetensors")
    loaded = heron.load(tmp_path / "n.safetensors")
    assert loaded["param_groups"] == obj["param_groups"]
    assert isinstance(loaded["param_groups"][0]["betas"], tuple)
    assert list(loaded["state"]) == [0, 1] and loaded["state"][1] == {"momentum_buffer": None}
    assert _same(loaded["state"][0]["exp_avg"], shared)
    assert loaded["again"] is loaded["state"][0]["exp_avg"]  # one tensor saved twice is stored once
    assert isinstance(loaded["ordered"], collections.OrderedDict) and list(loaded["ordered"]) == ["b", "a"]
    assert loaded[2.5] == "float key" and loaded[None] == "none key" and loaded[True] == "bool key"
    assert loaded["numpy_scalar"] == 1.5
    nan = heron.load(_saved({"x": float("nan")}, tmp_path))["x"]
    assert math.isnan(nan)


def _saved(obj, tmp_path, name="obj.safetensors"):
    heron.save(obj, tmp_path / name)
    return tmp_path / name


def test_requires_grad_is_kept(tmp_path):
    w = heron.randn(2, 2, requires_grad=True)
    loaded = heron.load(_saved({"w": w, "b": heron.zeros(2)}, tmp_path))
    assert loaded["w"].requires_grad and loaded["w"].is_leaf and not loaded["b"].requires_grad


def test_flat_state_dict_uses_its_own_names_in_the_header(tmp_path):
    path = _saved({"0.weight": heron.ones(2, 3), "0.bias": heron.zeros(2)}, tmp_path)
    raw = path.read_bytes()
    header_length = int.from_bytes(raw[:8], "little")
    assert header_length % 8 == 0
    header = json.loads(raw[8:8 + header_length])
    assert header["0.weight"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["0.bias"]["data_offsets"] == [24, 32]
    assert header["__metadata__"]["format"] == "pt"
    assert len(raw) == 8 + header_length + 32


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    heron.save({"a": heron.arange(3)}, buffer)
    buffer.seek(0)
    assert heron.load(buffer)["a"].tolist() == [0, 1, 2]


def test_save_is_atomic(tmp_path, monkeypatch):
    path = _saved({"a": heron.ones(3)}, tmp_path)
    original = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        heron.save({"a": heron.zeros(1000)}, path)
    assert path.read_bytes() == original  # the old checkpoint is intact
    assert os.listdir(tmp_path) == [path.name]  # and no temporary file is left behind


def test_map_location_and_weights_only(tmp_path):
    path = _saved(heron.ones(2), tmp_path)
    assert heron.load(path, map_location="cpu", weights_only=False).tolist() == [1.0, 1.0]
    with pytest.raises(NotImplementedError, match="map_location"):
        heron.load(path, map_location=lambda storage, location: storage)


# ---------------------------------------------------------------------------- bad input
def test_unsupported_objects_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="cannot save an object of type set at 'a.b'"):
        heron.save({"a": {"b": {1, 2}}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="dict keys must be"):
        heron.save({(1, 2): heron.ones(1)}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


def _write_raw(tmp_path, header, data=b"", header_bytes=None):
    header_bytes = header_bytes if header_bytes is not None else json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(len(header_bytes).to_bytes(8, "little") + header_bytes + data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _write_bytes(p, b"abc"), "shorter than the 8-byte header length"),
    (lambda p: _write_bytes(p, (10 ** 12).to_bytes(8, "little")), "header length .* is implausible"),
    (lambda p: _write_bytes(p, (64).to_bytes(8, "little") + b"{}"), "is truncated"),
    (lambda p: _write_raw(p.parent, None, header_bytes=b"{not json"), "not valid JSON"),
    (lambda p: _write_raw(p.parent, [1, 2]), "must be a JSON object"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F32"}}), "must have dtype, shape and data_offsets"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
     "unsupported dtype 'F8_E4M3'"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "shape must be a list of non-negative integers"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F32", "shape": [2], "data_offsets": [4, 0]}}, b"\0" * 8),
     "data_offsets must be"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "needs 12 bytes"),
    (lambda p: _write_raw(p.parent, {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
     "the file is truncated"),
    (lambda p: _write_raw(p.parent, {"__metadata__": {"heron.structure": "{bad"}}), "structure is not valid JSON"),
    (lambda p: _write_raw(p.parent, {"__metadata__": {"heron.structure": '{"tensor": "gone"}'}}),
     "names a tensor 'gone'"),
    (lambda p: _write_raw(p.parent, {"__metadata__": {"heron.structure": '{"mystery": 1}'}}), "unknown node"),
    (lambda p: _write_raw(p.parent, {"__metadata__": {"a": 1}}), "__metadata__ must map strings to strings"),
])
def test_damaged_files_raise_serialization_error(make, message, tmp_path):
    path = make(tmp_path / "bad.safetensors")
    with pytest.raises(SerializationError, match=message):
        heron.load(path)


def test_truncated_checkpoint_is_detected(tmp_path):
    path = _saved({"w": heron.randn(16, 16)}, tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SerializationError, match="truncated") as info:
        heron.load(path)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    assert heron.SerializationError is SerializationError


# ---------------------------------------------------------------------------- interop
def test_safetensors_package_reads_and_writes_our_files(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    ours = {"w": _sample(heron.float32), "i": _sample(heron.int64), "h": _sample(heron.float16)}
    path = _saved(ours, tmp_path)
    theirs = safetensors_numpy.load_file(str(path))
    for name, t in ours.items():
        np.testing.assert_array_equal(theirs[name], t.numpy())
    safetensors_numpy.save_file({"a": np.arange(6, dtype=np.int32).reshape(2, 3)}, str(tmp_path / "np.safetensors"))
    assert heron.load(tmp_path / "np.safetensors")["a"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_state_dict_round_trips_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    # torch -> heron
    safetensors_torch.save_file(model.state_dict(), str(tmp_path / "torch.safetensors"))
    loaded = heron.load(tmp_path / "torch.safetensors")
    assert sorted(loaded) == sorted(model.state_dict())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[name].numpy(), value.numpy())
    # heron -> torch (including a bfloat16 tensor)
    ours = {name: heron.tensor(value.numpy()) * 2 for name, value in model.state_dict().items()}
    heron.save(ours, tmp_path / "heron.safetensors")
    model.load_state_dict(safetensors_torch.load_file(str(tmp_path / "heron.safetensors")))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ours[name].numpy())
    heron.save({"b": heron.tensor([1.5, -2.25], dtype=heron.bfloat16)}, tmp_path / "bf16.safetensors")
    b = safetensors_torch.load_file(str(tmp_path / "bf16.safetensors"))["b"]
    assert b.dtype == torch.bfloat16 and b.tolist() == [1.5, -2.25]


def test_module_state_dict_round_trips_between_heron_and_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    if not hasattr(heron.nn, "Linear"):
        pytest.skip("heron.nn.Linear is not available yet")
    ours = heron.nn.Sequential(heron.nn.Linear(4, 3), heron.nn.ReLU(), heron.nn.Linear(3, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    heron.save(ours.state_dict(), tmp_path / "heron.safetensors")
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "heron.safetensors")))
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours(heron.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)

    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    safetensors_torch.save_file(fresh.state_dict(), str(tmp_path / "torch.safetensors"))
    ours.load_state_dict(heron.load(tmp_path / "torch.safetensors"))
    np.testing.assert_allclose(fresh(torch.tensor(x)).detach().numpy(), ours(heron.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
