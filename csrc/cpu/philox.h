// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"). Draw i of a
// stream keyed by (seed, offset) is a pure function of i, so any thread split gives the same
// numbers.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

struct Philox4 {
  uint32_t v[4];
};

static inline Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = uint32_t(p1);
    c2 = n2;
    c3 = uint32_t(p0);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

static inline float uniform01_f(uint32_t r) { return float(r >> 8) * (1.0f / 16777216.0f); }  // [0, 1)
static inline double uniform01_d(uint32_t hi, uint32_t lo) {
  return double(((uint64_t(hi) << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

// ------------------------------------------------------------------------------ dropout stream
// A dropout mask drawn one 32-bit word per element: element e of the stream keyed
// (seed, offset) reads word e % 4 of counter block offset + e / 4, and is kept when that
// word's uniform (uniform01_f) is below keep_prob. Kept elements are scaled by 1 / keep_prob
// (0 when keep_prob is 0). The fused attention draws its mask row by row with apply_dropout;
// the mask entry (heron._C.dropout_mask) fills a whole tensor with the same numbers.
struct DropoutStream {
  uint64_t seed, offset;
  uint32_t keep_below;  // kept when word >> 8 < keep_below: uniform01_f(word) < keep_prob, exactly
  double scale;

  DropoutStream(uint64_t seed_, uint64_t offset_, double keep_prob)
      : seed(seed_),
        offset(offset_),
        keep_below(uint32_t(std::ceil(double(float(keep_prob)) * 16777216.0))),
        scale(keep_prob > 0 ? 1.0 / keep_prob : 0.0) {}
};

// The 32 words of counter blocks first .. first + 7 in stream order: words[4 b + w] is word w
// of block first + b.
static inline void philox8(uint64_t seed, uint64_t first, uint32_t (&words)[32]) {
#if defined(__AVX2__)
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), sign = _mm256_set1_epi32(INT32_MIN);
  // 64-bit counters first + b as low and high words; a lane whose low word wrapped carries.
  const __m256i first_lo = _mm256_set1_epi32(int(uint32_t(first)));
  __m256i c0 = _mm256_add_epi32(first_lo, lane);
  const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(first_lo, sign), _mm256_xor_si256(c0, sign));
  __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32(int(uint32_t(first >> 32))), wrapped);
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  const __m256i m0 = _mm256_set1_epi32(int(0xD2511F53u)), m1 = _mm256_set1_epi32(int(0xCD9E8D57u));
  // The 32 x 32 -> 64-bit product of every lane, as its high and low words.
  auto mulhilo = [](__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
    const __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  };
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo(c0, m0, hi0, lo0);
    mulhilo(c2, m1, hi1, lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(int(k0)));
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(int(k1)));
    c1 = lo1, c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  // Transpose (word, block) to stream order: 128-bit lane halves hold blocks b and b + 4.
  const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpackhi_epi32(c0, c1);
  const __m256i t2 = _mm256_unpacklo_epi32(c2, c3), t3 = _mm256_unpackhi_epi32(c2, c3);
  const __m256i b04 = _mm256_unpacklo_epi64(t0, t2), b15 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i b26 = _mm256_unpacklo_epi64(t1, t3), b37 = _mm256_unpackhi_epi64(t1, t3);
  __m256i* out = reinterpret_cast<__m256i*>(words);
  _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(b04, b15, 0x20));
  _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(b26, b37, 0x20));
  _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(b04, b15, 0x31));
  _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(b26, b37, 0x31));
#else
  for (int b = 0; b < 8; ++b) {
    const Philox4 block = philox(seed, first + uint64_t(b));
    for (int w = 0; w < 4; ++w) words[4 * b + w] = block.v[w];
  }
#endif
}

// x[j] = keep(e0 + j) ? x[j] * scale : 0 for j < n.
template <typename T>
inline void apply_dropout(T* x, int64_t n, const DropoutStream& s, uint64_t e0) {
  const T scale = T(s.scale);
  const uint32_t keep_below = s.keep_below;
  uint32_t words[32];
  for (int64_t j = 0; j < n;) {
    const uint64_t e = e0 + uint64_t(j);
    philox8(s.seed, s.offset + e / 4, words);
    const uint32_t* w = words + e % 4;
    const int64_t count = std::min<int64_t>(n - j, 32 - int64_t(e % 4));
    T* xs = x + j;
    for (int64_t t = 0; t < count; ++t) xs[t] = (w[t] >> 8) < keep_below ? xs[t] * scale : T(0);
    j += count;
  }
}

}  // namespace HERON_ISA_NAMESPACE
