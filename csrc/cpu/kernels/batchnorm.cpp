// Batch normalisation per channel of [batch, channels, spatial] data, forward and backward.
// A channel's values (batch slices of `spatial` each) are one task: its sums are taken in
// double, in a fixed order, and the passes over it run while it is still in cache.
//   forward (training): mean, var = biased variance, invstd = 1 / sqrt(var + eps)
//   y = (x - mean) * invstd * weight + bias
//   backward (training): dx = invstd * weight * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy (x - mean)))
//   backward (running statistics): dx = invstd * weight * dy
//   dweight = sum(dy (x - mean)) * invstd, dbias = sum(dy)
#include <omp.h>

#include <cmath>
#include <cstdint>

#include "core/kernel_params.h"
#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::BatchNormParams;

constexpr int64_t kParallelElements = 1 << 15;

// The sum over a channel's values of f(i) (i: element index), in double. The SIMD reduction
// fixes its lane order at compile time, so it does not depend on the thread count.
template <typename F>
double channel_sum(const BatchNormParams& p, int64_t c, const F& f) {
  double total = 0;
  for (int64_t n = 0; n < p.batch; ++n) {
    const int64_t off = (n * p.channels + c) * p.spatial;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = off; i < off + p.spatial; ++i) s += f(i);
    total += s;
  }
  return total;
}

template <typename T>
void forward_channel(const BatchNormParams& p, int64_t c) {
  const T* x = reinterpret_cast<const T*>(p.x);
  T* mean_out = reinterpret_cast<T*>(p.mean);
  T* invstd_out = reinterpret_cast<T*>(p.invstd);
  const double count = double(p.batch * p.spatial);
  if (p.training) {
    const double mean = channel_sum(p, c, [&](int64_t i) { return double(x[i]); }) / count;
    const double var = channel_sum(p, c, [&](int64_t i) {
      const double d = double(x[i]) - mean;
      return d * d;
    }) / count;
    mean_out[c] = T(mean);
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
    for (int64_t i = 0; i < p.spatial; ++i) dst[i] = src[i] * scale + shift;
  }
}

template <typename T>
void backward_channel(const BatchNormParams& p, int64_t c) {
  const T* x = reinterpret_cast<const T*>(p.x);
  const T* dy = reinterpret_cast<const T*>(p.grad_y);
  const double mean = reinterpret_cast<const T*>(p.mean)[c], invstd = reinterpret_cast<const T*>(p.invstd)[c];
  const double w = p.weight ? double(reinterpret_cast<const T*>(p.weight)[c]) : 1.0;
  const double count = double(p.batch * p.spatial);
  const double sum_dy = channel_sum(p, c, [&](int64_t i) { return double(dy[i]); });
  const double sum_dy_xc = channel_sum(p, c, [&](int64_t i) { return double(dy[i]) * (double(x[i]) - mean); });
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
    for (int64_t i = 0; i < p.spatial; ++i) dst[i] = g[i] * ta + src[i] * tb + tk;
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
}

}  // namespace

void batch_norm_kernel(const BatchNormParams& p) {
  if (p.dtype == heron::DType::Float32) batch_norm_typed<float>(p);
  else batch_norm_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
