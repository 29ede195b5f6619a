// Calls f(T{}) with the C++ type of a DType. For core code only; kernels have their own.
#pragma once
#include "core/dtype.h"

namespace heron {

template <typename F>
void visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: f(bool{}); break;
    case DType::UInt8: f(uint8_t{}); break;
    case DType::Int8: f(int8_t{}); break;
    case DType::Int16: f(int16_t{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int64: f(int64_t{}); break;
    case DType::Float16: f(Half{}); break;
    case DType::BFloat16: f(BFloat16{}); break;
    case DType::Float32: f(float{}); break;
    case DType::Float64: f(double{}); break;
  }
}

template <typename T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, Half>) return Half{float_to_half(float(v))};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{float_to_bf16(float(v))};
  else if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else return T(v);
}

template <typename T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, Half>) return half_to_float(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>) return bf16_to_float(v.bits);
  else return double(v);
}

}  // namespace heron
