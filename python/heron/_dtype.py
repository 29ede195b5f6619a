"""heron's dtypes and devices, mirroring torch.dtype and torch.device."""
from __future__ import annotations

import numpy as np


class dtype:
    """An element type. Compare with ``is`` or ``==``: there is one object per type."""

    __slots__ = ("_code", "_name", "is_floating_point", "is_signed", "itemsize", "_np")

    def __init__(self, code: int, name: str, is_float: bool, is_signed: bool, itemsize: int, np_type):
        self._code = code
        self._name = name
        self.is_floating_point = is_float
        self.is_signed = is_signed
        self.itemsize = itemsize
        self._np = np_type

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"heron.{self._name}"

    def __reduce__(self):
        return (_dtype_by_name, (self._name,))

    def to_numpy(self):
        if self._np is None:
            raise TypeError(f"{self!r} has no NumPy equivalent")
        return np.dtype(self._np)


# Codes match heron::DType in csrc/core/dtype.h.
bool_ = dtype(0, "bool", False, False, 1, np.bool_)
uint8 = dtype(1, "uint8", False, False, 1, np.uint8)
int8 = dtype(2, "int8", False, True, 1, np.int8)
int16 = dtype(3, "int16", False, True, 2, np.int16)
int32 = dtype(4, "int32", False, True, 4, np.int32)
int64 = dtype(5, "int64", False, True, 8, np.int64)
float16 = dtype(6, "float16", True, True, 2, np.float16)
bfloat16 = dtype(7, "bfloat16", True, True, 2, None)
float32 = dtype(8, "float32", True, True, 4, np.float32)
float64 = dtype(9, "float64", True, True, 8, np.float64)

DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NAME = {d._name: d for d in DTYPES}


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_code(code: int) -> dtype:
    return DTYPES[code]


_NUMPY_TO_DTYPE = {np.dtype(d._np): d for d in DTYPES if d._np is not None}


def from_numpy_dtype(np_dtype) -> dtype:
    try:
        return _NUMPY_TO_DTYPE[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def as_dtype(value) -> dtype:
    """Accepts a heron dtype, a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(value, dtype):
        return value
    if value is float:
        return float64
    if value is int:
        return int64
    if value is bool:
        return bool_
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    try:
        return from_numpy_dtype(value)
    except TypeError:
        raise TypeError(f"expected a heron dtype, got {value!r}") from None


class device:
    """Where a tensor lives: ``device('cpu')``, ``device('cuda', 0)`` or ``device('cuda:0')``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string, got {type!r}")
        if ":" in type:
            if index is not None:
                raise ValueError("device(): specify the index in the string or as an argument, not both")
            type, idx = type.split(":", 1)
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'") from None
        if type not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")
