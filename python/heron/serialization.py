"""heron.save / heron.load: checkpoints in the safetensors format, never pickle.

A file is an 8-byte little-endian header length, a JSON header (each tensor's dtype, shape and
byte range; ``__metadata__`` of string pairs) padded with spaces to a multiple of 8 bytes, then
the raw little-endian tensor bytes. Any safetensors reader loads the tensors; heron also stores
the nesting of the saved object (dicts with any scalar keys, lists, tuples, Python scalars and
strings around the tensors) as a JSON string under ``__metadata__["heron.structure"]``, so
``heron.load`` returns the object that was saved. Loading parses JSON and copies bytes only, so
a file can never run code. Writes to a path go to a temporary file in the same directory that
replaces the target only when complete.
"""
from __future__ import annotations

import collections
import json
import math
import os
import tempfile

import numpy as np

import heron

__all__ = ["save", "load", "SerializationError"]

_STRUCTURE_KEY = "heron.structure"
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit safetensors itself enforces


class SerializationError(RuntimeError, ValueError):
    """A file that heron.load cannot read: truncated or corrupt, a malformed header, or a dtype
    heron does not have."""


# safetensors dtype tag <-> heron dtype name, and the NumPy layout of the stored bytes
# (bfloat16 is carried as its raw 16-bit patterns).
_TAG_OF_DTYPE = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
                 "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64"}
_DTYPE_OF_TAG = {tag: name for name, tag in _TAG_OF_DTYPE.items()}
_NUMPY_OF_TAG = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "I32": "<i4", "I64": "<i8", "F16": "<f2",
                 "BF16": "<u2", "F32": "<f4", "F64": "<f8"}


# ============================================================================ save
def save(obj, f) -> None:
    """Writes ``obj`` (a tensor, or dicts/lists/tuples nesting tensors, numbers, strings, bools
    and None) to the path or binary file ``f`` in the safetensors format.

    A flat ``{name: tensor}`` dict (a model's ``state_dict``) is stored under its own names, so
    ``safetensors.torch.load_file`` reads it back as the same state_dict.
    """
    tensors: dict[str, heron.Tensor] = {}
    structure = _encode(obj, "", tensors, {})
    payload = _serialize(tensors, {"format": "pt", _STRUCTURE_KEY: json.dumps(structure, allow_nan=False)})
    if hasattr(f, "write"):
        f.write(payload)
        return
    _write_atomically(os.fspath(f), payload)


def _tensor_name(path: str, tensors: dict) -> str:
    name = path or "tensor"
    suffix = 1
    while name in tensors:  # e.g. {"a.b": x, "a": {"b": y}}
        name = f"{path or 'tensor'}#{suffix}"
        suffix += 1
    return name


def _encode(obj, path: str, tensors: dict, name_of_id: dict):
    """The JSON form of ``obj``'s structure; its tensors are collected into ``tensors``.
    Containers and tensors become one-key objects ({"dict": ...}, {"tensor": name}); scalars
    stay JSON scalars (non-finite floats as {"float": "inf"})."""
    if isinstance(obj, heron.Tensor):
        name = name_of_id.get(id(obj))
        if name is None:  # the same tensor saved twice is stored once
            name = _tensor_name(path, tensors)
            tensors[name] = obj
            name_of_id[id(obj)] = name
        node = {"tensor": name}
        if obj.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"float": repr(obj)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not (isinstance(key, (bool, int, float, str)) or key is None):
                raise TypeError(f"heron.save: dict keys must be str, int, float, bool or None, got "
                                f"{type(key).__name__} at '{path}'")
            items.append([_encode(key, path, tensors, name_of_id),
                          _encode(value, _join(path, key), tensors, name_of_id)])
        kind = "ordered_dict" if isinstance(obj, collections.OrderedDict) else "dict"
        return {kind: items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_encode(v, _join(path, i), tensors, name_of_id) for i, v in enumerate(obj)]}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), path, tensors, name_of_id)
    raise TypeError(f"heron.save: cannot save an object of type {type(obj).__name__} at '{path or '<root>'}' "
                    "(supported: tensors, dicts, lists, tuples, numbers, strings, bools and None)")


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _tensor_bytes(t) -> tuple[str, bytes]:
    name = t.dtype._name
    if name == "bfloat16":  # NumPy has no bfloat16: store the top half of the exact float32
        bits = np.ascontiguousarray(t.detach().float().numpy()).view(np.uint32) >> 16
        return "BF16", bits.astype("<u2").tobytes()
    tag = _TAG_OF_DTYPE[name]
    return tag, np.ascontiguousarray(t.detach().numpy()).astype(_NUMPY_OF_TAG[tag], copy=False).tobytes()


def _serialize(tensors: dict, metadata: dict) -> bytes:
    header: dict = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name, t in tensors.items():
        tag, data = _tensor_bytes(t)
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # keeps the data 8-byte aligned
    return b"".join([len(header_bytes).to_bytes(8, "little"), header_bytes, *chunks])


def _write_atomically(path: str, payload: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise


# ============================================================================ load
def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Reads an object written by :func:`save` (or the ``{name: tensor}`` dict of any
    safetensors file) from the path or binary file ``f``. Tensors are CPU tensors;
    ``map_location`` may be None or ``"cpu"``. ``weights_only`` is accepted for torch
    compatibility: loading never runs code whatever its value."""
    if map_location is not None and (callable(map_location) or heron.device(map_location).type != "cpu"):
        raise NotImplementedError(f"heron.load: map_location={map_location!r} is not supported (use None or 'cpu')")
    if hasattr(f, "read"):
        data, source = f.read(), getattr(f, "name", "<file object>")
    else:
        source = os.fspath(f)
        with open(source, "rb") as stream:
            data = stream.read()
    header, data_start = _parse_header(data, source)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SerializationError(f"heron.load: {source}: __metadata__ must map strings to strings")
    tensors = {name: _decode_tensor(name, entry, data, data_start, source) for name, entry in header.items()}
    if _STRUCTURE_KEY not in metadata:
        return tensors
    try:
        structure = json.loads(metadata[_STRUCTURE_KEY])
    except ValueError as e:
        raise SerializationError(f"heron.load: {source}: the stored structure is not valid JSON ({e})") from None
    return _decode(structure, tensors, source)


def _parse_header(data: bytes, source: str):
    if len(data) < 8:
        raise SerializationError(f"heron.load: {source} is not a safetensors file: {len(data)} bytes, shorter than "
                                 "the 8-byte header length")
    header_length = int.from_bytes(data[:8], "little")
    if header_length > _MAX_HEADER_BYTES:
        raise SerializationError(f"heron.load: {source}: header length {header_length} is implausible; the file is "
                                 "corrupt or not a safetensors file")
    if 8 + header_length > len(data):
        raise SerializationError(f"heron.load: {source} is truncated: the header needs {header_length} bytes but "
                                 f"only {len(data) - 8} follow")
    try:
        header = json.loads(data[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SerializationError(f"heron.load: {source}: the header is not valid JSON ({e}); the file is corrupt "
                                 "or not a safetensors file") from None
    if not isinstance(header, dict):
        raise SerializationError(f"heron.load: {source}: the header must be a JSON object")
    return header, 8 + header_length


def _decode_tensor(name: str, entry, data: bytes, data_start: int, source: str):
    where = f"heron.load: {source}: tensor '{name}'"
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise SerializationError(f"{where}: header entry must have dtype, shape and data_offsets")
    tag, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if tag not in _NUMPY_OF_TAG:
        raise SerializationError(f"{where}: unsupported dtype {tag!r} (heron reads "
                                 f"{', '.join(sorted(_NUMPY_OF_TAG))})")
    if not (isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise SerializationError(f"{where}: shape must be a list of non-negative integers, got {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise SerializationError(f"{where}: data_offsets must be [begin, end] with 0 <= begin <= end, got {offsets!r}")
    numpy_dtype = np.dtype(_NUMPY_OF_TAG[tag])
    expected = math.prod(shape) * numpy_dtype.itemsize
    begin, end = data_start + offsets[0], data_start + offsets[1]
    if end - begin != expected:
        raise SerializationError(f"{where}: {tag} {shape} needs {expected} bytes but data_offsets span {end - begin}")
    if end > len(data):
        raise SerializationError(f"{where}: the file is truncated ({len(data)} bytes, the tensor ends at byte {end})")
    array = np.frombuffer(data, dtype=numpy_dtype, count=math.prod(shape), offset=begin).reshape(shape)
    if tag == "BF16":
        as_float = (array.astype(np.uint32) << 16).view(np.float32)
        return heron.from_numpy(as_float).to(heron.bfloat16)
    return heron.from_numpy(array.astype(numpy_dtype.newbyteorder("="), copy=True))


def _decode(node, tensors: dict, source: str):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) >= 1:
        if "tensor" in node:
            name = node["tensor"]
            if name not in tensors:
                raise SerializationError(f"heron.load: {source}: the structure names a tensor '{name}' that the "
                                         "file does not hold")
            t = tensors[name]
            return t.requires_grad_(True) if node.get("requires_grad") else t
        (kind, value), = node.items() if len(node) == 1 else [(None, None)]
        if kind == "float" and value in ("inf", "-inf", "nan"):
            return float(value)
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [_decode(v, tensors, source) for v in value]
            return tuple(items) if kind == "tuple" else items
        if kind in ("dict", "ordered_dict") and isinstance(value, list) and all(
                isinstance(pair, list) and len(pair) == 2 for pair in value):
            pairs = ((_decode(k, tensors, source), _decode(v, tensors, source)) for k, v in value)
            return collections.OrderedDict(pairs) if kind == "ordered_dict" else dict(pairs)
    raise SerializationError(f"heron.load: {source}: the stored structure has an unknown node {str(node)[:80]!r}")
