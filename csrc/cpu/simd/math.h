// Branch-free float32 math (Cephes-style range reduction and polynomials) written so that
// GCC vectorises loops calling it at every ISA level. float64 uses libm.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

static inline uint32_t as_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static inline float as_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline float floor_f(float t) {  // floor through truncation: SSE2 has no roundps
  float i = float(int32_t(t));
  return i > t ? i - 1.0f : i;
}
static inline float pow2i(int32_t n) { return as_float(uint32_t(n + 127) << 23); }

static inline float exp_f(float x) {
  const float hi = 88.72283905206835f, lo = -103.97208f;
  float xc = x < lo ? lo : (x > hi ? hi : x);
  float n = floor_f(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  float y = p * r * r + r + 1.0f;
  int32_t ni = int32_t(n);
  int32_t n1 = ni >> 1;  // two half-scalings keep 2^n representable down to subnormals
  float res = y * pow2i(n1) * pow2i(ni - n1);
  res = x > hi ? INFINITY : res;
  return x < lo ? 0.0f : res;
}

static inline float log_f(float x) {
  bool tiny = x < 1.17549435e-38f;  // subnormal: rescale first
  float xs = tiny ? x * 8388608.0f : x;
  uint32_t bits = as_bits(xs);
  float e = float(int32_t((bits >> 23) & 0xff) - 126) - (tiny ? 23.0f : 0.0f);
  float m = as_float((bits & 0x807fffffu) | 0x3f000000u);  // [0.5, 1)
  bool small = m < 0.707106781186547524f;
  e = small ? e - 1.0f : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  float z = m * m;
  float y = 7.0376836292E-2f;
  y = y * m - 1.1514610310E-1f;
  y = y * m + 1.1676998740E-1f;
  y = y * m - 1.2420140846E-1f;
  y = y * m + 1.4249322787E-1f;
  y = y * m - 1.6668057665E-1f;
  y = y * m + 2.0000714765E-1f;
  y = y * m - 2.4999993993E-1f;
  y = y * m + 3.3333331174E-1f;
  y = y * m * z;
  y += e * -2.12194440e-4f;
  y += -0.5f * z;
  float r = m + y + e * 0.693359375f;
  r = x == INFINITY ? INFINITY : r;
  r = x == 0.0f ? -INFINITY : r;
  r = x < 0.0f ? NAN : r;
  return x != x ? x : r;
}

// log(1 + t) without losing t when it is small.
static inline float log1p_f(float t) {
  float u = 1.0f + t;
  float d = u - 1.0f;
  float l = log_f(u);
  float corrected = l * (t / d);
  return d == 0.0f ? t : (u == INFINITY ? u : corrected);
}

// exp(x) - 1 without losing x when it is small (Kahan's trick).
static inline float expm1_f(float x) {
  float u = exp_f(x);
  float um1 = u - 1.0f;
  float r = um1 * (x / log_f(u));
  r = u == 1.0f ? x : r;
  r = um1 == -1.0f ? -1.0f : r;
  return u == INFINITY ? u : r;
}

static inline float tanh_f(float x) {
  float ax = std::fabs(x);
  float z = x * x;
  float p = -5.70498872745E-3f;
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  float small = x + x * z * p;
  float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
  big = std::copysign(big, x);
  return ax < 0.625f ? small : big;
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

// erf: Taylor series near 0, Abramowitz-Stegun 7.1.26 beyond (|error| < 1.5e-7).
static inline float erf_f(float x) {
  float ax = std::fabs(x);
  float z = x * x;
  float series = x * (1.1283791671f + z * (-0.3761263890f + z * (0.1128379167f + z * (-0.0268661706f + z * 0.0052239776f))));
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  float tail = 1.0f - poly * exp_f(-z);
  tail = std::copysign(tail, x);
  return ax < 0.5f ? series : tail;
}

// float64: libm. Overloads let one functor body serve both types.
static inline float vexp(float x) { return exp_f(x); }
static inline double vexp(double x) { return std::exp(x); }
static inline float vlog(float x) { return log_f(x); }
static inline double vlog(double x) { return std::log(x); }
static inline float vlog1p(float x) { return log1p_f(x); }
static inline double vlog1p(double x) { return std::log1p(x); }
static inline float vexpm1(float x) { return expm1_f(x); }
static inline double vexpm1(double x) { return std::expm1(x); }
static inline float vtanh(float x) { return tanh_f(x); }
static inline double vtanh(double x) { return std::tanh(x); }
static inline float verf(float x) { return erf_f(x); }
static inline double verf(double x) { return std::erf(x); }
template <typename T>
static inline T vsigmoid(T x) { return T(1) / (T(1) + vexp(-x)); }

}  // namespace HERON_ISA_NAMESPACE
