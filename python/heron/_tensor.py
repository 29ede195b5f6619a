"""heron.Tensor: the user-facing array, with torch's attributes, operators and autograd hooks.

It wraps a ``heron._C.Array`` (storage, shape, strides, dtype). Math lives in ``heron.ops``;
the methods here either describe the tensor or forward to those ops. The class keeps its
per-instance state in a small ``__dict__`` and reads defaults from class attributes, so making
a tensor costs one object and one attribute store.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import _C
from ._dtype import CPU, DTYPES, as_dtype, device as _device, dtype as _dtype_cls, float32


class Size(tuple):
    """Shape of a tensor: a tuple that prints as torch.Size does."""

    def __repr__(self):
        return f"heron.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


_new = object.__new__


class Tensor:
    # Class-level defaults; instances only store what differs.
    grad = None
    grad_fn = None
    _requires_grad = False
    _output_nr = 0
    _accumulator = None
    _retains_grad = False
    _is_view_of_grad = False
    _hooks = None
    __array_priority__ = 1000  # NumPy defers to our reflected operators

    # -------------------------------------------------------------- construction
    def __new__(cls, *args, **kwargs):
        return _new(cls)

    def __init__(self, data=None, *, dtype=None, requires_grad=False):
        from .ops.creation import _array_from_data

        if data is None:
            data = []
        self._a = _array_from_data(data, dtype if dtype is not None else float32)
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array) -> "Tensor":
        t = _new(cls)
        t._a = array
        return t

    # -------------------------------------------------------------- description
    @property
    def shape(self) -> Size:
        return Size(self._a.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._a.shape)
        return self._a.shape[_wrap_dim(dim, self._a.ndim)]

    @property
    def dtype(self) -> _dtype_cls:
        return DTYPES[self._a.dtype]

    @property
    def device(self) -> _device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def ndim(self) -> int:
        return self._a.ndim

    def dim(self) -> int:
        return self._a.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._a.numel

    nelement = numel

    def element_size(self) -> int:
        return self._a.itemsize

    def stride(self, dim=None):
        if dim is None:
            return self._a.strides
        return self._a.strides[_wrap_dim(dim, self._a.ndim)]

    def storage_offset(self) -> int:
        return self._a.offset

    def data_ptr(self) -> int:
        return self._a.data_ptr

    def is_contiguous(self, memory_format=None) -> bool:
        return self._a.is_contiguous()

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    @property
    def _version(self) -> int:
        return self._a.version

    @property
    def T(self):
        if self.ndim not in (0, 2):
            return self.permute(*range(self.ndim - 1, -1, -1))
        return self.t()

    @property
    def mT(self):
        return self.transpose(-2, -1)

    # -------------------------------------------------------------- autograd
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or self.grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    def _grad_accumulator(self):
        # Held strongly (one per leaf, built once): the accumulator points back weakly, so no
        # cycle forms, and the leaf's every op does not rebuild it.
        acc = self._accumulator
        if acc is None:
            acc = self._accumulator = AccumulateGrad(self)
            if self._hooks is not None:
                acc._pre_hooks = {0: self._hooks}
        return acc

    def detach(self) -> "Tensor":
        return Tensor._wrap(self._a.alias())

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        return Tensor._wrap(self._a.alias())

    @data.setter
    def data(self, value: "Tensor"):
        self._a = value._a

    def retain_grad(self) -> None:
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                g = grad.detach().clone()
                t.grad = g if t.grad is None else t.grad + g
            return None

        self.grad_fn._add_pre_hook(self._output_nr, keep)
        self._retains_grad = True

    def register_hook(self, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        # A leaf's hooks live on the tensor and are shared with its accumulator.
        if self._hooks is None:
            self._hooks = []
            if self._accumulator is not None:
                self._accumulator._pre_hooks = {0: self._hooks}
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # -------------------------------------------------------------- conversion
    def numpy(self, *, force=False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._as_ndarray()

    def _as_ndarray(self):
        if self.dtype._np is None:  # NumPy has no bfloat16
            raise TypeError(f"Got unsupported ScalarType {self.dtype._name}: NumPy has no such dtype; convert with .float() first")
        return np.asarray(self._a)

    def __array__(self, dtype=None, copy=None):
        arr = self._as_ndarray()
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def __buffer__(self, flags):  # PEP 688 (Python 3.12+): memoryview(t) shares memory
        return memoryview(self._a)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self._a.to_dlpack()

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU

    def item(self):
        return _C.item(self._a)

    def tolist(self):
        if self._a.ndim == 0:
            return self.item()
        if self.dtype._name == "bfloat16":
            return self.float().tolist()
        return np.asarray(self._a).tolist()

    def __bool__(self):
        if self._a.numel != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'more than one value' if self._a.numel else 'no values'} is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self._scalar_value("float"))

    def __int__(self):
        return int(self._scalar_value("int"))

    def __index__(self):
        if self.dtype.is_floating_point or self._a.numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def _scalar_value(self, what):
        if self._a.numel != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._a.shape[0]

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __contains__(self, element):
        return bool((self == element).any())

    def __reduce_ex__(self, protocol):
        from .ops.creation import _rebuild_tensor

        return (_rebuild_tensor, (self.detach().numpy().copy() if self.dtype._name != "bfloat16" else self.float().detach().numpy(),
                                  self.dtype._name, self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment.")
        out = type(self)._wrap(_C.clone(self._a)) if type(self) is Tensor else self.__class__(self.detach().clone(), self.requires_grad)
        if type(self) is Tensor and self._requires_grad:
            out._requires_grad = True
        if self.grad is not None:
            out.grad = self.grad.clone()
        memo[id(self)] = out
        return out

    # -------------------------------------------------------------- devices and dtypes
    def to(self, *args, **kwargs) -> "Tensor":
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, (str, _device)):
                dev = a
            else:
                dtype = a
        if dev is not None:
            _check_device(dev)
        out = self if dtype is None else self._cast(as_dtype(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def _cast(self, dtype) -> "Tensor":
        from .ops.elementwise import cast

        return cast(self, dtype)

    def type(self, dtype=None):
        if dtype is None:
            return "heron." + {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
                               "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
                               "bool": "BoolTensor"}[self.dtype._name]
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        _check_device("cuda")
        return self  # pragma: no cover - unreachable without CUDA

    def float(self):
        return self._cast(DTYPES[8])

    def double(self):
        return self._cast(DTYPES[9])

    def half(self):
        return self._cast(DTYPES[6])

    def bfloat16(self):
        return self._cast(DTYPES[7])

    def long(self):
        return self._cast(DTYPES[5])

    def int(self):
        return self._cast(DTYPES[4])

    def short(self):
        return self._cast(DTYPES[3])

    def char(self):
        return self._cast(DTYPES[2])

    def byte(self):
        return self._cast(DTYPES[1])

    def bool(self):
        return self._cast(DTYPES[0])

    # -------------------------------------------------------------- printing
    def __repr__(self):
        from ._format import format_tensor

        return format_tensor(self)

    def __format__(self, spec):
        if self._a.ndim == 0:
            return format(self.item(), spec)
        return repr(self)


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _check_device(dev):
    d = _device(dev) if not isinstance(dev, _device) else dev
    if d.type == "cuda":
        from . import cuda

        cuda._lazy_check()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


# Imported last: autograd's modules refer to Tensor at import time.
from .autograd.function import AccumulateGrad, _RemovableHandle  # noqa: E402
