"""Shared fixtures: a deterministic NumPy generator per test, and checks that a test leaves
heron's global state (grad mode, default dtype, thread count, ISA level) as it found it."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import heron


def seed_for(*parts) -> int:
    """A stable seed from names (same seed on every run and machine)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def pytest_configure(config):
    # torch's advice on degenerate cases that the op database covers on purpose.
    for pattern in (".*degrees of freedom is <= 0", "The reduce argument of torch.scatter", "Using a target size",
                    "reduction. 'mean' divides the total loss"):
        config.addinivalue_line("filterwarnings", f"ignore:{pattern}:UserWarning")


@pytest.fixture(params=list(heron._C.compiled_capabilities()))
def level(request):
    """Runs the test at every compiled CPU kernel level (skipped where this CPU cannot run it),
    then restores the level it found."""
    original = heron._C.cpu_capability()
    got = heron._C.set_cpu_capability(request.param)
    try:
        if got != request.param:
            pytest.skip(f"this CPU cannot run {request.param} kernels (capped at {got})")
        assert heron._C.cpu_capability() == request.param
        yield request.param
    finally:
        heron._C.set_cpu_capability(original)


@pytest.fixture
def rng(request):
    return np.random.default_rng(seed_for(request.node.nodeid))


@pytest.fixture(autouse=True)
def _global_state_is_restored():
    before = (heron.is_grad_enabled(), heron.get_default_dtype(), heron.get_num_threads(), heron._C.cpu_capability())
    yield
    after = (heron.is_grad_enabled(), heron.get_default_dtype(), heron.get_num_threads(), heron._C.cpu_capability())
    if after != before:
        heron.set_grad_enabled(before[0])
        heron.set_default_dtype(before[1])
        heron.set_num_threads(before[2])
        heron._C.set_cpu_capability(before[3])
        pytest.fail(f"test changed heron's global state: {before} -> {after}")
