"""Binds heron's functional ops as Tensor methods and operators (run once at import)."""
from __future__ import annotations

from . import ops
from ._tensor import Tensor
from .ops import creation, elementwise as ew, indexing, reduce, shape

# Methods whose body is exactly the functional op with self first.
_SAME_NAME = """
abs abs_ absolute acos acos_ acosh arccos arcsin arctan asin asin_ asinh atan atan_ atanh atan2 bitwise_and
bitwise_not bitwise_or bitwise_xor ceil ceil_ clamp clamp_ clamp_max clamp_min clip clip_ copysign cos cos_ cosh
deg2rad div div_ divide eq eq_ erf erf_ erfc exp exp_ exp2 expm1 expm1_ fix floor floor_ floor_divide fmax fmin
fmod frac ge ge_ gt gt_ hypot isclose isfinite isinf isnan isneginf isposinf le le_ lerp log log_ log10 log1p
log1p_ log2 logaddexp logical_and logical_not logical_or logical_xor logit lt lt_ maximum minimum mul mul_
multiply nan_to_num ne ne_ neg neg_ negative pow pow_ rad2deg reciprocal reciprocal_ relu relu_ remainder round
round_ rsqrt rsqrt_ sigmoid sigmoid_ sign sign_ signbit sin sin_ sinc sinh sqrt sqrt_ square square_ sub sub_
subtract tan tanh tanh_ trunc trunc_ where xlogy add add_ addcmul addcdiv allclose equal
sum mean nansum nanmean prod amax amin max min argmax argmin all any var std logsumexp norm softmax log_softmax
cumsum cumprod count_nonzero
reshape view view_as reshape_as permute transpose swapaxes swapdims t adjoint movedim moveaxis squeeze unsqueeze
expand expand_as broadcast_to flatten unflatten ravel narrow select diagonal as_strided contiguous clone split
tensor_split chunk unbind flip fliplr flipud roll repeat tile repeat_interleave tril triu tril_ triu_
index_select index_add index_add_ gather scatter scatter_ scatter_add scatter_add_ scatter_reduce masked_fill
masked_fill_ masked_select masked_scatter nonzero take take_along_dim sort argsort msort topk kthvalue index_put
index_put_ matmul mm bmm mv dot outer ger inner addmm baddbmm addmv
"""


def _bind():
    for name in _SAME_NAME.split():
        setattr(Tensor, name, getattr(ops, name, None) or getattr(shape, name, None) or getattr(indexing, name))
    for name in ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "geometric_"):
        setattr(Tensor, name, getattr(creation, name))
    Tensor.bernoulli = lambda self, p=None, *, generator=None: creation.bernoulli(self, p, generator=generator)
    Tensor.multinomial = lambda self, n, replacement=False, *, generator=None: creation.multinomial(self, n, replacement, generator=generator)
    Tensor.true_divide = ew.div
    Tensor.absolute_ = ew.abs_

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
            if ew.grad_needed(self, value):  # the gradient flows to the value tensor too
                return ew._copy_into(self, shape.expand(value.to(self.dtype), self.shape))
            value = value.item()
        if self.requires_grad and ew.grad_needed(self):
            return ew._copy_into(self, ops.full_like(self, value))
        from . import _C

        _C.fill_(self._a, value)
        return self

    def copy_(self, src, non_blocking=False):
        from . import _C

        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
        if ew.grad_needed(self, src):
            result = shape.expand(src.to(self.dtype), self.shape) + ops.zeros_like(self) if src.shape != self.shape else src.to(self.dtype)
            if self.grad_fn is None and self.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            return ew._rebase_inplace(self, result)
        _C.copy_(self._a, src._a)
        return self

    Tensor.zero_, Tensor.fill_, Tensor.copy_ = zero_, fill_, copy_
    Tensor.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: \
        creation.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)
    Tensor.new_zeros = lambda self, *size, dtype=None, device=None, requires_grad=False: \
        creation.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    Tensor.new_ones = lambda self, *size, dtype=None, device=None, requires_grad=False: \
        creation.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    Tensor.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: \
        creation.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)
    Tensor.new_empty = lambda self, *size, dtype=None, device=None, requires_grad=False: \
        creation.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    Tensor.__getitem__ = indexing.getitem
    Tensor.__setitem__ = indexing.setitem
    Tensor.expand = shape.expand

    # Operators.
    def rev(fn):
        return lambda self, other: fn(other, self)

    Tensor.__add__ = Tensor.__radd__ = _fast_binary("add")
    Tensor.__sub__ = _fast_binary("sub")
    Tensor.__rsub__ = _fast_binary("sub", reflected=True)
    Tensor.__mul__ = Tensor.__rmul__ = _fast_binary("mul")
    Tensor.__truediv__ = _fast_binary("div")
    Tensor.__rtruediv__ = _fast_binary("div", reflected=True)
    Tensor.__floordiv__ = lambda s, o: ew.div(s, o, rounding_mode="floor")
    Tensor.__rfloordiv__ = lambda s, o: ew.div(o, s, rounding_mode="floor")
    Tensor.__mod__ = lambda s, o: ew.binary("remainder", s, o)
    Tensor.__rmod__ = lambda s, o: ew.binary("remainder", o, s)
    Tensor.__pow__ = lambda s, o: ew.pow(s, o)
    Tensor.__rpow__ = lambda s, o: ew.pow(o, s)
    Tensor.__matmul__ = _fast_matmul()
    Tensor.__rmatmul__ = lambda s, o: ops.matmul(o, s)
    Tensor.__and__ = Tensor.__rand__ = lambda s, o: ew.binary("bitwise_and", s, o)
    Tensor.__or__ = Tensor.__ror__ = lambda s, o: ew.binary("bitwise_or", s, o)
    Tensor.__xor__ = Tensor.__rxor__ = lambda s, o: ew.binary("bitwise_xor", s, o)
    Tensor.__neg__ = ew.neg
    Tensor.__pos__ = lambda s: s
    Tensor.__abs__ = ew.abs
    Tensor.__invert__ = _invert
    Tensor.__eq__ = lambda s, o: ew.binary("eq", s, o) if _comparable(o) else NotImplemented
    Tensor.__ne__ = lambda s, o: ew.binary("ne", s, o) if _comparable(o) else NotImplemented
    Tensor.__lt__ = lambda s, o: ew.binary("lt", s, o)
    Tensor.__le__ = lambda s, o: ew.binary("le", s, o)
    Tensor.__gt__ = lambda s, o: ew.binary("gt", s, o)
    Tensor.__ge__ = lambda s, o: ew.binary("ge", s, o)
    Tensor.__iadd__ = lambda s, o: ew.binary_("add", s, o)
    Tensor.__isub__ = lambda s, o: ew.binary_("sub", s, o)
    Tensor.__imul__ = lambda s, o: ew.binary_("mul", s, o)
    Tensor.__itruediv__ = lambda s, o: ew.binary_("div", s, o)
    Tensor.__ifloordiv__ = lambda s, o: ew._copy_into(s, ew.div(s, o, rounding_mode="floor"))
    Tensor.__imod__ = lambda s, o: ew.binary_("remainder", s, o)
    Tensor.__ipow__ = lambda s, o: ew.pow_(s, o)
    Tensor.__iand__ = lambda s, o: ew.binary_("bitwise_and", s, o)
    Tensor.__ior__ = lambda s, o: ew.binary_("bitwise_or", s, o)
    Tensor.__ixor__ = lambda s, o: ew.binary_("bitwise_xor", s, o)
    Tensor.__hash__ = lambda s: id(s)


def _fast_binary(name, reflected=False):
    """An arithmetic operator with the no-graph path inlined: it is the hottest call in small models."""
    from . import _C
    from .autograd import grad_mode

    code = _C.BINARY[name]
    binary = _C.binary
    wrap = Tensor._wrap
    graph = ew._binary_graph

    def op(self, other):
        other_is_tensor = isinstance(other, Tensor)
        if grad_mode._enabled and (self._requires_grad or self.grad_fn is not None or (
                other_is_tensor and (other._requires_grad or other.grad_fn is not None))):
            return graph(name, other, self) if reflected else graph(name, self, other)
        o = other._a if other_is_tensor else other
        if not other_is_tensor and not isinstance(other, (int, float, bool)):
            return NotImplemented if not hasattr(other, "__float__") else op(self, float(other))
        return wrap(binary(code, o, self._a) if reflected else binary(code, self._a, o))

    op.__name__ = f"__{'r' if reflected else ''}{name}__"
    return op


def _fast_matmul():
    """``@`` with the no-graph path inlined: small products (RL policies, LSTM steps) are
    dominated by call overhead."""
    from . import _C
    from .autograd import grad_mode

    matmul = _C.matmul
    wrap = Tensor._wrap

    def __matmul__(self, other):
        if isinstance(other, Tensor) and not (grad_mode._enabled and (
                self._requires_grad or self.grad_fn is not None or other._requires_grad or other.grad_fn is not None)):
            return wrap(matmul(self._a, other._a))
        return ops.matmul(self, other)

    return __matmul__


def _invert(self):
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return ew.logical_not(self) if self.dtype._name == "bool" else ew.bitwise_not(self)


def _comparable(other):
    import numbers

    return isinstance(other, (Tensor, numbers.Number))


_bind()
