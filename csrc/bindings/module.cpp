#include "bindings/common.h"

#include <cmath>

#include "core/cuda_api.h"
#include "core/dispatch.h"
#include "cpu/threads.h"

namespace heron::bindings {

static PyObject* g_shape_error = nullptr;
static PyObject* g_memory_error = nullptr;

static PyObject* exception_with_bases(py::module_& m, const char* name, PyObject* first, PyObject* second) {
  py::tuple bases = py::make_tuple(py::handle(first), py::handle(second));
  std::string qualified = std::string("heron.") + name;
  PyObject* type = PyErr_NewException(qualified.c_str(), bases.ptr(), nullptr);
  m.attr(name) = py::handle(type);
  return type;
}

void init_errors(py::module_& m) {
  // ShapeError is a RuntimeError (what torch raises) and a ValueError (what NumPy users catch);
  // OutOfMemoryError is a MemoryError and a RuntimeError (torch's OutOfMemoryError is one).
  g_shape_error = exception_with_bases(m, "ShapeError", PyExc_RuntimeError, PyExc_ValueError);
  g_memory_error = exception_with_bases(m, "OutOfMemoryError", PyExc_MemoryError, PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = PyExc_RuntimeError;
      switch (e.kind()) {
        case ErrorKind::Runtime: type = PyExc_RuntimeError; break;
        case ErrorKind::Value: type = PyExc_ValueError; break;
        case ErrorKind::Index: type = PyExc_IndexError; break;
        case ErrorKind::Type: type = PyExc_TypeError; break;
        case ErrorKind::Shape: type = g_shape_error; break;
        case ErrorKind::NotImplemented: type = PyExc_NotImplementedError; break;
        case ErrorKind::Memory: type = g_memory_error; break;
      }
      PyErr_SetString(type, e.what());
    }
  });
}

Scalar to_scalar(const py::handle& obj, const char* op) {
  if (PyBool_Check(obj.ptr())) return Scalar::from_bool(obj.ptr() == Py_True);
  if (PyLong_Check(obj.ptr())) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (overflow) fail(ErrorKind::Runtime, "[", op, "] value cannot be converted to type int64 without overflow");
    return Scalar::from_int(v);
  }
  if (PyFloat_Check(obj.ptr())) return Scalar::from_double(PyFloat_AS_DOUBLE(obj.ptr()));
  // NumPy scalars and anything else that behaves like a number.
  if (py::isinstance<py::bool_>(obj)) return Scalar::from_bool(obj.cast<bool>());
  if (PyIndex_Check(obj.ptr())) return Scalar::from_int(py::int_(py::reinterpret_borrow<py::object>(obj)).cast<int64_t>());
  if (PyNumber_Check(obj.ptr()) && PyObject_HasAttrString(obj.ptr(), "__float__"))
    return Scalar::from_double(py::float_(py::reinterpret_borrow<py::object>(obj)).cast<double>());
  fail(ErrorKind::Type, "[", op, "] expected a Tensor or a number, but got ", std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
}

Operand to_operand(const py::handle& obj, const char* op) {
  if (py::isinstance<Array>(obj)) return Operand::tensor(obj.cast<const Array&>());
  return Operand::number(to_scalar(obj, op));
}

py::object scalar_to_py(const Scalar& s) {
  switch (s.kind) {
    case Scalar::Bool: return py::bool_(s.i != 0);
    case Scalar::Int: return py::int_(s.i);
    default: return py::float_(s.d);
  }
}

void init_system(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  m.def("cpu_capability", [] { return std::string(capability_name(cpu_capability())); });
  m.def("hardware_capability", [] { return std::string(capability_name(hardware_capability())); });
  m.def("set_cpu_capability", [](const std::string& name) {
    CpuCapability want = name == "avx512" ? CpuCapability::AVX512
                         : name == "avx2" ? CpuCapability::AVX2
                         : name == "default" ? CpuCapability::Default
                         : (fail(ErrorKind::Value, "[set_cpu_capability] expected 'default', 'avx2' or 'avx512', got '", name, "'"), CpuCapability::Default);
    return std::string(capability_name(set_cpu_capability(want)));
  });
  m.def("compiled_capabilities", [] {
    py::list out;
    for (int c = 0; c < kNumCapabilities; ++c)
      if (unary_stub.cpu[c]) out.append(capability_name(CpuCapability(c)));
    return out;
  });
  m.def("set_default_dtype", [](int code) { set_default_float_dtype(to_dtype(code)); });
  m.def("get_default_dtype", [] { return int(default_float_dtype()); });
  m.def("peak_gflops", [](int threads) {
    py::gil_scoped_release release;
    return peak_gflops_stub.get_cpu()(threads);
  }, py::arg("threads") = 1, "Measured float32 FMA peak of this machine (GFLOP/s) at the current ISA level");
  m.def("peak_bandwidth_gbs", [](int threads) {
    py::gil_scoped_release release;
    return peak_bandwidth_stub.get_cpu()(threads);
  }, py::arg("threads") = 1, "Measured streaming memory bandwidth (GB/s, bytes read + written)");
  m.def("empty_cache", &empty_allocator_cache, "Returns cached large CPU buffers to the OS");
  m.def("allocator_cached_bytes", &allocator_cached_bytes);
  m.def("cuda_compiled", &cuda::compiled);
  m.def("cuda_is_available", &cuda::is_available);
  m.def("cuda_device_count", &cuda::device_count);
  m.def("cuda_version", &cuda::version);
}

}  // namespace heron::bindings

PYBIND11_MODULE(_C, m) {
  m.doc() = "heron's compiled core: arrays, kernels and their dispatch";
  heron::bindings::init_errors(m);
  heron::bindings::init_system(m);
  heron::bindings::init_array(m);
  heron::bindings::init_ops(m);
}
