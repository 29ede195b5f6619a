// An 8 x 8 float32 block transposed through registers (eight row loads, 24 shuffles, eight
// row stores) instead of 64 scalar stores scattered over eight cache lines. Written with
// 32-byte GCC vectors, so it compiles at every ISA level (two SSE registers per vector on
// the baseline).
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

typedef float v8f __attribute__((vector_size(32)));

// dst[i * dst_stride + j] = src[j * src_stride + i] for i, j < 8.
inline void transpose_8x8(const float* src, int64_t src_stride, float* dst, int64_t dst_stride) {
  v8f r[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&r[i], src + i * src_stride, sizeof(v8f));
  // Pairs of rows interleaved (within each 128-bit half): t[2m] holds elements 0, 1, 4, 5 of
  // rows 2m and 2m+1, t[2m+1] elements 2, 3, 6, 7.
  v8f t[8];
  for (int m = 0; m < 4; ++m) {
    t[2 * m] = __builtin_shufflevector(r[2 * m], r[2 * m + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[2 * m + 1] = __builtin_shufflevector(r[2 * m], r[2 * m + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  // Quads: u[q] for q < 4 holds columns q and q + 4 of rows 0-3, u[q + 4] the same of rows 4-7.
  v8f u[8];
  for (int h = 0; h < 2; ++h) {
    const v8f *a = t + 4 * h, *b = t + 4 * h + 2;
    u[4 * h + 0] = __builtin_shufflevector(a[0], b[0], 0, 1, 8, 9, 4, 5, 12, 13);
    u[4 * h + 1] = __builtin_shufflevector(a[0], b[0], 2, 3, 10, 11, 6, 7, 14, 15);
    u[4 * h + 2] = __builtin_shufflevector(a[1], b[1], 0, 1, 8, 9, 4, 5, 12, 13);
    u[4 * h + 3] = __builtin_shufflevector(a[1], b[1], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int q = 0; q < 4; ++q) {
    const v8f low = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    const v8f high = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(dst + q * dst_stride, &low, sizeof(v8f));
    std::memcpy(dst + (q + 4) * dst_stride, &high, sizeof(v8f));
  }
}

}  // namespace HERON_ISA_NAMESPACE
