"""CUDA device queries. A build without CUDA, or a machine without a GPU, reports no device;
asking for one raises a clear RuntimeError."""
from __future__ import annotations

from . import _C


def is_available() -> bool:
    return bool(_C.cuda_is_available())


def device_count() -> int:
    return int(_C.cuda_device_count())


def is_built() -> bool:
    return bool(_C.cuda_compiled())


def _lazy_check():
    if not _C.cuda_compiled():
        raise RuntimeError("heron was built without CUDA: rebuild with HERON_CUDA=ON to use the GPU")
    if not is_available():
        raise RuntimeError("Found no NVIDIA driver or CUDA device on your system: heron.cuda.is_available() is False")
    raise NotImplementedError("heron's CUDA tensors are not available yet: tensors live on the CPU in this release")


def synchronize(device=None) -> None:
    _lazy_check()


def manual_seed(seed) -> None:
    """Accepted for torch compatibility; CUDA shares the CPU generator in this release."""


manual_seed_all = manual_seed
