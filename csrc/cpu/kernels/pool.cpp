// Max pooling over H x W planes, forward (values and positions) and backward (each output's
// gradient added at its position). Planes are independent tasks, and within a plane the
// backward adds in output order, so any thread count gives the same bits.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/kernel_params.h"
#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::MaxPoolParams;

constexpr int64_t kParallelElements = 1 << 15;

// First tap index >= 0 of a window starting at `start` with taps `dilation` apart, and one
// past the last tap inside [0, size).
struct TapRange {
  int64_t first, end;
};
inline TapRange taps(int64_t start, int64_t kernel, int64_t dilation, int64_t size) {
  int64_t first = start;
  if (first < 0) first += (-first + dilation - 1) / dilation * dilation;
  const int64_t last = std::min(start + (kernel - 1) * dilation, size - 1);
  return {first, last >= first ? last + 1 : first};
}

template <typename T>
void forward_plane(const MaxPoolParams& p, const T* x, T* y, int64_t* index) {
  for (int64_t oy = 0; oy < p.out_h; ++oy) {
    const TapRange rows = taps(oy * p.stride_h - p.pad_h, p.kernel_h, p.dilation_h, p.in_h);
    for (int64_t ox = 0; ox < p.out_w; ++ox) {
      const TapRange cols = taps(ox * p.stride_w - p.pad_w, p.kernel_w, p.dilation_w, p.in_w);
      // As torch: the first tap inside the plane until something beats -inf; NaN always wins.
      int64_t best_at = rows.first * p.in_w + cols.first;
      T best = -std::numeric_limits<T>::infinity();
      for (int64_t iy = rows.first; iy < rows.end; iy += p.dilation_h) {
        const T* row = x + iy * p.in_w;
        for (int64_t ix = cols.first; ix < cols.end; ix += p.dilation_w) {
          const T v = row[ix];
          if (v > best || std::isnan(v)) best = v, best_at = iy * p.in_w + ix;
        }
      }
      y[oy * p.out_w + ox] = best;
      index[oy * p.out_w + ox] = best_at;
    }
  }
}

template <typename T>
void backward_plane(const MaxPoolParams& p, const T* grad_y, const int64_t* index, T* grad_x) {
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  std::fill_n(grad_x, in_plane, T(0));
  for (int64_t o = 0; o < out_plane; ++o) {
    const int64_t at = index[o];
    if (at >= 0 && at < in_plane) grad_x[at] += grad_y[o];
  }
}

template <typename T>
void max_pool_typed(const MaxPoolParams& p) {
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const bool parallel = p.planes * (in_plane + out_plane) >= kParallelElements && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t plane = 0; plane < p.planes; ++plane) {
    if (p.backward) {
      backward_plane(p, reinterpret_cast<const T*>(p.grad_y) + plane * out_plane, p.saved_indices + plane * out_plane,
                     reinterpret_cast<T*>(p.grad_x) + plane * in_plane);
    } else {
      forward_plane(p, reinterpret_cast<const T*>(p.x) + plane * in_plane, reinterpret_cast<T*>(p.y) + plane * out_plane,
                    p.indices + plane * out_plane);
    }
  }
}

}  // namespace

void max_pool_kernel(const MaxPoolParams& p) {
  if (p.dtype == heron::DType::Float32) max_pool_typed<float>(p);
  else max_pool_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
