// Element types and torch's type-promotion rules.
#pragma once
#include <cstdint>
#include <string>

#include "core/half.h"

namespace heron {

// Order matters: it is the code Python sees, and promotion walks categories by it.
enum class DType : uint8_t {
  Bool = 0,
  UInt8,
  Int8,
  Int16,
  Int32,
  Int64,
  Float16,
  BFloat16,
  Float32,
  Float64,
};
constexpr int kNumDTypes = 10;

int64_t itemsize(DType t);
const char* dtype_name(DType t);  // "float32", as torch prints it after "torch."
inline bool is_floating(DType t) { return t >= DType::Float16; }
inline bool is_integral(DType t, bool include_bool) {
  return t == DType::Bool ? include_bool : !is_floating(t);
}
inline bool is_reduced_float(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

// torch.promote_types.
DType promote_types(DType a, DType b);

// Category used by torch.result_type: 0 bool, 1 integer, 2 floating.
inline int dtype_category(DType t) { return t == DType::Bool ? 0 : (is_floating(t) ? 2 : 1); }

// Which operands take part in promotion, following torch.result_type: tensors with dims
// dominate, then 0-d tensors, then Python numbers, each lower level only counting when its
// category is higher than everything above it.
enum class OperandKind : uint8_t { Dimensioned = 0, ZeroDim = 1, WrappedNumber = 2 };
struct ResultTypeState {
  DType level[3];
  bool seen[3] = {false, false, false};
  void add(DType t, OperandKind kind);
  DType result(DType default_float) const;
};

template <DType D> struct CppType;
template <> struct CppType<DType::Bool> { using type = bool; };
template <> struct CppType<DType::UInt8> { using type = uint8_t; };
template <> struct CppType<DType::Int8> { using type = int8_t; };
template <> struct CppType<DType::Int16> { using type = int16_t; };
template <> struct CppType<DType::Int32> { using type = int32_t; };
template <> struct CppType<DType::Int64> { using type = int64_t; };
template <> struct CppType<DType::Float16> { using type = Half; };
template <> struct CppType<DType::BFloat16> { using type = BFloat16; };
template <> struct CppType<DType::Float32> { using type = float; };
template <> struct CppType<DType::Float64> { using type = double; };

}  // namespace heron
