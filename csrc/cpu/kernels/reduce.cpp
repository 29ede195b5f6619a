// Reductions over [outer, reduce, inner] and softmax. Determinism: a row is cut into blocks of
// fixed size, each block is reduced with a fixed lane layout, and block results are combined in
// order — which thread computed a block never changes the arithmetic.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include <type_traits>

#include "core/kernel_params.h"
#include "cpu/loop.h"
#include "cpu/simd/math.h"

namespace HERON_ISA_NAMESPACE {

using heron::DType;
using heron::ReduceOp;
using heron::ReduceParams;
using heron::SoftmaxParams;

constexpr int64_t kReduceBlock = 1 << 14;  // elements per independently reduced block
constexpr int kLanes = 32;                 // independent accumulators inside a block

struct SumOp {
  template <typename A> static A identity() { return A(0); }
  template <typename A> static A combine(A a, A b) { return a + b; }
};
struct ProdOp {
  template <typename A> static A identity() { return A(1); }
  template <typename A> static A combine(A a, A b) { return a * b; }
};
struct MaxOp {
  template <typename A> static A identity() {
    if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::lowest();
  }
  template <typename A> static A combine(A a, A b) {  // NaN wins
    if constexpr (std::is_floating_point_v<A>) return (a != a || a > b) ? a : (b != b ? b : (a > b ? a : b));
    else return a > b ? a : b;
  }
};
struct MinOp {
  template <typename A> static A identity() {
    if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
    else return std::numeric_limits<A>::max();
  }
  template <typename A> static A combine(A a, A b) {
    if constexpr (std::is_floating_point_v<A>) return (a != a || a < b) ? a : (b != b ? b : (a < b ? a : b));
    else return a < b ? a : b;
  }
};

// all/any over bools seen as bytes 0/1 (identities 1 and 0: an empty all() is true).
struct AndOp {
  template <typename A> static A identity() { return A(1); }
  template <typename A> static A combine(A a, A b) { return A(a & b); }
};
struct OrOp {
  template <typename A> static A identity() { return A(0); }
  template <typename A> static A combine(A a, A b) { return A(a | b); }
};

// One contiguous block: kLanes accumulators, folded pairwise.
template <typename Op, typename T>
inline T reduce_block(const T* x, int64_t n) {
  T acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = Op::template identity<T>();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = Op::combine(acc[l], x[i + l]);
  for (int l = 0; i < n; ++i, ++l) acc[l] = Op::combine(acc[l], x[i]);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] = Op::combine(acc[l], acc[l + w]);
  return acc[0];
}

template <typename Op, typename T>
inline T reduce_strided(const T* x, int64_t n, int64_t stride) {
  T acc = Op::template identity<T>();
  for (int64_t i = 0; i < n; ++i) acc = Op::combine(acc, x[i * stride]);
  return acc;
}

template <typename Op, typename T>
void reduce_rows(const ReduceParams& p) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* out = reinterpret_cast<T*>(p.out);
  const int64_t nblocks = std::max<int64_t>(1, (p.reduce + kReduceBlock - 1) / kReduceBlock);
  auto block_value = [&](int64_t o, int64_t b) {
    int64_t start = b * kReduceBlock, len = std::min(kReduceBlock, p.reduce - start);
    const T* row = in + o * p.stride_outer + start * p.stride_reduce;
    return p.stride_reduce == 1 ? reduce_block<Op>(row, len) : reduce_strided<Op>(row, len, p.stride_reduce);
  };
  if (nblocks == 1) {
    int64_t grain = std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(p.reduce, 1));
    parallel_chunks(p.outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = p.reduce == 0 ? Op::template identity<T>() : block_value(o, 0);
    });
    return;
  }
  // Long rows: block partials in parallel, then an ordered fold per row.
  T* partial = new T[p.outer * nblocks];
  parallel_chunks(p.outer * nblocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) partial[t] = block_value(t / nblocks, t % nblocks);
  });
  for (int64_t o = 0; o < p.outer; ++o) {
    T acc = partial[o * nblocks];
    for (int64_t b = 1; b < nblocks; ++b) acc = Op::combine(acc, partial[o * nblocks + b]);
    out[o] = acc;
  }
  delete[] partial;
}

// inner > 1: out[o, i] folds x[o, r, i] over r in order, vectorised across i.
template <typename Op, typename T>
void reduce_columns(const ReduceParams& p) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* out = reinterpret_cast<T*>(p.out);
  constexpr int64_t kCols = 256;
  const int64_t col_chunks = (p.inner + kCols - 1) / kCols;
  parallel_chunks(p.outer * col_chunks, std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(1, p.reduce * kCols)),
                  [&](int64_t b, int64_t e) {
                    T acc[kCols];
                    for (int64_t t = b; t < e; ++t) {
                      int64_t o = t / col_chunks, i0 = (t % col_chunks) * kCols;
                      int64_t w = std::min(kCols, p.inner - i0);
                      for (int64_t i = 0; i < w; ++i) acc[i] = Op::template identity<T>();
                      for (int64_t r = 0; r < p.reduce; ++r) {
                        const T* x = in + o * p.stride_outer + r * p.stride_reduce + i0;
                        for (int64_t i = 0; i < w; ++i) acc[i] = Op::combine(acc[i], x[i]);
                      }
                      T* dst = out + o * p.inner + i0;
                      for (int64_t i = 0; i < w; ++i) dst[i] = acc[i];
                    }
                  });
}

template <typename Op, typename T>
void reduce_typed(const ReduceParams& p) {
  if (p.inner == 1) reduce_rows<Op, T>(p);
  else reduce_columns<Op, T>(p);
}

// Arg-reductions: first index of the extreme value; a NaN is the extreme of everything.
template <bool IsMax, typename T>
void arg_reduce(const ReduceParams& p) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* values = p.out_index ? reinterpret_cast<T*>(p.out) : nullptr;
  int64_t* index = reinterpret_cast<int64_t*>(p.out_index ? p.out_index : p.out);
  parallel_chunks(p.outer * p.inner, std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(p.reduce, 1)),
                  [&](int64_t b, int64_t e) {
                    for (int64_t t = b; t < e; ++t) {
                      int64_t o = t / p.inner, i = t % p.inner;
                      const T* x = in + o * p.stride_outer + i * p.stride_inner;
                      T best = x[0];
                      int64_t best_r = 0;
                      for (int64_t r = 1; r < p.reduce; ++r) {
                        T v = x[r * p.stride_reduce];
                        bool better;
                        if constexpr (std::is_floating_point_v<T>)
                          better = (best == best) && (v != v || (IsMax ? v > best : v < best));
                        else
                          better = IsMax ? v > best : v < best;
                        if (better) {
                          best = v;
                          best_r = r;
                        }
                      }
                      index[t] = best_r;
                      if (values) values[t] = best;
                    }
                  });
}

template <typename T>
void reduce_dispatch_op(ReduceOp op, const ReduceParams& p) {
  switch (op) {
    case ReduceOp::Sum:
      if constexpr (!std::is_same_v<T, bool>) return reduce_typed<SumOp, T>(p);
      break;
    case ReduceOp::Prod:
      if constexpr (!std::is_same_v<T, bool>) return reduce_typed<ProdOp, T>(p);
      break;
    case ReduceOp::Max: return p.out_index ? arg_reduce<true, T>(p) : reduce_typed<MaxOp, T>(p);
    case ReduceOp::Min: return p.out_index ? arg_reduce<false, T>(p) : reduce_typed<MinOp, T>(p);
    case ReduceOp::ArgMax: return arg_reduce<true, T>(p);
    case ReduceOp::ArgMin: return arg_reduce<false, T>(p);
    case ReduceOp::All:
      if constexpr (std::is_same_v<T, bool>) return reduce_typed<AndOp, uint8_t>(p);
      break;
    case ReduceOp::Any:
      if constexpr (std::is_same_v<T, bool>) return reduce_typed<OrOp, uint8_t>(p);
      break;
    default: break;
  }
}

void reduce_kernel(ReduceOp op, const ReduceParams& p) {
  switch (p.in_dtype) {
    case DType::Float32: return reduce_dispatch_op<float>(op, p);
    case DType::Float64: return reduce_dispatch_op<double>(op, p);
    case DType::Int64: return reduce_dispatch_op<int64_t>(op, p);
    case DType::Int32: return reduce_dispatch_op<int32_t>(op, p);
    case DType::Int16: return reduce_dispatch_op<int16_t>(op, p);
    case DType::Int8: return reduce_dispatch_op<int8_t>(op, p);
    case DType::UInt8: return reduce_dispatch_op<uint8_t>(op, p);
    case DType::Bool: return reduce_dispatch_op<bool>(op, p);
    default: break;
  }
}

// ---------------------------------------------------------------- softmax

// exp(x - shift) into y: SIMD for float32, libm for float64.
inline void exp_shifted(const float* x, float* y, int64_t n, float shift) {
  map_floats(y, x, n, [shift](vf v) { return exp_v(v - shift); });
}
inline void exp_shifted(const double* x, double* y, int64_t n, double shift) {
  for (int64_t j = 0; j < n; ++j) y[j] = std::exp(x[j] - shift);
}

// One row: max, exp(x - max) (kept in y), sum, then scale (softmax) or shift (log_softmax).
template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  T mx = reduce_block<MaxOp>(x, n);
  if (mx == -std::numeric_limits<T>::infinity()) mx = T(0);  // all -inf: keep exp finite
  exp_shifted(x, y, n, mx);
  T sum = reduce_block<SumOp>(y, n);
  if (log) {  // (x - max) - log(sum): adding log(sum) to a large max first would round it away
    T log_sum = vlog(sum);
    for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - mx) - log_sum;
  } else {
    T inv = T(1) / sum;
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

template <typename T>
void softmax_typed(const SoftmaxParams& p) {
  const T* in = reinterpret_cast<const T*>(p.in);
  T* out = reinterpret_cast<T*>(p.out);
  if (p.inner == 1) {
    int64_t grain = std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(1, p.dim));
    parallel_chunks(p.outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) softmax_row(in + o * p.dim, out + o * p.dim, p.dim, p.log);
    });
    return;
  }
  // Softmax over a non-last dim: work on columns, vectorised across inner.
  parallel_chunks(p.outer, 1, [&](int64_t b, int64_t e) {
    T* mx = new T[p.inner];
    T* sum = new T[p.inner];
    for (int64_t o = b; o < e; ++o) {
      const T* x = in + o * p.dim * p.inner;
      T* y = out + o * p.dim * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) mx[i] = -std::numeric_limits<T>::infinity();
      for (int64_t d = 0; d < p.dim; ++d)
        for (int64_t i = 0; i < p.inner; ++i) mx[i] = MaxOp::combine(mx[i], x[d * p.inner + i]);
      for (int64_t i = 0; i < p.inner; ++i) {
        if (mx[i] == -std::numeric_limits<T>::infinity()) mx[i] = T(0);
        sum[i] = T(0);
      }
      for (int64_t d = 0; d < p.dim; ++d)
        for (int64_t i = 0; i < p.inner; ++i) {
          T v = vexp(x[d * p.inner + i] - mx[i]);
          sum[i] += v;
          if (!p.log) y[d * p.inner + i] = v;
        }
      if (p.log) {
        for (int64_t i = 0; i < p.inner; ++i) sum[i] = vlog(sum[i]);
        for (int64_t d = 0; d < p.dim; ++d)
          for (int64_t i = 0; i < p.inner; ++i) y[d * p.inner + i] = (x[d * p.inner + i] - mx[i]) - sum[i];
      } else {
        for (int64_t i = 0; i < p.inner; ++i) sum[i] = T(1) / sum[i];
        for (int64_t d = 0; d < p.dim; ++d)
          for (int64_t i = 0; i < p.inner; ++i) y[d * p.inner + i] *= sum[i];
      }
    }
    delete[] mx;
    delete[] sum;
  });
}

// ---------------------------------------------------------------- cross-entropy
// Per row: lse = max + log(sum exp(x - max)); loss = (1 - ls) * (lse - x[t]) + ls / C *
// sum_c (lse - x_c). Backward: dx_c = g * (exp(x_c - lse) - (1 - ls) [c == t] - ls / C).
// Ignored rows have loss 0 and gradient 0.
template <typename T>
void cross_entropy_typed(const CrossEntropyParams& p) {
  const T* logits = reinterpret_cast<const T*>(p.logits);
  const int64_t n = p.classes;
  const T ls = T(p.label_smoothing), keep = T(1) - ls, spread = ls / T(n);
  const int64_t grain = std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(1, n));
  T* lse = reinterpret_cast<T*>(p.lse);
  parallel_chunks(p.rows, grain, [&](int64_t b, int64_t e) {
    std::vector<T> scratch(p.backward ? 0 : size_t(n));
    for (int64_t r = b; r < e; ++r) {
      const T* x = logits + r * n;
      const int64_t t = p.target[r];
      const bool ignored = t == p.ignore_index;
      if (p.backward) {
        T* dx = reinterpret_cast<T*>(p.out) + r * n;
        const T g = ignored ? T(0) : reinterpret_cast<const T*>(p.grad_rows)[r];
        if (g == T(0)) {
          std::fill(dx, dx + n, T(0));
          continue;
        }
        exp_shifted(x, dx, n, lse[r]);
        for (int64_t c = 0; c < n; ++c) dx[c] = g * (dx[c] - spread);
        dx[t] -= g * keep;
        continue;
      }
      T mx = reduce_block<MaxOp>(x, n);
      if (mx == -std::numeric_limits<T>::infinity()) mx = T(0);
      exp_shifted(x, scratch.data(), n, mx);
      const T row_lse = mx + vlog(reduce_block<SumOp>(scratch.data(), n));
      lse[r] = row_lse;
      T loss = T(0);
      if (!ignored) {
        loss = keep * (row_lse - x[t]);
        if (ls != T(0)) loss += spread * (T(n) * row_lse - reduce_block<SumOp>(x, n));
      }
      reinterpret_cast<T*>(p.out)[r] = loss;
    }
  });
}

void cross_entropy_kernel(const CrossEntropyParams& p) {
  if (p.dtype == DType::Float32) cross_entropy_typed<float>(p);
  else cross_entropy_typed<double>(p);
}

// ---------------------------------------------------------------- layer norm / RMS norm
// sum of f(j) for j in [0, n), over kLanes accumulators combined in a fixed tree.
template <typename T, typename F>
inline T lane_sum(int64_t n, const F& f) {
  T acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = T(0);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(j + l);
  for (int l = 0; j < n; ++j, ++l) acc[l] += f(j);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

constexpr int64_t kNormRowChunk = 64;  // rows per partial sum of the weight/bias gradients

template <typename T>
void norm_forward(const heron::NormParams& p) {
  const T* x = reinterpret_cast<const T*>(p.x);
  const T* w = reinterpret_cast<const T*>(p.weight);
  const T* b = reinterpret_cast<const T*>(p.bias);
  const int64_t n = p.cols;
  const T inv_n = T(1) / T(n), eps = T(p.eps);
  const int64_t grain = std::max<int64_t>(1, kReduceBlock / std::max<int64_t>(1, n));
  parallel_chunks(p.rows, grain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const T* xr = x + r * n;
      T* yr = reinterpret_cast<T*>(p.y) + r * n;
      T mean = T(0), rstd;
      if (p.rms) {
        rstd = T(1) / std::sqrt(lane_sum<T>(n, [&](int64_t j) { return xr[j] * xr[j]; }) * inv_n + eps);
      } else {  // two passes: the variance of the deviations, not E[x^2] - E[x]^2
        mean = lane_sum<T>(n, [&](int64_t j) { return xr[j]; }) * inv_n;
        const T var = lane_sum<T>(n, [&](int64_t j) { return (xr[j] - mean) * (xr[j] - mean); }) * inv_n;
        rstd = T(1) / std::sqrt(var + eps);
        reinterpret_cast<T*>(p.mean)[r] = mean;
      }
      reinterpret_cast<T*>(p.rstd)[r] = rstd;
      for (int64_t j = 0; j < n; ++j) {
        T v = (xr[j] - mean) * rstd;
        if (w) v = v * w[j];
        if (b) v = v + b[j];
        yr[j] = v;
      }
    }
  });
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * w (LayerNorm;
// RMSNorm has no mean term); dw = sum over rows of dy * xhat, db = sum of dy.
template <typename T>
void norm_backward(const heron::NormParams& p) {
  const T* x = reinterpret_cast<const T*>(p.x);
  const T* w = reinterpret_cast<const T*>(p.weight);
  const T* dy = reinterpret_cast<const T*>(p.grad_y);
  const T* means = reinterpret_cast<const T*>(p.mean);
  const T* rstds = reinterpret_cast<const T*>(p.rstd);
  const int64_t n = p.cols;
  const T inv_n = T(1) / T(n);
  const bool param_grads = p.grad_weight || p.grad_bias;
  const int64_t chunks = (p.rows + kNormRowChunk - 1) / kNormRowChunk;
  // partial[c] = (dw, db) summed over row chunk c
  std::vector<T> partial(param_grads ? size_t(chunks * 2 * n) : 0, T(0));
  parallel_chunks(chunks, 1, [&](int64_t cb, int64_t ce) {
    std::vector<T> dxhat(static_cast<size_t>(n));
    for (int64_t c = cb; c < ce; ++c) {
      T* dw = param_grads ? partial.data() + c * 2 * n : nullptr;
      T* db = param_grads ? dw + n : nullptr;
      for (int64_t r = c * kNormRowChunk; r < std::min(p.rows, (c + 1) * kNormRowChunk); ++r) {
        const T* xr = x + r * n;
        const T* dyr = dy + r * n;
        const T mean = p.rms ? T(0) : means[r], rstd = rstds[r];
        for (int64_t j = 0; j < n; ++j) dxhat[j] = w ? dyr[j] * w[j] : dyr[j];
        const T mean_dxhat = p.rms ? T(0) : lane_sum<T>(n, [&](int64_t j) { return dxhat[j]; }) * inv_n;
        const T mean_dot = lane_sum<T>(n, [&](int64_t j) { return dxhat[j] * (xr[j] - mean) * rstd; }) * inv_n;
        T* dxr = reinterpret_cast<T*>(p.grad_x) + r * n;
        for (int64_t j = 0; j < n; ++j) {
          const T xhat = (xr[j] - mean) * rstd;
          dxr[j] = rstd * (dxhat[j] - mean_dxhat - xhat * mean_dot);
          if (param_grads) {
            dw[j] += dyr[j] * xhat;
            db[j] += dyr[j];
          }
        }
      }
    }
  });
  if (!param_grads) return;
  T* gw = reinterpret_cast<T*>(p.grad_weight);
  T* gb = reinterpret_cast<T*>(p.grad_bias);
  for (int64_t j = 0; j < n; ++j) {
    T sw = T(0), sb = T(0);
    for (int64_t c = 0; c < chunks; ++c) {
      sw += partial[size_t(c * 2 * n + j)];
      sb += partial[size_t(c * 2 * n + n + j)];
    }
    if (gw) gw[j] = sw;
    if (gb) gb[j] = sb;
  }
}

void norm_kernel(const heron::NormParams& p) {
  if (p.dtype == DType::Float32) p.backward ? norm_backward<float>(p) : norm_forward<float>(p);
  else p.backward ? norm_backward<double>(p) : norm_forward<double>(p);
}

void softmax_kernel(const SoftmaxParams& p) {
  if (p.dtype == DType::Float32) softmax_typed<float>(p);
  else softmax_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
