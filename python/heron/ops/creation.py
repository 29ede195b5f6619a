"""Tensor creation (tensor, from_numpy, zeros, arange, ...) and random numbers.

Random numbers come from a counter-based Philox stream keyed by (seed, offset): the same seed
gives the same numbers on any thread count, and each call advances the offset by the draws it
used.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _C
from .._dtype import DTYPES, as_dtype, bool_, dtype as _dtype_cls, float32, float64, from_code, from_numpy_dtype, int64
from .._tensor import Tensor
from ._util import shape_arg, wrap

_RANDOM = _C.RANDOM


def _default_float():
    return from_code(_C.get_default_dtype())


def _infer_dtype(data):
    """torch.tensor's inference: bools -> bool, ints -> int64, floats -> default float."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, np.ndarray):
        return from_numpy_dtype(data.dtype)
    if isinstance(data, np.generic):
        return from_numpy_dtype(data.dtype)
    arr = np.asarray(data)
    kind = arr.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int64
    if kind == "f":
        return _default_float()
    if kind in "OUS":
        _raise_for_non_number(data)
    raise TypeError(f"tensor(): unsupported data of NumPy kind '{kind}'")


def _raise_for_non_number(data):
    """torch's errors for data that is not numbers: TypeError for text, RuntimeError otherwise."""
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        elif isinstance(x, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        elif not isinstance(x, (numbers.Number, np.generic, np.ndarray, Tensor)):
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")
    raise TypeError(f"tensor(): could not infer dtype of {type(data).__name__}")


def _array_from_data(data, dtype):
    """A new contiguous Array holding ``data`` (numbers, nested sequences, arrays, tensors)."""
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        return _C.cast(_C.clone(data._a), dtype._code) if data.dtype is not dtype else _C.clone(data._a)
    if isinstance(data, (list, tuple)) and any(isinstance(e, Tensor) for e in _flatten_first(data)):
        data = _tensors_to_nested(data)
    if isinstance(data, numbers.Number) and not isinstance(data, np.generic):
        return _C.scalar(data, dtype._code)
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"tensor(): {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor(): can't convert data of NumPy dtype {arr.dtype} to a tensor")
    if dtype._np is None:  # bfloat16: go through float32
        src = _C.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        return _C.cast(src, dtype._code)
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values become inf, as in torch
        arr = np.array(arr, dtype=dtype._np, copy=True, order="C")
    return _C.from_numpy(arr)


def _flatten_first(data):
    x = data
    while isinstance(x, (list, tuple)) and x:
        if any(isinstance(e, Tensor) for e in x):
            return x
        x = x[0]
    return []


def _tensors_to_nested(data):
    if isinstance(data, Tensor):
        return data.detach().numpy() if data.dtype._np is not None else data.float().detach().numpy()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_nested(d) for d in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor copying ``data``, as torch.tensor."""
    _check_cpu(device)
    dt = as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    t = wrap(_array_from_data(data, dt))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Shares memory with a tensor or NumPy array when dtype allows, else copies."""
    _check_cpu(device)
    if isinstance(data, Tensor):
        return data if dtype is None or as_dtype(dtype) is data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype).to_numpy() == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


asarray = as_tensor


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return wrap(_C.from_numpy(ndarray))


def from_dlpack(ext_tensor):
    """Imports a tensor from any object with ``__dlpack__`` (or a DLPack capsule), sharing memory."""
    if hasattr(ext_tensor, "__dlpack__"):
        try:
            capsule = ext_tensor.__dlpack__()
        except TypeError:
            capsule = ext_tensor.__dlpack__(stream=None)
    else:
        capsule = ext_tensor
    return wrap(_C.from_dlpack(capsule))


def _check_cpu(device):
    if device is None:
        return
    from .._dtype import device as _device

    d = _device(device) if not isinstance(device, _device) else device
    if d.type != "cpu":
        from .. import cuda

        cuda._lazy_check()


def _resolve(dtype, default=None):
    if dtype is None:
        return default if default is not None else _default_float()
    return as_dtype(dtype)


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, memory_format=None, pin_memory=False, layout=None):
    _check_cpu(device)
    return _finish(wrap(_C.empty(shape_arg(size), _resolve(dtype)._code)), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    return _finish(wrap(_C.full(shape_arg(size), 0, _resolve(dtype)._code)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    return _finish(wrap(_C.full(shape_arg(size), 1, _resolve(dtype)._code)), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else (int64 if isinstance(fill_value, numbers.Integral) else _default_float())
    return _finish(wrap(_C.full(shape_arg((size,)), fill_value, as_dtype(dtype)._code)), requires_grad)


def _like(input, dtype):
    return as_dtype(dtype) if dtype is not None else input.dtype


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return _finish(wrap(_C.empty(list(input.shape), _like(input, dtype)._code)), requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return _finish(wrap(_C.full(list(input.shape), 0, _like(input, dtype)._code)), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return _finish(wrap(_C.full(list(input.shape), 1, _like(input, dtype)._code)), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    return _finish(wrap(_C.full(list(input.shape), fill_value, _like(input, dtype)._code)), requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return _finish(wrap(_C.scalar(s, _resolve(dtype)._code)), requires_grad)


def _number(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    _check_cpu(device)
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if integral else _default_float()
    dtype = as_dtype(dtype)
    if isinstance(start, numbers.Integral) and isinstance(end, numbers.Integral) and isinstance(step, numbers.Integral) \
            and not dtype.is_floating_point:
        if step == 0:
            raise RuntimeError("step must be nonzero")
        n = max(0, -((start - end) // step)) if step > 0 else max(0, -((end - start) // -step))
        if (step > 0 and end < start) or (step < 0 and end > start):
            raise RuntimeError("upper bound and larger bound inconsistent with step sign")
        t = wrap(_C.arange(0, n, 1, int64._code)) * step + start if n else wrap(_C.empty([0], int64._code))
        return _finish(t.to(dtype), requires_grad)
    return _finish(wrap(_C.arange(float(start), float(end), float(step), dtype._code)), requires_grad)


def range_(start, end, step=1, *, dtype=None, device=None, requires_grad=False):
    return arange(start, end + step / 2 if step > 0 else end - step / 2, step, dtype=dtype or _default_float(), requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    _check_cpu(device)
    return _finish(wrap(_C.linspace(float(_number(start)), float(_number(end)), int(steps), _resolve(dtype)._code)), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    exps = linspace(start, end, steps, dtype=float64)
    return _finish((base ** exps).to(_resolve(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    _check_cpu(device)
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n if n < 0 else m}")
    t = wrap(_C.full([n, m], 0, _resolve(dtype)._code))
    k = min(n, m)
    if k:
        _C.fill_(t._a.diagonal(0, 0, 1), 1)
    return _finish(t, requires_grad)


def complex_unsupported(*args, **kwargs):
    raise NotImplementedError("heron has no complex dtypes")


def _rebuild_tensor(array, dtype_name, requires_grad):
    t = tensor(array, dtype=as_dtype(dtype_name))
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------------------- random
class Generator:
    """A Philox random stream: ``manual_seed(s)`` resets it, ``get_state``/``set_state`` save it."""

    def __init__(self, device="cpu"):
        _check_cpu(device)
        self._g = _C.Generator()
        self.manual_seed(67280421310721)

    @classmethod
    def _from_core(cls, core):
        g = cls.__new__(cls)
        g._g = core
        return g

    def manual_seed(self, seed):
        seed = int(seed)
        if not -(2 ** 63) <= seed < 2 ** 64:
            raise ValueError(f"Overflow when unpacking long long: seed {seed} does not fit in 64 bits")
        self._g.seed = seed % (2 ** 64)
        self._g.offset = 0
        self._initial = self._g.seed
        return self

    def seed(self):
        import secrets

        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._g.seed

    def get_state(self):
        state = np.array([self._g.seed, self._g.offset], dtype=np.uint64).view(np.uint8)
        return tensor(state, dtype=DTYPES[1])

    def set_state(self, new_state):
        raw = np.asarray(new_state.detach().numpy(), dtype=np.uint8)
        if raw.size != 16:
            raise RuntimeError("Generator.set_state: expected a state tensor of 16 bytes from get_state()")
        seed, offset = raw.view(np.uint64)
        self._g.seed, self._g.offset = int(seed), int(offset)
        return self

    @property
    def device(self):
        from .._dtype import CPU

        return CPU


default_generator = Generator._from_core(_C.default_generator())


def manual_seed(seed):
    """Seeds the default generator: the same seed reproduces the same numbers on any thread count."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _gen(generator):
    return (generator or default_generator)._g


def dropout_stream_key(numel, generator=None):
    """Reserves ``numel`` draws of the dropout stream (one 32-bit word each, four per counter
    block) from the generator and returns their key ``(seed, offset)``. The fused attention
    draws its mask from that key, and :func:`dropout_stream_mask` gives the same numbers."""
    gen = _gen(generator)
    key = (gen.seed, gen.offset)
    gen.offset += (int(numel) + 3) // 4
    return key


def dropout_stream_mask(shape, dtype, p, key):
    """The dropout stream's mask for ``key``: 1 / (1 - p) where an element is kept, else 0."""
    return wrap(_C.dropout_mask(tuple(shape), dtype._code, float(p), *key))


def _random_fill(t, kind, a, b, generator):
    _C.random_(_RANDOM[kind], t._a, _gen(generator), float(a), float(b))
    return t


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    t = wrap(_C.empty(shape_arg(size), _resolve(dtype)._code))
    return _finish(_random_fill(t, "uniform", 0.0, 1.0, generator), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    t = wrap(_C.empty(shape_arg(size), _resolve(dtype)._code))
    return _finish(_random_fill(t, "normal", 0.0, 1.0, generator), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    _check_cpu(device)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    t = wrap(_C.empty(shape_arg((size,)), _resolve(dtype, int64)._code))
    return _finish(_random_fill(t, "randint", low, high, generator), requires_grad)


def rand_like(input, *, dtype=None, generator=None, requires_grad=False, device=None, memory_format=None):
    return rand(input.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, requires_grad=False, device=None, memory_format=None):
    return randn(input.shape, dtype=_like(input, dtype), generator=generator, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False, device=None):
    return randint(low, high, input.shape, dtype=_like(input, dtype), generator=generator)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None, pin_memory=False):
    _check_cpu(device)
    return wrap(_C.randperm(int(n), _gen(generator), _resolve(dtype, int64)._code))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, out=None, device=None, requires_grad=False):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        shape = ()
        for v in (mean, std):
            if isinstance(v, Tensor):
                shape = tuple(_C.broadcast_shapes(list(shape), list(v.shape)))
        like = mean if isinstance(mean, Tensor) else std
        z = randn(shape, dtype=like.dtype, generator=generator)
        return z * std + mean
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    t = wrap(_C.empty(shape_arg((size,)), _resolve(dtype)._code))
    return _finish(_random_fill(t, "normal", mean, std, generator), requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    """Draws 0/1 with probability ``input`` (elementwise) or ``p``."""
    if p is not None:
        return _random_fill(wrap(_C.empty(list(input.shape), input._a.dtype)), "bernoulli", p, 0.0, generator)
    u = rand(input.shape, dtype=input.dtype if input.dtype.is_floating_point else float32, generator=generator)
    return (u < input).to(input.dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    return wrap(_C.multinomial(input._a, int(num_samples), bool(replacement), _gen(generator)))


def poisson(input, generator=None):
    raise NotImplementedError("poisson sampling is not implemented in heron yet")


# In-place random fills (Tensor methods).
def uniform_(t, a=0.0, b=1.0, *, generator=None):
    return _random_fill(t, "uniform", a, b, generator)


def normal_(t, mean=0.0, std=1.0, *, generator=None):
    return _random_fill(t, "normal", mean, std, generator)


def bernoulli_(t, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        _C.copy_(t._a, bernoulli(p.expand(t.shape), generator=generator)._a)
        return t
    return _random_fill(t, "bernoulli", p, 0.0, generator)


def random_(t, from_=0, to=None, *, generator=None):
    if to is None:
        to = 2 ** 24 + 1 if t.dtype is float32 else (2 ** 53 + 1 if t.dtype is float64 else 2 ** min(63, t.dtype.itemsize * 8 - (1 if t.dtype.is_signed else 0)))
        to = min(to, 2 ** 63 - 1)
    return _random_fill(t, "randint", from_, to, generator)


def exponential_(t, lambd=1.0, *, generator=None):
    from . import elementwise as ew

    u = rand(t.shape, dtype=t.dtype, generator=generator)
    _C.copy_(t._a, (-ew.log1p(-u) / lambd)._a)
    return t


def geometric_(t, p, *, generator=None):
    from . import elementwise as ew

    u = rand(t.shape, dtype=float64, generator=generator)
    _C.copy_(t._a, ew.ceil(ew.log1p(-u) / math.log1p(-p)).to(t.dtype)._a)
    return t
