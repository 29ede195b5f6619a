// float32 transcendental math on SIMD vectors (GCC vector extensions; the width follows the ISA
// level being compiled: 16, 32 or 64 bytes). Cephes-style range reduction and polynomials,
// branch-free. One implementation per function: scalar callers go through a broadcast vector,
// and loop tails run on a padded vector, so every element sees the same arithmetic.
// float64 uses libm.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX2__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif
constexpr int kFloatLanes = kVecBytes / 4;
typedef float vf __attribute__((vector_size(kVecBytes)));
typedef int32_t vi __attribute__((vector_size(kVecBytes)));

static inline vf splat(float v) { return v - vf{}; }  // x - 0 == x always: folds to a broadcast
static inline vf as_vf(vi v) { return (vf)v; }  // same-size vector casts reinterpret the bits
static inline vi as_vi(vf v) { return (vi)v; }
static inline vf vabs(vf x) { return as_vf(as_vi(x) & 0x7fffffff); }
static inline vf vcopysign(vf mag, vf sign) {
  return as_vf((as_vi(mag) & 0x7fffffff) | (as_vi(sign) & int32_t(0x80000000u)));
}
static inline vf vfloor(vf t) {  // through truncation: SSE2 has no roundps
  vf i = __builtin_convertvector(__builtin_convertvector(t, vi), vf);
  return i > t ? i - 1.0f : i;
}

static inline vf exp_v(vf x) {
  const float hi = 88.72283905206835f, lo = -103.97208f;
  vf xc = x < lo ? splat(lo) : (x > hi ? splat(hi) : x);
  vf n = vfloor(xc * 1.44269504088896341f + 0.5f);
  vf r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  vf p = r * 1.9875691500E-4f + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  vf y = p * r * r + r + 1.0f;
  vi ni = __builtin_convertvector(n, vi);
  vi n1 = ni >> 1;  // two half-scalings keep 2^n representable down to subnormals
  vf res = y * as_vf((n1 + 127) << 23) * as_vf((ni - n1 + 127) << 23);
  res = x > hi ? splat(INFINITY) : res;
  res = x < lo ? splat(0.0f) : res;
  return x != x ? x : res;
}

static inline vf log_v(vf x) {
  vi tiny = x < 1.17549435e-38f;  // subnormal: rescale first
  vf xs = tiny ? x * 8388608.0f : x;
  vi bits = as_vi(xs);
  vf e = __builtin_convertvector(((bits >> 23) & 0xff) - 126, vf) - (tiny ? splat(23.0f) : splat(0.0f));
  vf m = as_vf((bits & int32_t(0x807fffffu)) | 0x3f000000);  // [0.5, 1)
  vi small = m < 0.707106781186547524f;
  e = small ? e - 1.0f : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  vf z = m * m;
  vf y = m * 7.0376836292E-2f - 1.1514610310E-1f;
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
  vf r = m + y + e * 0.693359375f;
  r = x == INFINITY ? splat(INFINITY) : r;
  r = x == 0.0f ? splat(-INFINITY) : r;
  r = x < 0.0f ? splat(NAN) : r;
  return x != x ? x : r;
}

// log(1 + t) without losing t when it is small.
static inline vf log1p_v(vf t) {
  vf u = t + 1.0f;
  vf d = u - 1.0f;
  vf corrected = log_v(u) * (t / (d == 0.0f ? splat(1.0f) : d));
  return d == 0.0f ? t : (u == INFINITY ? u : corrected);
}

// exp(x) - 1 without losing x when it is small (Kahan's trick).
static inline vf expm1_v(vf x) {
  vf u = exp_v(x);
  vf um1 = u - 1.0f;
  vf lu = log_v(u);
  vf r = um1 * (x / (lu == 0.0f ? splat(1.0f) : lu));
  r = u == 1.0f ? x : r;
  r = um1 == -1.0f ? splat(-1.0f) : r;
  return u == INFINITY ? u : r;
}

static inline vf tanh_v(vf x) {
  vf ax = vabs(x);
  vf z = x * x;
  vf p = z * -5.70498872745E-3f + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  vf small = x + x * z * p;
  vf big = vcopysign(1.0f - 2.0f / (exp_v(ax * 2.0f) + 1.0f), x);
  return ax < 0.625f ? small : big;
}

static inline vf sigmoid_v(vf x) { return 1.0f / (exp_v(-x) + 1.0f); }

// erf: Taylor series near 0, Abramowitz-Stegun 7.1.26 beyond (|error| < 1.5e-7).
static inline vf erf_v(vf x) {
  vf ax = vabs(x);
  vf z = x * x;
  vf series = x * (1.1283791671f + z * (-0.3761263890f + z * (0.1128379167f + z * (-0.0268661706f + z * 0.0052239776f))));
  vf t = 1.0f / (ax * 0.3275911f + 1.0f);
  vf poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  vf tail = vcopysign(1.0f - poly * exp_v(-z), x);
  return ax < 0.5f ? series : tail;
}

// out[i] = f(in[i]) over contiguous floats; the tail runs through a zero-padded vector.
template <typename F>
inline void map_floats(float* out, const float* in, int64_t n, const F& f) {
  int64_t i = 0;
  for (; i + kFloatLanes <= n; i += kFloatLanes) {
    vf v;
    std::memcpy(&v, in + i, sizeof(vf));
    v = f(v);
    std::memcpy(out + i, &v, sizeof(vf));
  }
  if (i < n) {
    vf v = {};
    std::memcpy(&v, in + i, size_t(n - i) * sizeof(float));
    v = f(v);
    std::memcpy(out + i, &v, size_t(n - i) * sizeof(float));
  }
}

template <typename F>
inline float scalar_via_vector(float x, const F& f) {
  return f(splat(x))[0];
}

// Scalar entry points (float: the vector code on lane 0; double: libm). One functor body can
// then serve both element types.
static inline float vexp(float x) { return scalar_via_vector(x, exp_v); }
static inline double vexp(double x) { return std::exp(x); }
static inline float vlog(float x) { return scalar_via_vector(x, log_v); }
static inline double vlog(double x) { return std::log(x); }
static inline float vlog1p(float x) { return scalar_via_vector(x, log1p_v); }
static inline double vlog1p(double x) { return std::log1p(x); }
static inline float vexpm1(float x) { return scalar_via_vector(x, expm1_v); }
static inline double vexpm1(double x) { return std::expm1(x); }
static inline float vtanh(float x) { return scalar_via_vector(x, tanh_v); }
static inline double vtanh(double x) { return std::tanh(x); }
static inline float verf(float x) { return scalar_via_vector(x, erf_v); }
static inline double verf(double x) { return std::erf(x); }
// GELU in both forms, shared by the elementwise kernels and the GEMM epilogue so that a fused
// Linear+GELU rounds exactly like linear() followed by gelu().
static inline vf gelu_v(vf x) { return 0.5f * x * (1.0f + erf_v(x * 0.70710678118654752440f)); }
static inline vf gelu_tanh_v(vf x) {
  return 0.5f * x * (1.0f + tanh_v(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
}
template <typename T>
static inline T gelu_scalar(T x) { return T(0.5) * x * (T(1) + verf(x * T(0.70710678118654752440))); }
template <typename T>
static inline T gelu_tanh_scalar(T x) {
  return T(0.5) * x * (T(1) + vtanh(T(0.79788456080286535588) * (x + T(0.044715) * x * x * x)));
}
template <typename T>
static inline T vsigmoid(T x) { return T(1) / (T(1) + vexp(-x)); }

}  // namespace HERON_ISA_NAMESPACE
