// Elementwise kernels: unary math, binary arithmetic/comparison, casts and where.
// Compiled once per ISA level (see cpu/simd/isa.h). Contiguous and scalar-broadcast inner
// loops are written plainly so the compiler vectorises them for the level being built.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/half.h"
#include "core/kernel_params.h"
#include "cpu/loop.h"
#include "cpu/simd/math.h"

namespace HERON_ISA_NAMESPACE {

using heron::BinaryOp;
using heron::DType;
using heron::StridedIter;
using heron::UnaryOp;

template <typename Out, typename In, typename F>
inline void unary_loop(char** d, const int64_t* s, int64_t n, const F& f) {
  Out* out = reinterpret_cast<Out*>(d[0]);
  const In* in = reinterpret_cast<const In*>(d[1]);
  if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<Out*>(d[0] + i * s[0]) = f(*reinterpret_cast<const In*>(d[1] + i * s[1]));
  }
}

template <typename Out, typename In, typename F>
inline void run_unary(const StridedIter& it, const F& f) {
  walk(it, [&](char** d, const int64_t* s, int64_t n) { unary_loop<Out, In>(d, s, n, f); });
}

// float32 ops with a SIMD body from cpu/simd/math.h. Strided inputs go through a small
// contiguous buffer so they run the same vector code.
template <typename F>
inline void run_float_vector(const StridedIter& it, const F& f) {
  walk(it, [&](char** d, const int64_t* s, int64_t n) {
    if (s[0] == 4 && s[1] == 4) {
      map_floats(reinterpret_cast<float*>(d[0]), reinterpret_cast<const float*>(d[1]), n, f);
      return;
    }
    constexpr int64_t kBuf = 256;
    float buf[kBuf];
    for (int64_t i0 = 0; i0 < n; i0 += kBuf) {
      int64_t m = std::min(kBuf, n - i0);
      for (int64_t i = 0; i < m; ++i) buf[i] = *reinterpret_cast<const float*>(d[1] + (i0 + i) * s[1]);
      map_floats(buf, buf, m, f);
      for (int64_t i = 0; i < m; ++i) *reinterpret_cast<float*>(d[0] + (i0 + i) * s[0]) = buf[i];
    }
  });
}

// Returns false for ops that have no vector body (they vectorise as plain loops).
inline bool unary_float_vector(UnaryOp op, const StridedIter& it, float a, float b) {
  switch (op) {
    case UnaryOp::Exp: run_float_vector(it, [](vf x) { return exp_v(x); }); return true;
    case UnaryOp::Exp2: run_float_vector(it, [](vf x) { return exp_v(x * 0.693147180559945309417f); }); return true;
    case UnaryOp::Log: run_float_vector(it, [](vf x) { return log_v(x); }); return true;
    case UnaryOp::Log1p: run_float_vector(it, [](vf x) { return log1p_v(x); }); return true;
    case UnaryOp::Expm1: run_float_vector(it, [](vf x) { return expm1_v(x); }); return true;
    case UnaryOp::Tanh: run_float_vector(it, [](vf x) { return tanh_v(x); }); return true;
    case UnaryOp::Erf: run_float_vector(it, [](vf x) { return erf_v(x); }); return true;
    case UnaryOp::Sigmoid: run_float_vector(it, [](vf x) { return sigmoid_v(x); }); return true;
    case UnaryOp::LogSigmoid:
      run_float_vector(it, [](vf x) { return (x < 0.0f ? x : splat(0.0f)) - log1p_v(exp_v(-vabs(x))); });
      return true;
    case UnaryOp::Gelu: run_float_vector(it, [](vf x) { return gelu_v(x); }); return true;
    case UnaryOp::GeluTanh: run_float_vector(it, [](vf x) { return gelu_tanh_v(x); }); return true;
    case UnaryOp::Silu: run_float_vector(it, [](vf x) { return x * sigmoid_v(x); }); return true;
    case UnaryOp::Mish:
      run_float_vector(it, [](vf x) { return x * tanh_v(x > 20.0f ? x : log1p_v(exp_v(x))); });
      return true;
    case UnaryOp::Softplus:  // a = beta, b = threshold
      run_float_vector(it, [a, b](vf x) { return x * a > b ? x : log1p_v(exp_v(x * a)) / a; });
      return true;
    case UnaryOp::Elu:  // a = alpha, b = scale
      run_float_vector(it, [a, b](vf x) { return x > 0.0f ? b * x : (b * a) * expm1_v(x); });
      return true;
    case UnaryOp::Selu:
      run_float_vector(it, [](vf x) {
        const float alpha = 1.6732632423543772848170429916717f, scale = 1.0507009873554804934193349852946f;
        return x > 0.0f ? scale * x : (scale * alpha) * expm1_v(x);
      });
      return true;
    default: return false;
  }
}

template <typename T>
inline T clamp_nan(T x, T lo, T hi) {  // min(max(x, lo), hi) as torch: NaN passes, hi wins if lo > hi
  T r = x < lo ? lo : x;
  return r > hi ? hi : r;
}

// Ops defined for floating types only.
template <typename T>
void unary_floating(UnaryOp op, const StridedIter& it, double p0, double p1) {
  if constexpr (std::is_same_v<T, float>) {
    if (unary_float_vector(op, it, float(p0), float(p1))) return;
  }
  const T a = T(p0), b = T(p1);
  switch (op) {
    case UnaryOp::Reciprocal: return run_unary<T, T>(it, [](T x) { return T(1) / x; });
    case UnaryOp::Exp: return run_unary<T, T>(it, [](T x) { return vexp(x); });
    case UnaryOp::Exp2: return run_unary<T, T>(it, [](T x) { return vexp(x * T(0.693147180559945309417)); });
    case UnaryOp::Log: return run_unary<T, T>(it, [](T x) { return vlog(x); });
    case UnaryOp::Log2: return run_unary<T, T>(it, [](T x) { return T(std::log2(x)); });
    case UnaryOp::Log10: return run_unary<T, T>(it, [](T x) { return T(std::log10(x)); });
    case UnaryOp::Log1p: return run_unary<T, T>(it, [](T x) { return vlog1p(x); });
    case UnaryOp::Expm1: return run_unary<T, T>(it, [](T x) { return vexpm1(x); });
    case UnaryOp::Sqrt: return run_unary<T, T>(it, [](T x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: return run_unary<T, T>(it, [](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Sin: return run_unary<T, T>(it, [](T x) { return std::sin(x); });
    case UnaryOp::Cos: return run_unary<T, T>(it, [](T x) { return std::cos(x); });
    case UnaryOp::Tan: return run_unary<T, T>(it, [](T x) { return std::tan(x); });
    case UnaryOp::Asin: return run_unary<T, T>(it, [](T x) { return std::asin(x); });
    case UnaryOp::Acos: return run_unary<T, T>(it, [](T x) { return std::acos(x); });
    case UnaryOp::Atan: return run_unary<T, T>(it, [](T x) { return std::atan(x); });
    case UnaryOp::Sinh: return run_unary<T, T>(it, [](T x) { return std::sinh(x); });
    case UnaryOp::Cosh: return run_unary<T, T>(it, [](T x) { return std::cosh(x); });
    case UnaryOp::Tanh: return run_unary<T, T>(it, [](T x) { return vtanh(x); });
    case UnaryOp::Asinh: return run_unary<T, T>(it, [](T x) { return std::asinh(x); });
    case UnaryOp::Acosh: return run_unary<T, T>(it, [](T x) { return std::acosh(x); });
    case UnaryOp::Atanh: return run_unary<T, T>(it, [](T x) { return std::atanh(x); });
    case UnaryOp::Erf: return run_unary<T, T>(it, [](T x) { return verf(x); });
    case UnaryOp::Erfc: return run_unary<T, T>(it, [](T x) { return T(std::erfc(x)); });
    case UnaryOp::Sigmoid: return run_unary<T, T>(it, [](T x) { return vsigmoid(x); });
    case UnaryOp::LogSigmoid:
      return run_unary<T, T>(it, [](T x) { return (x < T(0) ? x : T(0)) - vlog1p(vexp(-std::fabs(x))); });
    case UnaryOp::Gelu: return run_unary<T, T>(it, [](T x) { return gelu_scalar(x); });
    case UnaryOp::GeluTanh: return run_unary<T, T>(it, [](T x) { return gelu_tanh_scalar(x); });
    case UnaryOp::Silu: return run_unary<T, T>(it, [](T x) { return x * vsigmoid(x); });
    case UnaryOp::Mish:
      return run_unary<T, T>(it, [](T x) {
        T sp = x > T(20) ? x : vlog1p(vexp(x));
        return x * vtanh(sp);
      });
    case UnaryOp::Softplus:  // p0 = beta, p1 = threshold
      return run_unary<T, T>(it, [a, b](T x) { return x * a > b ? x : vlog1p(vexp(x * a)) / a; });
    case UnaryOp::LeakyRelu: return run_unary<T, T>(it, [a](T x) { return x > T(0) ? x : x * a; });
    case UnaryOp::Elu:  // p0 = alpha, p1 = scale (selu reuses it)
      return run_unary<T, T>(it, [a, b](T x) { return x > T(0) ? b * x : b * a * vexpm1(x); });
    case UnaryOp::Selu:
      return run_unary<T, T>(it, [](T x) {
        const T alpha = T(1.6732632423543772848170429916717), scale = T(1.0507009873554804934193349852946);
        return x > T(0) ? scale * x : scale * alpha * vexpm1(x);
      });
    case UnaryOp::Hardsigmoid:
      return run_unary<T, T>(it, [](T x) { return clamp_nan(x / T(6) + T(0.5), T(0), T(1)); });
    case UnaryOp::Hardswish:
      return run_unary<T, T>(it, [](T x) { return x * clamp_nan(x / T(6) + T(0.5), T(0), T(1)); });
    case UnaryOp::Frac: return run_unary<T, T>(it, [](T x) { return x - std::trunc(x); });
    case UnaryOp::Floor: return run_unary<T, T>(it, [](T x) { return std::floor(x); });
    case UnaryOp::Ceil: return run_unary<T, T>(it, [](T x) { return std::ceil(x); });
    case UnaryOp::Round: return run_unary<T, T>(it, [](T x) { return std::nearbyint(x); });
    case UnaryOp::Trunc: return run_unary<T, T>(it, [](T x) { return std::trunc(x); });
    case UnaryOp::NanToNum:  // p0 = nan value, p1 = +inf value; -inf becomes -p1's lowest
      return run_unary<T, T>(it, [a, b](T x) {
        return x != x ? a : (x == T(INFINITY) ? b : (x == T(-INFINITY) ? -b : x));
      });
    case UnaryOp::IsNan: return run_unary<bool, T>(it, [](T x) { return x != x; });
    case UnaryOp::IsInf: return run_unary<bool, T>(it, [](T x) { return std::fabs(x) == T(INFINITY); });
    case UnaryOp::IsFinite: return run_unary<bool, T>(it, [](T x) { return std::fabs(x) < T(INFINITY); });
    case UnaryOp::Signbit: return run_unary<bool, T>(it, [](T x) { return std::signbit(x); });
    default: break;
  }
}

// Ops defined for every numeric type (floating ones fall through from unary_kernel).
template <typename T>
void unary_numeric(UnaryOp op, const StridedIter& it, double p0, double p1) {
  const T lo = T(p0), hi = T(p1);
  switch (op) {
    case UnaryOp::Neg:
      if constexpr (std::is_integral_v<T>)  // wraps like torch instead of overflowing UB
        return run_unary<T, T>(it, [](T x) { return T(typename std::make_unsigned<T>::type(0) - typename std::make_unsigned<T>::type(x)); });
      else
        return run_unary<T, T>(it, [](T x) { return -x; });
    case UnaryOp::Abs:
      if constexpr (std::is_unsigned_v<T>) return run_unary<T, T>(it, [](T x) { return x; });
      else if constexpr (std::is_floating_point_v<T>) return run_unary<T, T>(it, [](T x) { return std::fabs(x); });
      else return run_unary<T, T>(it, [](T x) { return x < T(0) ? T(-x) : x; });
    case UnaryOp::Sign:
      return run_unary<T, T>(it, [](T x) { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x); });
    case UnaryOp::Square: return run_unary<T, T>(it, [](T x) { return T(x * x); });
    case UnaryOp::Relu: return run_unary<T, T>(it, [](T x) { return x < T(0) ? T(0) : x; });
    case UnaryOp::Relu6: return run_unary<T, T>(it, [](T x) { return clamp_nan(x, T(0), T(6)); });
    case UnaryOp::Hardtanh:
    case UnaryOp::Clamp: return run_unary<T, T>(it, [lo, hi](T x) { return clamp_nan(x, lo, hi); });
    case UnaryOp::LogicalNot: return run_unary<bool, T>(it, [](T x) { return x == T(0); });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    unary_floating<T>(op, it, p0, p1);
  } else {
    switch (op) {
      case UnaryOp::BitwiseNot: return run_unary<T, T>(it, [](T x) { return T(~x); });
      case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round: case UnaryOp::Trunc: case UnaryOp::NanToNum:
        return run_unary<T, T>(it, [](T x) { return x; });
      case UnaryOp::IsNan: case UnaryOp::IsInf: case UnaryOp::Signbit:
        return run_unary<bool, T>(it, [](T x) { return std::is_signed_v<T> && x < T(0) && false; });
      case UnaryOp::IsFinite: return run_unary<bool, T>(it, [](T) { return true; });
      default: break;
    }
  }
}

void unary_bool(UnaryOp op, const StridedIter& it) {
  switch (op) {
    case UnaryOp::LogicalNot:
    case UnaryOp::BitwiseNot: return run_unary<bool, bool>(it, [](bool x) { return !x; });
    case UnaryOp::Sign: case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round: case UnaryOp::Trunc:
    case UnaryOp::NanToNum:
      return run_unary<bool, bool>(it, [](bool x) { return x; });
    case UnaryOp::IsNan: case UnaryOp::IsInf: case UnaryOp::Signbit:
      return run_unary<bool, bool>(it, [](bool) { return false; });
    case UnaryOp::IsFinite: return run_unary<bool, bool>(it, [](bool) { return true; });
    default: break;
  }
}

void unary_kernel(UnaryOp op, const StridedIter& it, double p0, double p1) {
  switch (it.dtype[1]) {
    case DType::Float32: return unary_numeric<float>(op, it, p0, p1);
    case DType::Float64: return unary_numeric<double>(op, it, p0, p1);
    case DType::Int64: return unary_numeric<int64_t>(op, it, p0, p1);
    case DType::Int32: return unary_numeric<int32_t>(op, it, p0, p1);
    case DType::Int16: return unary_numeric<int16_t>(op, it, p0, p1);
    case DType::Int8: return unary_numeric<int8_t>(op, it, p0, p1);
    case DType::UInt8: return unary_numeric<uint8_t>(op, it, p0, p1);
    case DType::Bool: return unary_bool(op, it);
    default: break;  // half types are computed in float32 by core
  }
}

// ---------------------------------------------------------------- binary

template <typename Out, typename T, typename F>
inline void binary_loop(char** d, const int64_t* s, int64_t n, const F& f) {
  Out* out = reinterpret_cast<Out*>(d[0]);
  const T* a = reinterpret_cast<const T*>(d[1]);
  const T* b = reinterpret_cast<const T*>(d[2]);
  constexpr int64_t so = sizeof(Out), st = sizeof(T);
  if (s[0] == so && s[1] == st && s[2] == st) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (s[0] == so && s[1] == st && s[2] == 0) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (s[0] == so && s[1] == 0 && s[2] == st) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<Out*>(d[0] + i * s[0]) =
          f(*reinterpret_cast<const T*>(d[1] + i * s[1]), *reinterpret_cast<const T*>(d[2] + i * s[2]));
  }
}

template <typename Out, typename T, typename F>
inline void run_binary(const StridedIter& it, const F& f) {
  walk(it, [&](char** d, const int64_t* s, int64_t n) { binary_loop<Out, T>(d, s, n, f); });
}

template <typename T>
inline T nan_max(T a, T b) {  // NaN-propagating, as torch.maximum
  if constexpr (std::is_floating_point_v<T>) return (a != a || a > b) ? a : ((b != b) ? b : (a > b ? a : b));
  else return a > b ? a : b;
}
template <typename T>
inline T nan_min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return (a != a || a < b) ? a : ((b != b) ? b : (a < b ? a : b));
  else return a < b ? a : b;
}

template <typename T>
inline T int_floordiv(T a, T b) {  // b != 0 is checked by core; -1 handled to avoid INT_MIN / -1
  using U = typename std::make_unsigned<T>::type;
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return T(U(0) - U(a));
    T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? T(q - 1) : q;
  } else {
    return a / b;
  }
}
template <typename T>
inline T int_remainder(T a, T b) {  // sign of the divisor, as Python's %
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return T(0);
    T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? T(r + b) : r;
  } else {
    return a % b;
  }
}
template <typename T>
inline T int_pow(T base, T exp) {
  if constexpr (std::is_signed_v<T>) {
    if (exp < 0) return base == T(1) ? T(1) : (base == T(-1) ? ((exp & 1) ? T(-1) : T(1)) : T(0));
  }
  using U = typename std::make_unsigned<T>::type;
  U result = 1, b = U(base);
  uint64_t e = uint64_t(exp);
  while (e) {
    if (e & 1) result = U(result * b);
    b = U(b * b);
    e >>= 1;
  }
  return T(result);
}

template <typename T>
void binary_typed(BinaryOp op, const StridedIter& it) {
  constexpr bool is_float = std::is_floating_point_v<T>;
  switch (op) {
    case BinaryOp::Add: return run_binary<T, T>(it, [](T a, T b) { return T(a + b); });
    case BinaryOp::Sub: return run_binary<T, T>(it, [](T a, T b) { return T(a - b); });
    case BinaryOp::Mul: return run_binary<T, T>(it, [](T a, T b) { return T(a * b); });
    case BinaryOp::Div: return run_binary<T, T>(it, [](T a, T b) { return T(a / b); });
    case BinaryOp::Maximum: return run_binary<T, T>(it, [](T a, T b) { return nan_max(a, b); });
    case BinaryOp::Minimum: return run_binary<T, T>(it, [](T a, T b) { return nan_min(a, b); });
    case BinaryOp::Eq: return run_binary<bool, T>(it, [](T a, T b) { return a == b; });
    case BinaryOp::Ne: return run_binary<bool, T>(it, [](T a, T b) { return a != b; });
    case BinaryOp::Lt: return run_binary<bool, T>(it, [](T a, T b) { return a < b; });
    case BinaryOp::Le: return run_binary<bool, T>(it, [](T a, T b) { return a <= b; });
    case BinaryOp::Gt: return run_binary<bool, T>(it, [](T a, T b) { return a > b; });
    case BinaryOp::Ge: return run_binary<bool, T>(it, [](T a, T b) { return a >= b; });
    default: break;
  }
  if constexpr (is_float) {
    switch (op) {
      case BinaryOp::FloorDivide: return run_binary<T, T>(it, [](T a, T b) { return std::floor(a / b); });
      case BinaryOp::Remainder:
        return run_binary<T, T>(it, [](T a, T b) {
          T r = std::fmod(a, b);
          return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? r + b : r;
        });
      case BinaryOp::Fmod: return run_binary<T, T>(it, [](T a, T b) { return std::fmod(a, b); });
      case BinaryOp::Pow:
        return run_binary<T, T>(it, [](T a, T b) { return b == T(2) ? a * a : T(std::pow(a, b)); });
      case BinaryOp::Fmax: return run_binary<T, T>(it, [](T a, T b) { return std::fmax(a, b); });
      case BinaryOp::Fmin: return run_binary<T, T>(it, [](T a, T b) { return std::fmin(a, b); });
      case BinaryOp::Atan2: return run_binary<T, T>(it, [](T a, T b) { return std::atan2(a, b); });
      case BinaryOp::Hypot: return run_binary<T, T>(it, [](T a, T b) { return std::hypot(a, b); });
      case BinaryOp::Copysign: return run_binary<T, T>(it, [](T a, T b) { return std::copysign(a, b); });
      case BinaryOp::Xlogy:
        return run_binary<T, T>(it, [](T a, T b) { return b != b ? b : (a == T(0) ? T(0) : a * vlog(b)); });
      default: break;
    }
  } else {
    switch (op) {
      case BinaryOp::FloorDivide: return run_binary<T, T>(it, [](T a, T b) { return int_floordiv(a, b); });
      case BinaryOp::Remainder: return run_binary<T, T>(it, [](T a, T b) { return int_remainder(a, b); });
      case BinaryOp::Fmod:
        return run_binary<T, T>(it, [](T a, T b) { return b == T(-1) ? T(0) : T(a % b); });
      case BinaryOp::Pow: return run_binary<T, T>(it, [](T a, T b) { return int_pow(a, b); });
      case BinaryOp::Fmax: return run_binary<T, T>(it, [](T a, T b) { return a > b ? a : b; });
      case BinaryOp::Fmin: return run_binary<T, T>(it, [](T a, T b) { return a < b ? a : b; });
      case BinaryOp::BitwiseAnd: return run_binary<T, T>(it, [](T a, T b) { return T(a & b); });
      case BinaryOp::BitwiseOr: return run_binary<T, T>(it, [](T a, T b) { return T(a | b); });
      case BinaryOp::BitwiseXor: return run_binary<T, T>(it, [](T a, T b) { return T(a ^ b); });
      default: break;
    }
  }
}

void binary_bool(BinaryOp op, const StridedIter& it) {
  switch (op) {
    case BinaryOp::Add: case BinaryOp::LogicalOr: case BinaryOp::BitwiseOr: case BinaryOp::Maximum:
    case BinaryOp::Fmax:
      return run_binary<bool, bool>(it, [](bool a, bool b) { return a || b; });
    case BinaryOp::Mul: case BinaryOp::LogicalAnd: case BinaryOp::BitwiseAnd: case BinaryOp::Minimum:
    case BinaryOp::Fmin:
      return run_binary<bool, bool>(it, [](bool a, bool b) { return a && b; });
    case BinaryOp::LogicalXor: case BinaryOp::BitwiseXor: case BinaryOp::Ne:
      return run_binary<bool, bool>(it, [](bool a, bool b) { return a != b; });
    case BinaryOp::Eq: return run_binary<bool, bool>(it, [](bool a, bool b) { return a == b; });
    case BinaryOp::Lt: return run_binary<bool, bool>(it, [](bool a, bool b) { return !a && b; });
    case BinaryOp::Le: return run_binary<bool, bool>(it, [](bool a, bool b) { return !a || b; });
    case BinaryOp::Gt: return run_binary<bool, bool>(it, [](bool a, bool b) { return a && !b; });
    case BinaryOp::Ge: return run_binary<bool, bool>(it, [](bool a, bool b) { return a || !b; });
    case BinaryOp::Pow: return run_binary<bool, bool>(it, [](bool a, bool b) { return a || !b; });
    default: break;
  }
}

void binary_kernel(BinaryOp op, const StridedIter& it) {
  switch (it.dtype[1]) {
    case DType::Float32: return binary_typed<float>(op, it);
    case DType::Float64: return binary_typed<double>(op, it);
    case DType::Int64: return binary_typed<int64_t>(op, it);
    case DType::Int32: return binary_typed<int32_t>(op, it);
    case DType::Int16: return binary_typed<int16_t>(op, it);
    case DType::Int8: return binary_typed<int8_t>(op, it);
    case DType::UInt8: return binary_typed<uint8_t>(op, it);
    case DType::Bool: return binary_bool(op, it);
    default: break;
  }
}

// ---------------------------------------------------------------- casts

template <typename To, typename From>
inline To convert(From v) {
  if constexpr (std::is_same_v<From, heron::Half>) return convert<To>(heron::half_to_float(v.bits));
  else if constexpr (std::is_same_v<From, heron::BFloat16>) return convert<To>(heron::bf16_to_float(v.bits));
  else if constexpr (std::is_same_v<To, heron::Half>) return heron::Half{heron::float_to_half(float(v))};
  else if constexpr (std::is_same_v<To, heron::BFloat16>) return heron::BFloat16{heron::float_to_bf16(float(v))};
  else if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    // Out-of-range float -> int is undefined in C++; saturate NaN to 0 and clamp the rest.
    if (!(v == v)) return To(0);
    if (v >= From(9.2233720368547758e18)) return To(int64_t(INT64_MAX));
    if (v <= From(-9.2233720368547758e18)) return To(int64_t(INT64_MIN));
    return To(int64_t(v));
  } else return To(v);
}

template <typename To, typename From>
void copy_typed(const StridedIter& it) {
  walk(it, [](char** d, const int64_t* s, int64_t n) {
    unary_loop<To, From>(d, s, n, [](From v) { return convert<To>(v); });
  });
}

template <typename To>
void copy_to(const StridedIter& it) {
  switch (it.dtype[1]) {
    case DType::Bool: return copy_typed<To, bool>(it);
    case DType::UInt8: return copy_typed<To, uint8_t>(it);
    case DType::Int8: return copy_typed<To, int8_t>(it);
    case DType::Int16: return copy_typed<To, int16_t>(it);
    case DType::Int32: return copy_typed<To, int32_t>(it);
    case DType::Int64: return copy_typed<To, int64_t>(it);
    case DType::Float16: return copy_typed<To, heron::Half>(it);
    case DType::BFloat16: return copy_typed<To, heron::BFloat16>(it);
    case DType::Float32: return copy_typed<To, float>(it);
    case DType::Float64: return copy_typed<To, double>(it);
  }
}

template <typename T>  // same-type copies move bytes
void copy_bytes(const StridedIter& it) {
  walk(it, [](char** d, const int64_t* s, int64_t n) { unary_loop<T, T>(d, s, n, [](T v) { return v; }); });
}

void copy_kernel(const StridedIter& it) {
  if (it.dtype[0] == it.dtype[1]) {
    switch (heron::itemsize(it.dtype[0])) {
      case 1: return copy_bytes<uint8_t>(it);
      case 2: return copy_bytes<uint16_t>(it);
      case 4: return copy_bytes<uint32_t>(it);
      default: return copy_bytes<uint64_t>(it);
    }
  }
  switch (it.dtype[0]) {
    case DType::Bool: return copy_to<bool>(it);
    case DType::UInt8: return copy_to<uint8_t>(it);
    case DType::Int8: return copy_to<int8_t>(it);
    case DType::Int16: return copy_to<int16_t>(it);
    case DType::Int32: return copy_to<int32_t>(it);
    case DType::Int64: return copy_to<int64_t>(it);
    case DType::Float16: return copy_to<heron::Half>(it);
    case DType::BFloat16: return copy_to<heron::BFloat16>(it);
    case DType::Float32: return copy_to<float>(it);
    case DType::Float64: return copy_to<double>(it);
  }
}

// where(cond, a, b): moves bytes, so one body per element size serves every dtype.
template <typename T>
void where_typed(const StridedIter& it) {
  walk(it, [](char** d, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == 1 && s[2] == sizeof(T) && s[3] == sizeof(T)) {
      T* out = reinterpret_cast<T*>(d[0]);
      const bool* c = reinterpret_cast<const bool*>(d[1]);
      const T* a = reinterpret_cast<const T*>(d[2]);
      const T* b = reinterpret_cast<const T*>(d[3]);
      for (int64_t i = 0; i < n; ++i) out[i] = c[i] ? a[i] : b[i];
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      bool c = *reinterpret_cast<const bool*>(d[1] + i * s[1]);
      *reinterpret_cast<T*>(d[0] + i * s[0]) = *reinterpret_cast<const T*>(d[c ? 2 : 3] + i * s[c ? 2 : 3]);
    }
  });
}

void where_kernel(const StridedIter& it) {
  switch (heron::itemsize(it.dtype[0])) {
    case 1: return where_typed<uint8_t>(it);
    case 2: return where_typed<uint16_t>(it);
    case 4: return where_typed<uint32_t>(it);
    default: return where_typed<uint64_t>(it);
  }
}

}  // namespace HERON_ISA_NAMESPACE
