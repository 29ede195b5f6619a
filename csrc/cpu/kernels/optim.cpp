// Fused optimizer updates: one pass over a parameter and its state instead of the dozen
// elementwise ops (and temporaries) of the composite update. Each element's arithmetic
// follows torch's single-tensor ("foreach=False") implementation operation by operation, so
// trajectories match torch to rounding; elements are independent, so threads cannot change a bit.
#include <cmath>
#include <cstdint>

#include "core/kernel_params.h"
#include "cpu/loop.h"

namespace HERON_ISA_NAMESPACE {
namespace {

constexpr int64_t kOptimGrain = 1 << 16;

// How weight decay enters Adam: added to the gradient (Adam) or shrinking the parameter (AdamW).
enum class AdamDecay { kNone, kCoupled, kDecoupled };

// Each chunk copies the pointers and flags into restrict-qualified locals: read through the
// lambda's captures, every store could alias them and GCC refuses to vectorise the loop. The
// optional state and the decay mode are template parameters (GCC 12 does not vectorise the
// loop with two run-time decay branches in it).
template <typename T, bool kAmsgrad, AdamDecay kDecay>
void adam_range(const heron::AdamParams& p, int64_t begin, int64_t end) {
  T* __restrict param = reinterpret_cast<T*>(p.param);
  const T* __restrict grad = reinterpret_cast<const T*>(p.grad);
  T* __restrict m = reinterpret_cast<T*>(p.exp_avg);
  T* __restrict v = reinterpret_cast<T*>(p.exp_avg_sq);
  T* __restrict vmax = reinterpret_cast<T*>(p.max_exp_avg_sq);
  const T weight_decay = T(p.weight_decay), decay_factor = T(1.0 - p.lr * p.weight_decay);
  const T w1 = T(1.0 - p.beta1), beta2 = T(p.beta2), one_minus_beta2 = T(1.0 - p.beta2);
  const T eps = T(p.eps), bc2_sqrt = T(p.bias_correction2_sqrt), neg_step = T(-p.step_size);
  const bool maximize = p.maximize;
  const bool lerp_low = std::fabs(1.0 - p.beta1) < 0.5;
  // Each element is loaded once into a local, so the flag selects act on registers.
  for (int64_t i = begin; i < end; ++i) {
    const T gi = grad[i], mi_old = m[i], vi_old = v[i];
    T g = maximize ? -gi : gi;
    T w = param[i];
    if constexpr (kDecay == AdamDecay::kDecoupled) w = w * decay_factor;
    if constexpr (kDecay == AdamDecay::kCoupled) g = g + weight_decay * w;
    const T diff = g - mi_old;  // lerp(m, g, 1 - beta1), torch's two-branch form
    const T mi = lerp_low ? mi_old + w1 * diff : g - diff * (T(1) - w1);
    const T vi = vi_old * beta2 + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if constexpr (kAmsgrad) {
      const T vmax_old = vmax[i];
      second = vmax_old > vi ? vmax_old : vi;
      vmax[i] = second;
    }
    const T denom = std::sqrt(second) / bc2_sqrt + eps;
    param[i] = w + neg_step * mi / denom;
  }
}

template <typename T, bool kAmsgrad, AdamDecay kDecay>
void adam_typed(const heron::AdamParams& p) {
  parallel_chunks(p.numel, kOptimGrain, [&p](int64_t b, int64_t e) { adam_range<T, kAmsgrad, kDecay>(p, b, e); });
}

template <typename T, bool kAmsgrad>
void adam_decay_dispatch(const heron::AdamParams& p) {
  if (p.weight_decay == 0.0) adam_typed<T, kAmsgrad, AdamDecay::kNone>(p);
  else if (p.decoupled_weight_decay) adam_typed<T, kAmsgrad, AdamDecay::kDecoupled>(p);
  else adam_typed<T, kAmsgrad, AdamDecay::kCoupled>(p);
}

template <typename T, bool kMomentum>
void sgd_range(const heron::SgdParams& p, int64_t begin, int64_t end) {
  T* __restrict param = reinterpret_cast<T*>(p.param);
  const T* __restrict grad = reinterpret_cast<const T*>(p.grad);
  T* __restrict buf = reinterpret_cast<T*>(p.momentum_buffer);
  const T lr = T(p.lr), momentum = T(p.momentum), keep = T(1.0 - p.dampening), weight_decay = T(p.weight_decay);
  const bool maximize = p.maximize, decay = p.weight_decay != 0.0, first = p.first_step, nesterov = p.nesterov;
  for (int64_t i = begin; i < end; ++i) {
    const T gi = grad[i], w = param[i];
    T g = maximize ? -gi : gi;
    if (decay) g = g + weight_decay * w;
    if constexpr (kMomentum) {
      const T bi = first ? g : buf[i] * momentum + keep * g;
      buf[i] = bi;
      g = nesterov ? g + momentum * bi : bi;
    }
    param[i] = w + -lr * g;
  }
}

template <typename T, bool kMomentum>
void sgd_typed(const heron::SgdParams& p) {
  parallel_chunks(p.numel, kOptimGrain, [&p](int64_t b, int64_t e) { sgd_range<T, kMomentum>(p, b, e); });
}

template <typename T>
void adam_dispatch(const heron::AdamParams& p) {
  p.amsgrad ? adam_decay_dispatch<T, true>(p) : adam_decay_dispatch<T, false>(p);
}

template <typename T>
void sgd_dispatch(const heron::SgdParams& p) {
  p.momentum_buffer ? sgd_typed<T, true>(p) : sgd_typed<T, false>(p);
}

}  // namespace

void adam_kernel(const heron::AdamParams& p) {
  if (p.dtype == heron::DType::Float32) adam_dispatch<float>(p);
  else adam_dispatch<double>(p);
}

void sgd_kernel(const heron::SgdParams& p) {
  if (p.dtype == heron::DType::Float32) sgd_dispatch<float>(p);
  else sgd_dispatch<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
