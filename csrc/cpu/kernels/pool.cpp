// Max pooling over H x W planes, forward (values and positions) and backward (each output's
// gradient added at its position), and average pooling over separable windows, forward and
// backward. Planes are independent tasks, and within a plane every sum runs in a fixed order,
// so any thread count gives the same bits.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

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

// The forward works on one output row at a time, tap by tap, in torch's order (window rows,
// then columns: the first maximum wins; NaN always wins): each tap's values for the whole
// output row are folded into the running maxima with selects, which vectorise, instead of a
// data-dependent branch per element. Taps in the padding are skipped (-inf never wins). An
// input row is first split into its stride_w phases (phase r holds columns r, r + stride,
// ...), so every tap reads one phase contiguously: the output column ox of a tap at column
// offset `shift` is input column ox * stride + shift, element ox + floor(shift / stride) of
// phase shift mod stride. Positions are int32 while the row is built (planes below 2^31
// elements).
template <typename T>
struct RowScratch {
  T* phases;  // in_w + stride_w elements: stride_w phases of ceil(in_w / stride_w)
  T* best;
  int32_t* best_at;
  const int64_t* first_col;  // first tap column inside the plane, per output column
};

// phases + r * n, n = ceil(width / stride): row[r], row[r + stride], ... (stride 1: the row).
template <typename T>
const T* split_phases(const T* row, int64_t width, int64_t stride, T* phases) {
  if (stride == 1) return row;
  const int64_t n = (width + stride - 1) / stride;
  int64_t j = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 2) {  // 16 columns at a time into 8 even and 8 odd
      typedef float v8 __attribute__((vector_size(32)));
      for (; 2 * j + 16 <= width; j += 8) {
        v8 lo, hi;
        std::memcpy(&lo, row + 2 * j, sizeof lo);
        std::memcpy(&hi, row + 2 * j + 8, sizeof hi);
        const v8 even = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
        const v8 odd = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
        std::memcpy(phases + j, &even, sizeof even);
        std::memcpy(phases + n + j, &odd, sizeof odd);
      }
    }
  }
  for (int64_t r = 0; r < stride; ++r)
    for (int64_t jj = j; jj * stride + r < width; ++jj) phases[r * n + jj] = row[jj * stride + r];
  return phases;
}

// One tap folded into the running maxima of output columns [lo, hi): line[ox] is the tap's
// value, at position base + ox * step. (int32 indices keep the positions' vector arithmetic
// 32-bit wide.)
template <typename T>
inline void fold_tap(const T* __restrict line, T* __restrict best, int32_t* __restrict best_at, int32_t lo, int32_t hi,
                     int32_t base, int32_t step) {
  for (int32_t ox = lo; ox < hi; ++ox) {
    const T v = line[ox];
    const bool take = v > best[ox] || v != v;
    best[ox] = take ? v : best[ox];
    best_at[ox] = take ? base + ox * step : best_at[ox];
  }
}

template <typename T>
void forward_plane(const MaxPoolParams& p, const T* x, T* y, int64_t* index, const RowScratch<T>& s) {
  const int64_t ow = p.out_w, stride = p.stride_w, phase_len = (p.in_w + stride - 1) / stride;
  T* __restrict best = s.best;
  int32_t* __restrict best_at = s.best_at;
  for (int64_t oy = 0; oy < p.out_h; ++oy) {
    const TapRange rows = taps(oy * p.stride_h - p.pad_h, p.kernel_h, p.dilation_h, p.in_h);
    // As torch: the first tap inside the plane until something beats -inf.
    for (int64_t ox = 0; ox < ow; ++ox) {
      best[ox] = -std::numeric_limits<T>::infinity();
      best_at[ox] = int32_t(rows.first * p.in_w + s.first_col[ox]);
    }
    for (int64_t iy = rows.first; iy < rows.end; iy += p.dilation_h) {
      const T* phases = split_phases(x + iy * p.in_w, p.in_w, stride, s.phases);
      for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
        const int64_t shift = kx * p.dilation_w - p.pad_w;  // input column = ox * stride + shift
        // Output columns [lo, hi) read inside the row; the rest read padding.
        const int64_t lo = std::min(ow, std::max<int64_t>(0, (-shift + stride - 1) / stride));
        const int64_t last = p.in_w - 1 - shift;  // negative: the tap is past the row for every ox
        const int64_t hi = last < 0 ? lo : std::max(lo, std::min(ow, last / stride + 1));
        const int64_t q = shift >= 0 ? shift / stride : -((-shift + stride - 1) / stride);  // floor
        fold_tap(phases + (shift - q * stride) * phase_len + q, best, best_at, int32_t(lo), int32_t(hi),
                 int32_t(iy * p.in_w + shift), int32_t(stride));
      }
    }
    for (int64_t ox = 0; ox < ow; ++ox) {
      y[oy * ow + ox] = best[ox];
      index[oy * ow + ox] = best_at[ox];
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
  if (p.backward) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t plane = 0; plane < p.planes; ++plane)
      backward_plane(p, reinterpret_cast<const T*>(p.grad_y) + plane * out_plane, p.saved_indices + plane * out_plane,
                     reinterpret_cast<T*>(p.grad_x) + plane * in_plane);
    return;
  }
  // Scratch lines for every thread, allocated here: nothing may throw inside the parallel region.
  const int threads = parallel ? omp_get_max_threads() : 1;
  const size_t width = size_t(p.out_w);
  std::vector<int64_t> first_col(width);
  const size_t phases = size_t(p.in_w + p.stride_w);
  std::vector<T> lines((phases + width) * size_t(threads));
  std::vector<int32_t> positions(width * size_t(threads));
  for (int64_t ox = 0; ox < p.out_w; ++ox)
    first_col[size_t(ox)] = taps(ox * p.stride_w - p.pad_w, p.kernel_w, p.dilation_w, p.in_w).first;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    const size_t t = size_t(omp_get_thread_num());
    T* mine = lines.data() + t * (phases + width);
    const RowScratch<T> s{mine, mine + phases, positions.data() + t * width, first_col.data()};
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < p.planes; ++plane)
      forward_plane(p, reinterpret_cast<const T*>(p.x) + plane * in_plane,
                    reinterpret_cast<T*>(p.y) + plane * out_plane, p.indices + plane * out_plane, s);
  }
}

// ------------------------------------------------------------------------------ average pooling
// Forward, per output row i: the input rows of its window are added into one line (contiguous,
// vectorised), then each output averages its columns of that line. Backward, per output row:
// each output's gradient / divisor is spread over its columns of a line, and the line is added
// to every input row of the window.
template <typename T>
void avg_pool_plane(const heron::AvgPoolParams& p, const T* x, T* y, const T* grad_y, T* grad_x, T* line) {
  const int64_t W = p.in_w;
  if (p.backward) std::fill(grad_x, grad_x + p.in_h * W, T(0));
  for (int64_t i = 0; i < p.out_h; ++i) {
    const int64_t r0 = p.row_start[i], r1 = p.row_end[i];
    std::fill(line, line + W, T(0));
    if (!p.backward) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = x + r * W;
        for (int64_t w = 0; w < W; ++w) line[w] += row[w];
      }
      for (int64_t j = 0; j < p.out_w; ++j) {
        T sum = 0;
        for (int64_t w = p.col_start[j]; w < p.col_end[j]; ++w) sum += line[w];
        y[i * p.out_w + j] = sum / T(p.row_div[i] * p.col_div[j]);
      }
      continue;
    }
    for (int64_t j = 0; j < p.out_w; ++j) {
      const T g = grad_y[i * p.out_w + j] / T(p.row_div[i] * p.col_div[j]);
      for (int64_t w = p.col_start[j]; w < p.col_end[j]; ++w) line[w] += g;
    }
    for (int64_t r = r0; r < r1; ++r) {
      T* row = grad_x + r * W;
      for (int64_t w = 0; w < W; ++w) row[w] += line[w];
    }
  }
}

template <typename T>
void avg_pool_typed(const heron::AvgPoolParams& p) {
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const bool parallel = p.planes * (in_plane + out_plane) >= kParallelElements && !omp_in_parallel();
  // A line per thread, allocated here: nothing may throw inside the parallel region.
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<T> lines(size_t(std::max<int64_t>(p.in_w, 1)) * size_t(threads));
#pragma omp parallel num_threads(threads) if (parallel)
  {
    T* line = lines.data() + size_t(omp_get_thread_num()) * size_t(std::max<int64_t>(p.in_w, 1));
#pragma omp for schedule(static)
    for (int64_t plane = 0; plane < p.planes; ++plane)
      avg_pool_plane(p, p.backward ? nullptr : reinterpret_cast<const T*>(p.x) + plane * in_plane,
                     p.backward ? nullptr : reinterpret_cast<T*>(p.y) + plane * out_plane,
                     p.backward ? reinterpret_cast<const T*>(p.grad_y) + plane * out_plane : nullptr,
                     p.backward ? reinterpret_cast<T*>(p.grad_x) + plane * in_plane : nullptr, line);
  }
}

}  // namespace

void max_pool_kernel(const MaxPoolParams& p) {
  if (p.dtype == heron::DType::Float32) max_pool_typed<float>(p);
  else max_pool_typed<double>(p);
}

void avg_pool_kernel(const heron::AvgPoolParams& p) {
  if (p.dtype == heron::DType::Float32) avg_pool_typed<float>(p);
  else avg_pool_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
