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

template <typename T>
void adam_typed(const heron::AdamParams& p) {
  T* param = reinterpret_cast<T*>(p.param);
  const T* grad = reinterpret_cast<const T*>(p.grad);
  T* m = reinterpret_cast<T*>(p.exp_avg);
  T* v = reinterpret_cast<T*>(p.exp_avg_sq);
  T* vmax = reinterpret_cast<T*>(p.max_exp_avg_sq);
  const T weight_decay = T(p.weight_decay), decay_factor = T(1.0 - p.lr * p.weight_decay);
  const T w1 = T(1.0 - p.beta1), beta2 = T(p.beta2), one_minus_beta2 = T(1.0 - p.beta2);
  const T eps = T(p.eps), bc2_sqrt = T(p.bias_correction2_sqrt), neg_step = T(-p.step_size);
  const bool decay = p.weight_decay != 0.0, lerp_low = std::fabs(1.0 - p.beta1) < 0.5;
  parallel_chunks(p.numel, kOptimGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T g = p.maximize ? -grad[i] : grad[i];
      T w = param[i];
      if (decay) {
        if (p.decoupled_weight_decay) w = w * decay_factor;
        else g = g + weight_decay * w;
      }
      const T diff = g - m[i];  // lerp(m, g, 1 - beta1), torch's two-branch form
      const T mi = lerp_low ? m[i] + w1 * diff : g - diff * (T(1) - w1);
      const T vi = v[i] * beta2 + one_minus_beta2 * g * g;
      m[i] = mi;
      v[i] = vi;
      T second = vi;
      if (p.amsgrad) {
        second = vmax[i] > vi ? vmax[i] : vi;
        vmax[i] = second;
      }
      const T denom = std::sqrt(second) / bc2_sqrt + eps;
      param[i] = w + neg_step * mi / denom;
    }
  });
}

template <typename T>
void sgd_typed(const heron::SgdParams& p) {
  T* param = reinterpret_cast<T*>(p.param);
  const T* grad = reinterpret_cast<const T*>(p.grad);
  T* buf = reinterpret_cast<T*>(p.momentum_buffer);
  const T lr = T(p.lr), momentum = T(p.momentum), keep = T(1.0 - p.dampening), weight_decay = T(p.weight_decay);
  parallel_chunks(p.numel, kOptimGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T g = p.maximize ? -grad[i] : grad[i];
      if (p.weight_decay != 0.0) g = g + weight_decay * param[i];
      if (buf) {
        const T bi = p.first_step ? g : buf[i] * momentum + keep * g;
        buf[i] = bi;
        g = p.nesterov ? g + momentum * bi : bi;
      }
      param[i] = param[i] + -lr * g;
    }
  });
}

}  // namespace

void adam_kernel(const heron::AdamParams& p) {
  if (p.dtype == heron::DType::Float32) adam_typed<float>(p);
  else adam_typed<double>(p);
}

void sgd_kernel(const heron::SgdParams& p) {
  if (p.dtype == heron::DType::Float32) sgd_typed<float>(p);
  else sgd_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
