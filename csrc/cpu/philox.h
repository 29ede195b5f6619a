// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"). Draw i of a
// stream keyed by (seed, offset) is a pure function of i, so any thread split gives the same
// numbers.
#pragma once
#include <cstdint>

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

}  // namespace HERON_ISA_NAMESPACE
