"""Test support for heron: the op database, tensor factories, references and gradient checks.

The library never imports this package; tests and benchmarks do.
"""
from .gradcheck import check_vjp_random_direction, torch_vjp, vjp
from .opdb import ErrorInput, KnownFailure, OpInfo, SampleInput, op_db, ops_by_name
from .torch_errors import assert_fails_like_torch
from .tensors import (ALL_DTYPES, FLOATS, INTS, LAYOUTS, TOLERANCES, assert_close, from_values, make_tensor, to_numpy,
                      to_torch, tolerance)

__all__ = ["OpInfo", "SampleInput", "ErrorInput", "KnownFailure", "op_db", "ops_by_name", "make_tensor", "from_values", "to_numpy",
           "to_torch", "assert_close", "tolerance", "TOLERANCES", "FLOATS", "INTS", "ALL_DTYPES", "LAYOUTS",
           "check_vjp_random_direction", "vjp", "torch_vjp", "assert_fails_like_torch"]
