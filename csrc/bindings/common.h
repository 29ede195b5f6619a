// Conversions shared by the binding files. pybind11 appears only in csrc/bindings/.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/array.h"
#include "core/errors.h"
#include "core/ops.h"

namespace py = pybind11;

namespace heron::bindings {

void init_errors(py::module_& m);
void init_array(py::module_& m);
void init_ops(py::module_& m);
void init_system(py::module_& m);

inline DType to_dtype(int code) {
  if (code < 0 || code >= kNumDTypes) fail(ErrorKind::Type, "[dtype] unknown dtype code ", code);
  return DType(code);
}

// A Python bool/int/float as a heron Scalar (TypeError for anything else).
Scalar to_scalar(const py::handle& obj, const char* op);
// A tensor's Array, or a Python number wrapped as a 0-d array that promotes like torch's.
Operand to_operand(const py::handle& obj, const char* op);
py::object scalar_to_py(const Scalar& s);

}  // namespace heron::bindings
