"""heron: a deep-learning library with hand-written C++ kernels and PyTorch's API."""
from __future__ import annotations

import os as _os

# OpenMP workers spin ~300k iterations (libgomp's default) before sleeping, which steals the
# core from whatever else runs on a shared or oversubscribed machine (a 2-thread op then waits
# on a descheduled worker: measured 8 ms instead of 0.09 ms). A short spin keeps most of the
# wake-up speed. Read once when the OpenMP runtime starts, so set before loading _C; an
# explicit OMP_WAIT_POLICY or GOMP_SPINCOUNT from the user wins.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from . import _C  # noqa: E402
from ._dtype import (bfloat16, bool_ as bool, device, dtype, float16, float32, float64, int8, int16, int32, int64,
                     uint8)
from ._tensor import Size, Tensor, is_tensor
from . import _tensor_methods  # noqa: F401  (binds ops as Tensor methods)
from . import autograd, cuda, ops
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .ops import *  # noqa: F401,F403
from .ops.linalg import _addmm_activation  # noqa: F401  (torch._addmm_activation)
from .ops.creation import range_ as _range  # noqa: F401
from ._format import set_printoptions

ShapeError = _C.ShapeError
OutOfMemoryError = _C.OutOfMemoryError

# torch's aliases.
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

__version__ = "0.1.0"


def set_default_dtype(d) -> None:
    """Sets the dtype of floating-point tensors made from Python floats (float32 or float64)."""
    from ._dtype import as_dtype

    _C.set_default_dtype(as_dtype(d)._code)


def get_default_dtype() -> dtype:
    from ._dtype import from_code

    return from_code(_C.get_default_dtype())


def set_num_threads(n: int) -> None:
    """Number of threads kernels use (results do not depend on it)."""
    if not isinstance(n, type(0)) or n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    _C.set_num_threads(n)


def get_num_threads() -> int:
    return _C.get_num_threads()


def is_floating_point(t) -> bool:
    return t.is_floating_point()


def numel(t) -> int:
    return t.numel()


def promote_types(type1, type2):
    from ._dtype import from_code

    return from_code(_C.promote_types(type1._code, type2._code))


def result_type(tensor1, tensor2):
    from ._dtype import from_code

    a = tensor1._a if isinstance(tensor1, Tensor) else tensor1
    b = tensor2._a if isinstance(tensor2, Tensor) else tensor2
    return from_code(_C.result_type(a, b))


def can_cast(from_, to) -> bool:
    from .ops.elementwise import _can_cast

    return _can_cast(from_, to)


from .serialization import SerializationError, load, save  # noqa: E402

# The training toolkit (heron.nn, heron.optim, heron.utils) loads on first use: `import heron`
# then costs little more than NumPy's own import, and `heron.nn`, `from heron import nn` and
# `import heron.nn` all work as if it had been imported here.
_LAZY_SUBMODULES = ("nn", "optim", "utils")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'heron' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
