"""The same call with torch and with heron: heron must fail exactly where torch fails, with an
instance of torch's exception type (so ``except`` clauses written for torch keep working)."""
from __future__ import annotations

import warnings


def assert_fails_like_torch(call):
    """Runs ``call(functional, lib)`` with (torch.nn.functional, torch), then with
    (heron.nn.functional, heron), warnings silenced. Where torch raises, heron must raise an
    instance of the same type; where torch accepts the call, heron must accept it too and
    return a result of the same shape."""
    import torch

    import heron

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = call(torch.nn.functional, torch)
        except Exception as error:  # noqa: BLE001 - any exception type is the expectation
            _assert_raises(call, heron, type(error), error)
            return
        got = call(heron.nn.functional, heron)
    assert tuple(got.shape) == tuple(expected.shape), (f"heron gives shape {tuple(got.shape)}, torch "
                                                       f"{tuple(expected.shape)}")


def _assert_raises(call, heron, expected_type, expected):
    try:
        call(heron.nn.functional, heron)
    except Exception as error:  # noqa: BLE001
        assert isinstance(error, expected_type), (f"heron raised {type(error).__name__}: {error}; torch raised "
                                                  f"{expected_type.__name__}: {expected}")
        return
    raise AssertionError(f"heron accepts a call that torch rejects with {expected_type.__name__}: {expected}")
