// Per-thread scratch buffers for the kernels: 64-byte aligned, grown on demand and kept for the
// next call. Each user owns fixed slots, so that a kernel calling another (a convolution
// calling the GEMM) never hands out a buffer that is still in use.
#pragma once
#include <cstdint>
#include <cstdlib>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

enum ScratchSlot : int {
  kGemmA,      // packed A panels (also the small path's edge strip and gemv's accumulators)
  kGemmB,      // packed B panels (also gemv's gathered vector)
  kGemmBias,   // the zero-padded bias row
  kConvBlock,  // a convolution's patch block or canvas
  kConvLanes,  // the direct weight gradient's per-lane sums
  kScratchSlots
};

// Null when the memory cannot be had (the caller reports it).
template <typename T>
T* scratch(ScratchSlot slot, int64_t elements) {
  struct Buffer {
    void* p = nullptr;
    int64_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  static thread_local Buffer buffers[kScratchSlots];
  Buffer& buf = buffers[slot];
  const int64_t bytes = (elements * int64_t(sizeof(T)) + 63) / 64 * 64;
  if (bytes > buf.bytes) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, size_t(bytes));
    buf.bytes = buf.p ? bytes : 0;
  }
  return static_cast<T*>(buf.p);
}

}  // namespace HERON_ISA_NAMESPACE
