// Walking a StridedIter, serially or split into fixed-size chunks over OpenMP threads.
// Chunk boundaries depend only on sizes, never on the thread count.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "core/kernel_params.h"
#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

constexpr int64_t kElementwiseGrain = 32768;

// f(begin, end) for fixed-size chunks of [0, n), in parallel when worthwhile.
template <typename F>
inline void parallel_chunks(int64_t n, int64_t grain, const F& f) {
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks <= 1 || omp_get_max_threads() == 1 || omp_in_parallel()) {
    for (int64_t c = 0; c < chunks; ++c) f(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) f(c * grain, std::min(n, (c + 1) * grain));
}

// f(char** ptrs, const int64_t* inner_strides, int64_t n) over elements [begin, end).
template <typename F>
inline void walk_range(const heron::StridedIter& it, int64_t begin, int64_t end, const F& f) {
  const int nops = it.nops, nd = it.ndim;
  int64_t coord[heron::kMaxDims];
  char* ptr[heron::kMaxOperands];
  int64_t inner[heron::kMaxOperands];
  int64_t rem = begin;
  for (int d = 0; d < nd; ++d) {
    coord[d] = rem % it.shape[d];
    rem /= it.shape[d];
  }
  for (int k = 0; k < nops; ++k) {
    char* p = it.data[k];
    for (int d = 0; d < nd; ++d) p += coord[d] * it.strides[k][d];
    ptr[k] = p;
    inner[k] = it.strides[k][0];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = std::min(end - pos, it.shape[0] - coord[0]);
    f(ptr, inner, n);
    pos += n;
    coord[0] += n;
    for (int k = 0; k < nops; ++k) ptr[k] += n * it.strides[k][0];
    for (int d = 0; d + 1 < nd && coord[d] == it.shape[d]; ++d) {
      coord[d] = 0;
      ++coord[d + 1];
      for (int k = 0; k < nops; ++k) ptr[k] += it.strides[k][d + 1] - it.shape[d] * it.strides[k][d];
    }
  }
}

template <typename F>
inline void walk(const heron::StridedIter& it, const F& f) {
  parallel_chunks(it.numel, kElementwiseGrain, [&](int64_t b, int64_t e) { walk_range(it, b, e, f); });
}

}  // namespace HERON_ISA_NAMESPACE
