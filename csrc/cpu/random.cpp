// Random fills from a Philox stream: element i draws from counter (offset + i / 2), lanes
// (2 (i % 2), 2 (i % 2) + 1), so the numbers depend only on (seed, offset, i).
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/half.h"
#include "core/kernel_params.h"
#include "cpu/loop.h"
#include "cpu/philox.h"

namespace HERON_ISA_NAMESPACE {

using heron::DType;

static inline void draw_pair(const heron::PhiloxKey& key, int64_t i, uint32_t* r0, uint32_t* r1) {
  Philox4 block = philox(key.seed, key.offset + uint64_t(i / 2));
  int lane = int(i % 2) * 2;
  *r0 = block.v[lane];
  *r1 = block.v[lane + 1];
}

template <typename T>
inline void store(char* out, int64_t i, double v) {
  if constexpr (std::is_same_v<T, heron::Half>) reinterpret_cast<uint16_t*>(out)[i] = heron::float_to_half(float(v));
  else if constexpr (std::is_same_v<T, heron::BFloat16>) reinterpret_cast<uint16_t*>(out)[i] = heron::float_to_bf16(float(v));
  else reinterpret_cast<T*>(out)[i] = T(v);
}

template <typename T>
void random_typed(int kind, const heron::RandomParams& p) {
  constexpr bool is_double = std::is_same_v<T, double>;
  parallel_chunks(p.numel, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      uint32_t r0, r1;
      draw_pair(p.key, i, &r0, &r1);
      double u = is_double ? uniform01_d(r0, r1) : double(uniform01_f(r0));
      switch (kind) {
        case heron::kUniform: {
          double v = p.a + (p.b - p.a) * u;
          if (!is_double && float(v) >= float(p.b)) v = p.a;  // rounding must not reach b
          store<T>(p.out, i, v);
          break;
        }
        case heron::kNormal: {  // Box-Muller on (r0, r1), cosine branch
          double u1 = is_double ? uniform01_d(r0, r1 ^ 0x9E3779B9u) : double(uniform01_f(r0));
          double u2 = double(uniform01_f(r1));
          double radius = std::sqrt(-2.0 * std::log(1.0 - u1));
          store<T>(p.out, i, p.a + p.b * radius * std::cos(6.283185307179586 * u2));
          break;
        }
        case heron::kRandint: {
          uint64_t range = uint64_t(int64_t(p.b) - int64_t(p.a));
          uint64_t bits = (uint64_t(r0) << 32) | r1;
          int64_t v = int64_t(p.a) + int64_t(bits % range);
          if constexpr (std::is_integral_v<T>) reinterpret_cast<T*>(p.out)[i] = T(v);
          else store<T>(p.out, i, double(v));
          break;
        }
        case heron::kBernoulli: store<T>(p.out, i, double(uniform01_f(r0)) < p.a ? 1.0 : 0.0); break;
        default: break;
      }
    }
  });
}

// The dropout stream's mask over a flat tensor: element i is element i of the stream.
template <typename T>
void dropout_mask_typed(const heron::RandomParams& p) {
  const DropoutStream stream(p.key.seed, p.key.offset, 1.0 - p.a);
  T* out = reinterpret_cast<T*>(p.out);
  parallel_chunks(p.numel, 8192, [&](int64_t b, int64_t e) {
    std::fill(out + b, out + e, T(1));
    apply_dropout(out + b, e - b, stream, uint64_t(b));
  });
}

void random_kernel(int kind, const heron::RandomParams& p) {
  if (kind == heron::kDropoutMask) {
    if (p.dtype == DType::Float64) dropout_mask_typed<double>(p);
    else dropout_mask_typed<float>(p);
    return;
  }
  switch (p.dtype) {
    case DType::Float32: return random_typed<float>(kind, p);
    case DType::Float64: return random_typed<double>(kind, p);
    case DType::Float16: return random_typed<heron::Half>(kind, p);
    case DType::BFloat16: return random_typed<heron::BFloat16>(kind, p);
    case DType::Int64: return random_typed<int64_t>(kind, p);
    case DType::Int32: return random_typed<int32_t>(kind, p);
    case DType::Int16: return random_typed<int16_t>(kind, p);
    case DType::Int8: return random_typed<int8_t>(kind, p);
    case DType::UInt8: return random_typed<uint8_t>(kind, p);
    case DType::Bool: return random_typed<bool>(kind, p);
  }
}

// Each row draws from its own counter range: row r, category c uses draw (r * categories + c)
// for keys without replacement, and draw (r * samples + s) past rows * categories otherwise.
void multinomial_kernel(const heron::MultinomialParams& p) {
  parallel_chunks(p.rows, 1, [&](int64_t b, int64_t e) {
    std::vector<double> cdf(size_t(p.categories));
    std::vector<std::pair<double, int64_t>> keys(size_t(p.categories));
    for (int64_t r = b; r < e; ++r) {
      const double* w = p.probs + r * p.categories;
      int64_t* out = p.out + r * p.samples;
      if (p.replacement) {
        double acc = 0;
        for (int64_t c = 0; c < p.categories; ++c) cdf[c] = (acc += w[c]);
        for (int64_t s = 0; s < p.samples; ++s) {
          uint32_t r0, r1;
          draw_pair(p.key, r * p.samples + s, &r0, &r1);
          double u = uniform01_d(r0, r1) * acc;
          int64_t lo = 0, hi = p.categories - 1;
          while (lo < hi) {  // first c with cdf[c] > u, skipping zero-weight categories
            int64_t mid = (lo + hi) / 2;
            if (cdf[mid] > u) hi = mid;
            else lo = mid + 1;
          }
          while (lo > 0 && w[lo] == 0) --lo;
          out[s] = lo;
        }
      } else {
        // Efraimidis-Spirakis: the largest keys u^(1/w) form a weighted sample without replacement.
        for (int64_t c = 0; c < p.categories; ++c) {
          uint32_t r0, r1;
          draw_pair(p.key, r * p.categories + c, &r0, &r1);
          double u = uniform01_d(r0, r1);
          double key = w[c] > 0 ? std::log(u > 0 ? u : 1e-300) / w[c] : -INFINITY;
          keys[c] = {key, c};
        }
        std::partial_sort(keys.begin(), keys.begin() + p.samples, keys.end(),
                          [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
        for (int64_t s = 0; s < p.samples; ++s) out[s] = keys[s].second;
      }
    }
  });
}

}  // namespace HERON_ISA_NAMESPACE
