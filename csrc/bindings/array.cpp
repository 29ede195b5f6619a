// heron._C.Array: views, NumPy buffer interop and DLPack exchange.
#include <cstring>

#include "bindings/common.h"

namespace heron::bindings {

static const char* buffer_format(DType t) {
  switch (t) {
    case DType::Bool: return "?";
    case DType::UInt8: return "B";
    case DType::Int8: return "b";
    case DType::Int16: return "h";
    case DType::Int32: return "i";
    case DType::Int64: return "q";
    case DType::Float16: return "e";
    case DType::Float32: return "f";
    case DType::Float64: return "d";
    case DType::BFloat16: break;
  }
  fail(ErrorKind::Type, "[numpy] Got unsupported ScalarType BFloat16: NumPy has no bfloat16; call .float() first");
}

static DType dtype_from_numpy(const py::dtype& dt) {
  char kind = dt.kind();
  int64_t size = dt.itemsize();
  if (kind == 'b') return DType::Bool;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'i') {
    if (size == 1) return DType::Int8;
    if (size == 2) return DType::Int16;
    if (size == 4) return DType::Int32;
    if (size == 8) return DType::Int64;
  }
  if (kind == 'f') {
    if (size == 2) return DType::Float16;
    if (size == 4) return DType::Float32;
    if (size == 8) return DType::Float64;
  }
  fail(ErrorKind::Type, "[from_numpy] can't convert np.ndarray of type ", std::string(py::str(dt)),
       ". The only supported types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool.");
}

// Keeps a Python object alive from C++; its release takes the GIL.
static std::shared_ptr<void> hold_python(py::object obj) {
  auto* held = new py::object(std::move(obj));
  return std::shared_ptr<void>(held, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

static Array from_numpy(py::array arr) {
  DType dtype = dtype_from_numpy(arr.dtype());
  HERON_CHECK(arr.dtype().byteorder() != '>', Type, "[from_numpy] given numpy array has byte order different from the native byte order");
  int64_t item = itemsize(dtype);
  Shape shape(arr.ndim());
  Strides strides(arr.ndim());
  int64_t extent = 1;
  bool empty = false;
  for (int64_t d = 0; d < arr.ndim(); ++d) {
    shape[d] = arr.shape(d);
    int64_t sb = arr.strides(d);
    HERON_CHECK(sb >= 0, Value, "[from_numpy] At least one stride in the given numpy array is negative, and tensors with "
                "negative strides are not currently supported. (You can probably work around this by making a copy of your "
                "array  with array.copy().) ");
    HERON_CHECK(sb % item == 0, Value, "[from_numpy] given numpy array strides not a multiple of the element byte size. Copy the numpy array to reallocate the memory.");
    strides[d] = sb / item;
    if (shape[d] == 0) empty = true;
    extent += (shape[d] - 1) * strides[d];
  }
  if (empty) extent = 0;
  void* data = const_cast<void*>(arr.data());
  auto storage = Storage::wrap(data, extent * item, hold_python(arr));
  return Array(storage, shape, strides, 0, dtype);
}

static py::buffer_info buffer_of(const Array& a) {
  std::vector<py::ssize_t> shape(a.shape().begin(), a.shape().end());
  std::vector<py::ssize_t> strides;
  for (int64_t s : a.strides()) strides.push_back(s * a.itemsize());
  return py::buffer_info(a.data(), a.itemsize(), buffer_format(a.dtype()), a.ndim(), shape, strides);
}

// ------------------------------------------------------------------ DLPack (ABI v0.8 structs)
struct DLDevice { int32_t device_type; int32_t device_id; };
struct DLDataType { uint8_t code; uint8_t bits; uint16_t lanes; };
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
enum { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6 };
enum { kDLCPU = 1, kDLCUDA = 2 };

struct ExportContext {
  Array array;
  std::vector<int64_t> shape, strides;
};

static DLDataType dl_dtype(DType t) {
  uint8_t bits = uint8_t(itemsize(t) * 8);
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float16: case DType::Float32: case DType::Float64: return {kDLFloat, bits, 1};
    default: return {kDLInt, bits, 1};
  }
}

static DType dtype_from_dl(DLDataType t) {
  HERON_CHECK(t.lanes == 1, Type, "[from_dlpack] vector dtypes (lanes != 1) are not supported");
  switch (t.code) {
    case kDLBool: return DType::Bool;
    case kDLUInt: if (t.bits == 8) return DType::UInt8; break;
    case kDLInt:
      if (t.bits == 8) return DType::Int8;
      if (t.bits == 16) return DType::Int16;
      if (t.bits == 32) return DType::Int32;
      if (t.bits == 64) return DType::Int64;
      break;
    case kDLFloat:
      if (t.bits == 16) return DType::Float16;
      if (t.bits == 32) return DType::Float32;
      if (t.bits == 64) return DType::Float64;
      break;
    case kDLBfloat: if (t.bits == 16) return DType::BFloat16; break;
  }
  fail(ErrorKind::Type, "[from_dlpack] unsupported DLPack dtype (code ", int(t.code), ", bits ", int(t.bits), ")");
}

static py::capsule to_dlpack(const Array& a) {
  auto* ctx = new ExportContext{a, std::vector<int64_t>(a.shape().begin(), a.shape().end()),
                                std::vector<int64_t>(a.strides().begin(), a.strides().end())};
  auto* managed = new DLManagedTensor{};
  managed->dl_tensor.data = a.storage()->data;
  managed->dl_tensor.device = {a.device().type == DeviceType::CUDA ? kDLCUDA : kDLCPU, a.device().index};
  managed->dl_tensor.ndim = int32_t(a.ndim());
  managed->dl_tensor.dtype = dl_dtype(a.dtype());
  managed->dl_tensor.shape = ctx->shape.data();
  managed->dl_tensor.strides = ctx->strides.data();
  managed->dl_tensor.byte_offset = uint64_t(a.offset() * a.itemsize());
  managed->manager_ctx = ctx;
  managed->deleter = [](DLManagedTensor* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
  // A capsule nobody consumed still owns the tensor and frees it.
  return py::capsule(managed, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      if (m && m->deleter) m->deleter(m);
    }
  });
}

static Array from_dlpack_capsule(py::capsule cap) {
  HERON_CHECK(PyCapsule_IsValid(cap.ptr(), "dltensor"), Value,
              "[from_dlpack] expected a 'dltensor' capsule that has not been consumed yet");
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), "dltensor"));
  const DLTensor& t = managed->dl_tensor;
  HERON_CHECK(t.device.device_type == kDLCPU, Runtime, "[from_dlpack] only CPU tensors can be imported in this build");
  DType dtype = dtype_from_dl(t.dtype);
  int64_t item = itemsize(dtype);
  Shape shape(t.shape, t.shape + t.ndim);
  Strides strides = t.strides ? Strides(t.strides, t.strides + t.ndim) : contiguous_strides(shape);
  int64_t extent = 1;
  for (int i = 0; i < t.ndim; ++i) {
    HERON_CHECK(strides[i] >= 0, Value, "[from_dlpack] negative strides are not supported");
    if (shape[i] == 0) extent = 0;
  }
  if (extent) for (int i = 0; i < t.ndim; ++i) extent += (shape[i] - 1) * strides[i];
  char* base = static_cast<char*>(t.data) + t.byte_offset;
  std::shared_ptr<void> owner(managed, [](void* p) {
    auto* m = static_cast<DLManagedTensor*>(p);
    if (m->deleter) m->deleter(m);
  });
  PyCapsule_SetName(cap.ptr(), "used_dltensor");
  return Array(Storage::wrap(base, extent * item, owner), shape, strides, 0, dtype);
}

static Shape to_shape(const py::iterable& seq) {
  Shape s;
  for (auto v : seq) s.push_back(v.cast<int64_t>());
  return s;
}

void init_array(py::module_& m) {
  py::class_<Array>(m, "Array", py::buffer_protocol())
      .def_buffer(&buffer_of)
      .def_property_readonly("shape", [](const Array& a) {
        py::tuple t(a.ndim());
        for (int64_t i = 0; i < a.ndim(); ++i) t[i] = a.shape()[i];
        return t;
      })
      .def_property_readonly("strides", [](const Array& a) {
        py::tuple t(a.ndim());
        for (int64_t i = 0; i < a.ndim(); ++i) t[i] = a.strides()[i];
        return t;
      })
      .def_property_readonly("offset", &Array::offset)
      .def_property_readonly("dtype", [](const Array& a) { return int(a.dtype()); })
      .def_property_readonly("ndim", &Array::ndim)
      .def_property_readonly("numel", &Array::numel)
      .def_property_readonly("itemsize", &Array::itemsize)
      .def_property_readonly("version", &Array::version)
      .def_property_readonly("data_ptr", [](const Array& a) { return reinterpret_cast<uintptr_t>(a.data()); })
      .def_property_readonly("storage_ptr", [](const Array& a) { return reinterpret_cast<uintptr_t>(a.storage()->data); })
      .def_property_readonly("storage_nbytes", [](const Array& a) { return a.storage()->nbytes; })
      .def_property_readonly("device_type", [](const Array& a) { return int(a.device().type); })
      .def("is_contiguous", &Array::is_contiguous)
      .def("bump_version", &Array::bump_version)
      .def("as_strided", [](const Array& a, const py::iterable& shape, const py::iterable& strides, int64_t offset) {
        return a.as_strided(to_shape(shape), to_shape(strides), offset);
      })
      .def("view", [](const Array& a, const py::iterable& shape) { return a.view(to_shape(shape)); })
      .def("permute", [](const Array& a, const std::vector<int64_t>& dims) { return a.permute(dims); })
      .def("transpose", &Array::transpose)
      .def("expand", [](const Array& a, const py::iterable& shape) { return a.expand(to_shape(shape)); })
      .def("squeeze", [](const Array& a, const std::vector<int64_t>& dims) { return a.squeeze(dims); })
      .def("unsqueeze", &Array::unsqueeze)
      .def("narrow", &Array::narrow)
      .def("slice", &Array::slice)
      .def("select", &Array::select)
      .def("diagonal", &Array::diagonal)
      .def("alias", &Array::detach_alias)
      .def("same_storage", [](const Array& a, const Array& b) { return a.storage() == b.storage(); })
      .def("to_dlpack", &to_dlpack);

  m.def("empty", [](const py::iterable& shape, int dtype) { return Array::empty(to_shape(shape), to_dtype(dtype)); });
  m.def("full", [](const py::iterable& shape, const py::handle& value, int dtype) {
    return full(to_shape(shape), to_scalar(value, "full"), to_dtype(dtype));
  });
  m.def("scalar", [](const py::handle& value, int dtype) { return scalar_array(to_scalar(value, "tensor"), to_dtype(dtype)); });
  m.def("arange", [](double start, double end, double step, int dtype) { return arange(start, end, step, to_dtype(dtype)); });
  m.def("linspace", [](double start, double end, int64_t steps, int dtype) { return linspace(start, end, steps, to_dtype(dtype)); });
  m.def("from_numpy", &from_numpy);
  m.def("from_dlpack", &from_dlpack_capsule);
  m.def("item", [](const Array& a) { return scalar_to_py(item(a)); });
  m.def("copy_", [](const Array& dst, const Array& src) { copy_(dst, src); });
  m.def("fill_", [](const Array& dst, const py::handle& v) { fill_(dst, to_scalar(v, "fill_")); });
  m.def("cast", [](const Array& a, int dtype) { return cast(a, to_dtype(dtype)); });
  m.def("contiguous", &contiguous);
  m.def("clone", &clone);
  m.def("reshape", [](const Array& a, const py::iterable& shape) { return reshape(a, to_shape(shape)); });
  m.def("broadcast_shapes", [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    Shape s = broadcast_shapes(a, b, "broadcast_shapes");
    py::tuple t(s.size());
    for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
    return t;
  });
  m.def("promote_types", [](int a, int b) { return int(promote_types(to_dtype(a), to_dtype(b))); });
  m.def("result_type", [](const py::handle& a, const py::handle& b) {
    Operand x = to_operand(a, "result_type"), y = to_operand(b, "result_type");
    ResultTypeState st;
    auto kind = [](const Operand& o) {
      return o.wrapped ? OperandKind::WrappedNumber : (o.array.ndim() == 0 ? OperandKind::ZeroDim : OperandKind::Dimensioned);
    };
    st.add(x.array.dtype(), kind(x));
    st.add(y.array.dtype(), kind(y));
    return int(st.result(default_float_dtype()));
  });
}

}  // namespace heron::bindings
