// Batch normalisation per channel of [batch, channels, spatial] data, forward and backward.
// A channel's values (batch slices of `spatial` each) are one task: its sums are taken in one
// pass, in a fixed order (chunks in T, their totals in double), and the second pass over it
// runs while it is still in cache.
//   forward (training): mean, var = biased variance, invstd = 1 / sqrt(var + eps)
//   y = (x - mean) * invstd * weight + bias
//   backward (training): dx = invstd * weight * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy (x - mean)))
//   backward (running statistics): dx = invstd * weight * dy
//   dweight = sum(dy (x - mean)) * invstd, dbias = sum(dy)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/kernel_params.h"
#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::BatchNormParams;

constexpr int64_t kParallelElements = 1 << 15;

// dst[i] = (u[i] * a + k) + v[i] * b for i < n (v may be null), each product-add one FMA
// where the ISA has it. The output is not read again soon, so on AVX2 it goes to memory with
// streaming stores: no cache line is read in for it first, and it does not evict the channel
// the next pass reads.
template <typename T>
void affine_pass(T* __restrict dst, const T* __restrict u, const T* __restrict v, T a, T b, T k, int64_t n) {
  auto one = [&](int64_t i) {
    T r = u[i] * a + k;
    if (v) r += v[i] * b;
    dst[i] = r;
  };
  int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31); ++i) one(i);
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), vk = _mm256_set1_ps(k);
    for (; i + 8 <= n; i += 8) {
      __m256 r = _mm256_fmadd_ps(_mm256_loadu_ps(u + i), va, vk);
      if (v) r = _mm256_fmadd_ps(_mm256_loadu_ps(v + i), vb, r);
      _mm256_stream_ps(dst + i, r);
    }
  }
#endif
  for (; i < n; ++i) one(i);
}

// The sums over a channel's values of f(i) and g(i) (i: element index), in one pass: T lanes
// over chunks of kChunk values, each chunk's totals added in double. The SIMD reduction fixes
// its lane order at compile time, so the result does not depend on the thread count.
constexpr int64_t kChunk = 256;

template <typename T, typename F, typename G>
void channel_sums(const BatchNormParams& p, int64_t c, const F& f, const G& g, double& sum_f, double& sum_g) {
  sum_f = sum_g = 0;
  for (int64_t n = 0; n < p.batch; ++n) {
    const int64_t off = (n * p.channels + c) * p.spatial, end = off + p.spatial;
    for (int64_t i0 = off; i0 < end; i0 += kChunk) {
      const int64_t i1 = std::min(end, i0 + kChunk);
      T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
      for (int64_t i = i0; i < i1; ++i) {
        a += f(i);
        b += g(i);
      }
      sum_f += double(a), sum_g += double(b);
    }
  }
}

template <typename T>
void forward_channel(const BatchNormParams& p, int64_t c) {
  const T* x = reinterpret_cast<const T*>(p.x);
  T* mean_out = reinterpret_cast<T*>(p.mean);
  T* invstd_out = reinterpret_cast<T*>(p.invstd);
  const double count = double(p.batch * p.spatial);
  if (p.training) {
    // Moments of x - x0 (x0: the channel's first value) in one pass: shifted by a value of the
    // data, the variance E[d^2] - E[d]^2 loses nothing to cancellation unless the mean sits
    // far from every value relative to the spread.
    const T x0 = p.batch * p.spatial > 0 ? x[c * p.spatial] : T(0);
    double sum_d, sum_d2;
    channel_sums<T>(p, c, [&](int64_t i) { return x[i] - x0; },
                    [&](int64_t i) { return (x[i] - x0) * (x[i] - x0); }, sum_d, sum_d2);
    const double mean_d = sum_d / count;
    const double var = std::max(0.0, sum_d2 / count - mean_d * mean_d);
    mean_out[c] = T(double(x0) + mean_d);
    invstd_out[c] = T(1.0 / std::sqrt(var + p.eps));
  }
  // y = x * scale + shift, with the statistics rounded to T as the twin sees them.
  const T w = p.weight ? reinterpret_cast<const T*>(p.weight)[c] : T(1);
  const T b = p.bias ? reinterpret_cast<const T*>(p.bias)[c] : T(0);
  const T scale = invstd_out[c] * w, shift = b - mean_out[c] * scale;
  T* y = reinterpret_cast<T*>(p.y);
  for (int64_t n = 0; n < p.batch; ++n) {
    const int64_t off = (n * p.channels + c) * p.spatial;
    const T* __restrict src = x + off;
    T* __restrict dst = y + off;
    affine_pass<T>(dst, src, nullptr, scale, T(0), shift, p.spatial);
  }
}

template <typename T>
void backward_channel(const BatchNormParams& p, int64_t c) {
  const T* x = reinterpret_cast<const T*>(p.x);
  const T* dy = reinterpret_cast<const T*>(p.grad_y);
  const double mean = reinterpret_cast<const T*>(p.mean)[c], invstd = reinterpret_cast<const T*>(p.invstd)[c];
  const double w = p.weight ? double(reinterpret_cast<const T*>(p.weight)[c]) : 1.0;
  const double count = double(p.batch * p.spatial);
  double sum_dy, sum_dy_xc;
  const T mean_t = T(mean);
  channel_sums<T>(p, c, [&](int64_t i) { return dy[i]; }, [&](int64_t i) { return dy[i] * (x[i] - mean_t); }, sum_dy,
                  sum_dy_xc);
  if (p.grad_weight) reinterpret_cast<T*>(p.grad_weight)[c] = T(sum_dy_xc * invstd);
  if (p.grad_bias) reinterpret_cast<T*>(p.grad_bias)[c] = T(sum_dy);
  if (!p.grad_x) return;
  // dx = dy * a + x * b + k, folding the batch terms into three per-channel constants.
  const double a = invstd * w;
  const double b = p.training ? -a * invstd * invstd * sum_dy_xc / count : 0.0;
  const double k = p.training ? -a * sum_dy / count - b * mean : 0.0;
  const T ta = T(a), tb = T(b), tk = T(k);
  T* dx = reinterpret_cast<T*>(p.grad_x);
  for (int64_t n = 0; n < p.batch; ++n) {
    const int64_t off = (n * p.channels + c) * p.spatial;
    const T* __restrict g = dy + off;
    const T* __restrict src = x + off;
    T* __restrict dst = dx + off;
    affine_pass<T>(dst, g, src, ta, tb, tk, p.spatial);
  }
}

template <typename T>
void batch_norm_typed(const BatchNormParams& p) {
  const bool parallel = p.batch * p.channels * p.spatial >= kParallelElements && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < p.channels; ++c) {
    if (p.backward) backward_channel<T>(p, c);
    else forward_channel<T>(p, c);
  }
#if defined(__AVX2__)
  _mm_sfence();  // the streaming stores visible before the result is used
#endif
}

}  // namespace

void batch_norm_kernel(const BatchNormParams& p) {
  if (p.dtype == heron::DType::Float32) batch_norm_typed<float>(p);
  else batch_norm_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
