"""Flattening parameters into one vector and back, as torch.nn.utils.convert_parameters."""
from __future__ import annotations

import heron


def parameters_to_vector(parameters):
    """All ``parameters`` flattened and concatenated into one 1-D tensor (a copy)."""
    return heron.cat([param.view(-1) for param in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Points each parameter's data at its slice of ``vec`` (in order), as torch does: the
    parameters then share memory with ``vec``."""
    if not isinstance(vec, heron.Tensor):
        raise TypeError(f"expected heron.Tensor, but got: {type(vec).__module__}.{type(vec).__qualname__}")
    pointer = 0
    for param in parameters:
        count = param.numel()
        param.data = vec[pointer:pointer + count].view_as(param).data
        pointer += count
