// Index kernels: index_select/index_add, gather/scatter, nonzero, cumulative scans.
// Compiled once (baseline ISA): they move memory rather than compute. Anything that could
// write one location twice (index_add, scatter) runs in a fixed serial order.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/half.h"
#include "core/kernel_params.h"
#include "cpu/loop.h"

namespace HERON_ISA_NAMESPACE {

using heron::DType;

void index_select_kernel(const heron::IndexParams& p) {
  const int64_t bytes = heron::itemsize(p.dtype) * p.inner;
  char* out = const_cast<char*>(p.other);
  parallel_chunks(p.outer * p.index_size, std::max<int64_t>(1, 65536 / std::max<int64_t>(bytes, 1)),
                  [&](int64_t b, int64_t e) {
                    for (int64_t t = b; t < e; ++t) {
                      int64_t o = t / p.index_size, k = t % p.index_size;
                      std::memcpy(out + t * bytes, p.self + (o * p.self_size + p.index[k]) * bytes, size_t(bytes));
                    }
                  });
}

template <typename T>
void index_add_typed(const heron::IndexParams& p) {
  T* self = reinterpret_cast<T*>(p.self);
  const T* src = reinterpret_cast<const T*>(p.other);
  const T alpha = T(p.alpha);
  // Rows of `outer` are disjoint, so they may run in parallel; k runs in order inside each.
  parallel_chunks(p.outer, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t k = 0; k < p.index_size; ++k) {
        T* dst = self + (o * p.self_size + p.index[k]) * p.inner;
        const T* s = src + (o * p.index_size + k) * p.inner;
        if (alpha == T(1))
          for (int64_t i = 0; i < p.inner; ++i) dst[i] += s[i];
        else
          for (int64_t i = 0; i < p.inner; ++i) dst[i] += alpha * s[i];
      }
  });
}

void index_add_kernel(const heron::IndexParams& p) {
  switch (p.dtype) {
    case DType::Float32: return index_add_typed<float>(p);
    case DType::Float64: return index_add_typed<double>(p);
    case DType::Int64: return index_add_typed<int64_t>(p);
    case DType::Int32: return index_add_typed<int32_t>(p);
    case DType::Int16: return index_add_typed<int16_t>(p);
    case DType::Int8: return index_add_typed<int8_t>(p);
    case DType::UInt8: return index_add_typed<uint8_t>(p);
    default: break;
  }
}

template <typename T>
void gather_typed(const heron::StridedIter& it, const heron::GatherScatterParams& p) {
  walk(it, [&](char** d, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t idx = *reinterpret_cast<const int64_t*>(d[1] + i * s[1]);
      std::memcpy(d[0] + i * s[0], d[2] + i * s[2] + idx * p.dim_stride, sizeof(T));
    }
  });
}

void gather_kernel(const heron::StridedIter& it, const heron::GatherScatterParams& p) {
  switch (heron::itemsize(it.dtype[0])) {
    case 1: return gather_typed<uint8_t>(it, p);
    case 2: return gather_typed<uint16_t>(it, p);
    case 4: return gather_typed<uint32_t>(it, p);
    default: return gather_typed<uint64_t>(it, p);
  }
}

template <typename T>
void scatter_typed(const heron::StridedIter& it, const heron::GatherScatterParams& p) {
  const T scalar = T(p.scalar);
  walk_range(it, 0, it.numel, [&](char** d, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t idx = *reinterpret_cast<const int64_t*>(d[1] + i * s[1]);
      T* dst = reinterpret_cast<T*>(d[0] + i * s[0] + idx * p.dim_stride);
      T v = p.src_is_scalar ? scalar : *reinterpret_cast<const T*>(d[2] + i * s[2]);
      if (p.reduce == 1) *dst = T(*dst + v);
      else if (p.reduce == 2) *dst = T(*dst * v);
      else *dst = v;
    }
  });
}

void scatter_kernel(const heron::StridedIter& it, const heron::GatherScatterParams& p) {
  switch (it.dtype[0]) {
    case DType::Float32: return scatter_typed<float>(it, p);
    case DType::Float64: return scatter_typed<double>(it, p);
    case DType::Int64: return scatter_typed<int64_t>(it, p);
    case DType::Int32: return scatter_typed<int32_t>(it, p);
    case DType::Int16: return scatter_typed<int16_t>(it, p);
    case DType::Int8: return scatter_typed<int8_t>(it, p);
    case DType::UInt8: return scatter_typed<uint8_t>(it, p);
    case DType::Bool: return scatter_typed<bool>(it, p);
    default: break;  // half types: core computes in float32
  }
}

int64_t nonzero_kernel(const bool* data, const int64_t* shape, int ndim, int64_t numel, int64_t* out) {
  int64_t count = 0;
  if (!out) {
    for (int64_t i = 0; i < numel; ++i) count += data[i] ? 1 : 0;
    return count;
  }
  int64_t coord[heron::kMaxDims] = {0};
  for (int64_t i = 0; i < numel; ++i) {
    if (data[i]) {
      for (int d = 0; d < ndim; ++d) out[count * ndim + d] = coord[d];
      ++count;
    }
    for (int d = ndim - 1; d >= 0; --d) {
      if (++coord[d] < shape[d]) break;
      coord[d] = 0;
    }
  }
  return count;
}

template <typename T>
void scan_typed(const heron::ScanParams& p) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* out = reinterpret_cast<T*>(p.out);
  parallel_chunks(p.outer, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* x = in + o * p.dim * p.inner;
      T* y = out + o * p.dim * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) y[i] = x[i];
      for (int64_t d = 1; d < p.dim; ++d)
        for (int64_t i = 0; i < p.inner; ++i)
          y[d * p.inner + i] = p.product ? T(y[(d - 1) * p.inner + i] * x[d * p.inner + i])
                                         : T(y[(d - 1) * p.inner + i] + x[d * p.inner + i]);
    }
  });
}

void scan_kernel(const heron::ScanParams& p) {
  switch (p.dtype) {
    case DType::Float32: return scan_typed<float>(p);
    case DType::Float64: return scan_typed<double>(p);
    case DType::Int64: return scan_typed<int64_t>(p);
    default: break;
  }
}

}  // namespace HERON_ISA_NAMESPACE
