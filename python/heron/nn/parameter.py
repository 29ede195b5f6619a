"""heron.nn.Parameter: a tensor that a Module registers as one of its learnable parameters."""
from __future__ import annotations

from .._tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter, as ``torch.nn.Parameter``.

    Assigning a Parameter as a Module attribute registers it (it then appears in
    ``parameters()`` and ``state_dict()``). It shares memory with ``data`` and requires grad
    by default. Results of ops on a Parameter are plain Tensors.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            import heron

            data = heron.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        self._a = data.detach()._a  # same memory as data, as torch's Parameter
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.detach(), self.requires_grad))
