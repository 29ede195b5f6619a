// float16 and bfloat16 storage types. Arithmetic happens in float32: core casts half
// inputs to float32, runs the float32 kernel and rounds the result once, as torch does on CPU.
#pragma once
// Functions are static so that kernel files compiled per ISA each keep their own copy
// (no COMDAT merging of an AVX-512 body into baseline callers).
#include <cstdint>
#include <cstring>

namespace heron {

struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

static inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE binary16 <-> binary32 with round-to-nearest-even, subnormals, inf and NaN.
static inline float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return bits_float(sign);
    float v = float(mant) * (1.0f / 16777216.0f);  // mant * 2^-24
    return (h & 0x8000) ? -v : v;
  }
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

static inline uint16_t float_to_half(float f) {
  uint32_t u = float_bits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00 : 0x7c00);
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to inf
  if (abs < 0x38800000u) {                       // subnormal or zero in half
    float v = bits_float(abs) * 16777216.0f;     // scale by 2^24, round to int (RNE)
    uint32_t r = uint32_t(__builtin_nearbyintf(v));
    return sign | uint16_t(r);
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return sign | uint16_t((rounded - 0x38000000u) >> 13);
}

static inline float bf16_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }

static inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

}  // namespace heron
