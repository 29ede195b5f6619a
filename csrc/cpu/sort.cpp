// sort and topk along a dim of a contiguous [outer, dim, inner] array. NaN sorts as the
// largest value, as in torch; ties keep their original order.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/kernel_params.h"
#include "cpu/loop.h"

namespace HERON_ISA_NAMESPACE {

using heron::DType;

template <typename T>
inline bool less_nan_last(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b != b) return a == a;
    return a < b;
  } else {
    return a < b;
  }
}

template <typename T>
void sort_rows(const heron::SortParams& p, bool topk) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* values = reinterpret_cast<T*>(p.values);
  const int64_t keep = topk ? p.k : p.dim;
  parallel_chunks(p.outer * p.inner, 16, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(size_t(p.dim));
    std::vector<T> row(size_t(p.dim));
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / p.inner, i = t % p.inner;
      const T* x = in + o * p.dim * p.inner + i;
      for (int64_t d = 0; d < p.dim; ++d) {
        row[d] = x[d * p.inner];
        idx[d] = d;
      }
      auto cmp = [&](int64_t l, int64_t r) {
        return p.descending ? less_nan_last(row[r], row[l]) : less_nan_last(row[l], row[r]);
      };
      auto cmp_stable = [&](int64_t l, int64_t r) { return cmp(l, r) || (!cmp(r, l) && l < r); };
      if (topk && keep < p.dim) std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), cmp_stable);
      else std::stable_sort(idx.begin(), idx.end(), cmp);
      T* vo = values + o * keep * p.inner + i;
      int64_t* io = p.indices + o * keep * p.inner + i;
      for (int64_t d = 0; d < keep; ++d) {
        vo[d * p.inner] = row[idx[d]];
        io[d * p.inner] = idx[d];
      }
    }
  });
}

template <bool TopK>
void sort_dispatch(const heron::SortParams& p) {
  switch (p.dtype) {
    case DType::Float32: return sort_rows<float>(p, TopK);
    case DType::Float64: return sort_rows<double>(p, TopK);
    case DType::Int64: return sort_rows<int64_t>(p, TopK);
    case DType::Int32: return sort_rows<int32_t>(p, TopK);
    case DType::Int16: return sort_rows<int16_t>(p, TopK);
    case DType::Int8: return sort_rows<int8_t>(p, TopK);
    case DType::UInt8: return sort_rows<uint8_t>(p, TopK);
    case DType::Bool: return sort_rows<bool>(p, TopK);
    default: break;
  }
}

void sort_kernel(const heron::SortParams& p) { sort_dispatch<false>(p); }
void topk_kernel(const heron::SortParams& p) { sort_dispatch<true>(p); }

}  // namespace HERON_ISA_NAMESPACE
