// heron's GEMM on the calling thread, for kernels that are already parallel over independent
// problems (attention blocks, recurrent steps) and need many small products without the
// threading and batch machinery of matmul_kernel. Defined in kernels/gemm.cpp for each ISA.
#pragma once
#include <cstdint>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

// C[m x n] = alpha * A[m x k] @ B[k x n] + beta * C (C not read when beta == 0). A and B by
// element strides (transposed views cost nothing), C rows c_rs apart. The summation order
// depends only on the sizes. Returns false when a scratch buffer cannot be allocated.
template <typename T>
bool gemm_serial(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t c_rs);

extern template bool gemm_serial<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                        const float*, int64_t, int64_t, float, float*, int64_t);
extern template bool gemm_serial<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                         const double*, int64_t, int64_t, double, double*, int64_t);

// B operands that are computed rather than read (a convolution's input patches: an implicit
// GEMM, with no im2col buffer). pack() writes B[k0 : k0+kc, j0 : j0+nc] as micro-panels of
// gemm_panel_width<T>() columns, element (k, j) of the block at
// out[(j / width) * width * kc + k * width + j % width], and zeros in the columns of the last
// panel past nc.
template <typename T>
class PanelSource {
 public:
  virtual void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, T* out) const = 0;

 protected:
  ~PanelSource() = default;
};

template <typename T>
int64_t gemm_panel_width();

// gemm_serial with B supplied by a PanelSource (always the packed, cache-blocked path).
template <typename T>
bool gemm_serial_panels(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
                        const PanelSource<T>& b, T beta, T* c, int64_t c_rs);

extern template bool gemm_serial_panels<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                               const PanelSource<float>&, float, float*, int64_t);
extern template bool gemm_serial_panels<double>(int64_t, int64_t, int64_t, double, const double*, int64_t,
                                                int64_t, const PanelSource<double>&, double, double*, int64_t);
extern template int64_t gemm_panel_width<float>();
extern template int64_t gemm_panel_width<double>();

}  // namespace HERON_ISA_NAMESPACE
