"""Error inputs of the op database: heron raises the documented exception, and the same call
in torch raises that type too (so ``except`` clauses written for torch keep working)."""
from __future__ import annotations

import builtins
import zlib

import numpy as np
import pytest

from heron.testing.opdb import op_db
from heron.testing.tensors import to_torch_structure


def _error_cases():
    """One case per error input (built once at collection; they are small)."""
    cases = []
    for op in op_db:
        rng = np.random.default_rng(zlib.crc32(op.name.encode()))
        for i, err in enumerate(op.error_inputs(rng)):
            marks = [pytest.mark.xfail(strict=True, reason=err.xfail)] if err.xfail else []
            cases.append(pytest.param(op, err, id=f"{op.name}-{i}", marks=marks))
    return cases


ERROR_CASES = _error_cases()


def builtin_type(exc):
    """The most derived builtin exception class of ``exc`` (torch has its own subclasses)."""
    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls
    return Exception


@pytest.mark.parametrize("op, err", ERROR_CASES)
def test_error_input_raises(op, err):
    s = err.sample
    with pytest.raises(err.exc_type, match=err.match or None):
        op.op(*s.args, **s.kwargs)


@pytest.mark.parametrize("op, err", ERROR_CASES)
def test_torch_raises_the_same_type(op, err):
    pytest.importorskip("torch")
    s = err.sample
    args, kwargs = to_torch_structure(s.args), to_torch_structure(s.kwargs)
    with pytest.raises(Exception) as torch_info:
        op.get_torch_op()(*args, **kwargs)
    assert isinstance(torch_info.value, err.exc_type), (
        f"{op.name} {s}: torch raises {type(torch_info.value).__name__} ({torch_info.value}), "
        f"the op database says {err.exc_type.__name__}")
    # heron's exception must be an instance of the (builtin) type torch raised.
    expected = builtin_type(torch_info.value)
    try:
        op.op(*s.args, **s.kwargs)
    except Exception as e:  # noqa: BLE001 - compared with torch's type below
        assert isinstance(e, expected), f"{op.name} {s}: heron raises {type(e).__name__} ({e}); torch raises {expected.__name__}"
    else:
        pytest.fail(f"{op.name} {s}: heron raised nothing")
