"""heron.nn.functional: activations, softmax and their torch keyword arguments."""
from __future__ import annotations

from ..ops import elementwise as _ew
from ..ops import reduce as _red


def _act(name, input, inplace, p0=0.0, p1=0.0):
    if inplace:
        return _ew.unary_(name, input, p0, p1)
    return _ew.unary(name, input, p0, p1)


def relu(input, inplace=False):
    return _act("relu", input, inplace)


def relu_(input):
    return relu(input, True)


def relu6(input, inplace=False):
    return _act("relu6", input, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _act("leaky_relu", input, inplace, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def elu(input, alpha=1.0, inplace=False):
    return _act("elu", input, inplace, alpha, 1.0)


def celu(input, alpha=1.0, inplace=False):
    return elu(input / alpha, 1.0) * alpha if not inplace else _ew._copy_into(input, elu(input / alpha, 1.0) * alpha)


def selu(input, inplace=False):
    return _act("selu", input, inplace)


def gelu(input, approximate="none"):
    if approximate == "none":
        return _ew.unary("gelu", input)
    if approximate == "tanh":
        return _ew.unary("gelu_tanh", input)
    raise RuntimeError(f"approximate argument must be either none or tanh, got '{approximate}'")


def silu(input, inplace=False):
    return _act("silu", input, inplace)


def mish(input, inplace=False):
    return _act("mish", input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    return _ew.unary("softplus", input, beta, threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act("hardtanh", input, inplace, min_val, max_val)


def hardsigmoid(input, inplace=False):
    return _act("hardsigmoid", input, inplace)


def hardswish(input, inplace=False):
    return _act("hardswish", input, inplace)


def logsigmoid(input):
    return _ew.unary("logsigmoid", input)


def sigmoid(input):
    return _ew.sigmoid(input)


def tanh(input):
    return _ew.tanh(input)


def softsign(input):
    return input / (_ew.abs(input) + 1.0)


def tanhshrink(input):
    return input - _ew.tanh(input)


def threshold(input, threshold, value, inplace=False):
    out = _ew.where(input > threshold, input, value)
    return _ew._copy_into(input, out) if inplace else out


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.log_softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(-input, dim, dtype)


def glu(input, dim=-1):
    a, b = input.chunk(2, dim)
    return a * _ew.sigmoid(b)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = _ew.clamp_min(_red.norm(input, p, dim, keepdim=True), eps)
    return input / denom


def one_hot(tensor, num_classes=-1):
    from ..ops.indexing import one_hot as _one_hot

    return _one_hot(tensor, num_classes)
