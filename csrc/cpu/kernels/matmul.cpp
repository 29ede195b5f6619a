// A plain cache-blocked GEMM (i-k-j order, vectorised over columns). It is the reference
// kernel until the packed, register-blocked GEMM of issue #3 replaces it. Rows of C are split
// across threads; K is never split, so results do not depend on the thread count.
#include <cstdint>
#include <cstring>

#include "core/kernel_params.h"
#include "cpu/loop.h"

namespace HERON_ISA_NAMESPACE {

template <typename T>
void matmul_typed(const heron::MatmulParams& p) {
  constexpr int64_t kRowBlock = 16, kKBlock = 256;
  const int64_t row_blocks = (p.m + kRowBlock - 1) / kRowBlock;
  parallel_chunks(p.batch * row_blocks, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      int64_t b = t / row_blocks, i0 = (t % row_blocks) * kRowBlock;
      int64_t i1 = std::min(p.m, i0 + kRowBlock);
      const T* A = reinterpret_cast<const T*>(p.a) + b * p.a_batch;
      const T* B = reinterpret_cast<const T*>(p.b) + b * p.b_batch;  // rows contiguous (b_cs == 1)
      T* C = reinterpret_cast<T*>(p.c) + b * p.c_batch;
      for (int64_t i = i0; i < i1; ++i) std::memset(C + i * p.c_rs, 0, sizeof(T) * p.n);
      for (int64_t k0 = 0; k0 < p.k; k0 += kKBlock) {
        int64_t k1 = std::min(p.k, k0 + kKBlock);
        for (int64_t i = i0; i < i1; ++i) {
          T* c = C + i * p.c_rs;
          for (int64_t k = k0; k < k1; ++k) {
            const T a = A[i * p.a_rs + k * p.a_cs];
            const T* brow = B + k * p.b_rs;
            for (int64_t j = 0; j < p.n; ++j) c[j] += a * brow[j];
          }
        }
      }
    }
  });
}

void matmul_kernel(const heron::MatmulParams& p) {
  if (p.dtype == heron::DType::Float32) matmul_typed<float>(p);
  else matmul_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
