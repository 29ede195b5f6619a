// Fused scaled-dot-product attention, FlashAttention-2 structure on the CPU.
//
// Forward, per task (batch, head, block of kQueryBlock query rows):
//   for each block of kKeyBlock keys (causal: only those some row of the block can see)
//     S = scale * Q_blk K_blk^T (+ mask)          kQueryBlock x kKeyBlock, stays in L2
//     online softmax: running row max m and sum l; O_acc rescaled by exp(m_old - m_new)
//     O_acc += exp(S - m) V_blk
//   out = O_acc / l, lse = m + log(l)
// Backward, per task (batch, kv head): for each key block (kBackwardKeyBlock keys) and each
// query block that sees it,
//   P = exp(scale * Q K^T + mask - lse), dV += P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)),
//   dK += scale * dS^T Q, dQ += scale * dS K
// Dropout multiplies P by its mask M (0, or 1 / (1 - p)) after the row sums are taken, so
// O = (P * M) V and lse stays the undropped one. The backward regenerates M from the counter
// stream: dV += (P * M)^T dO and dP = M * (dO V^T). rowsum(dO * O) is still the softmax term.
// The score matrix never exists beyond one block: extra memory is O(block * (len + dim)).
//
// Determinism: tasks write disjoint outputs (the backward owns a kv head, so dK and dV of the
// whole group of query heads are summed inside one task), and every sum runs in an order that
// depends only on the sizes, so any thread count gives the same bits.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "core/kernel_params.h"
#include "cpu/gemm_serial.h"
#include "cpu/philox.h"
#include "cpu/simd/math.h"

namespace HERON_ISA_NAMESPACE {
namespace {

// Query blocks of 96 rows (a multiple of the GEMM's 6- and 12-row register tiles, so no edge
// tile) against 256 keys forward (a 96 KiB float32 score block, in L2 beside the key and value
// blocks) and 128 keys backward (two score-sized blocks live there, and causal diagonal blocks
// waste less). Measured on a 1 MiB-L2 core: 64 x 256 was 1.15x slower forward, 1.7x backward.
constexpr int64_t kQueryBlock = 96;
constexpr int64_t kKeyBlock = 256;
constexpr int64_t kBackwardKeyBlock = 128;

// Scratch owned by one task: freed on every path, and a failed allocation is reported
// instead of thrown (an exception must not leave an OpenMP region).
template <typename T>
struct TaskBuffer {
  T* p;
  explicit TaskBuffer(int64_t n) : p(static_cast<T*>(std::malloc(sizeof(T) * size_t(std::max<int64_t>(n, 1))))) {}
  ~TaskBuffer() { std::free(p); }
  TaskBuffer(const TaskBuffer&) = delete;
  TaskBuffer& operator=(const TaskBuffer&) = delete;
};

// Row statistics of one score block. float32 runs on SIMD vectors (a lane per column residue,
// lanes combined in a fixed order); float64 (gradcheck only) on plain loops. Either way the
// order depends only on n, never on threads.
inline float block_max(const float* x, int64_t n) {
  vf m = splat(-INFINITY);
  int64_t j = 0;
  for (; j + kFloatLanes <= n; j += kFloatLanes) {
    vf v;
    std::memcpy(&v, x + j, sizeof(vf));
    m = v > m ? v : m;
  }
  float best = -INFINITY;
  for (int l = 0; l < kFloatLanes; ++l) best = std::max(best, m[l]);
  for (; j < n; ++j) best = std::max(best, x[j]);
  return best;
}
inline double block_max(const double* x, int64_t n) {
  double best = -INFINITY;
  for (int64_t j = 0; j < n; ++j) best = std::max(best, x[j]);
  return best;
}

// x[j] = exp(x[j] - shift) in place; returns the sum of the new values.
inline float exp_shifted_sum(float* x, int64_t n, float shift) {
  vf acc0 = {}, acc1 = {};
  int64_t j = 0;
  for (; j + 2 * kFloatLanes <= n; j += 2 * kFloatLanes) {
    vf a, b;
    std::memcpy(&a, x + j, sizeof(vf));
    std::memcpy(&b, x + j + kFloatLanes, sizeof(vf));
    a = exp_v(a - shift), b = exp_v(b - shift);
    std::memcpy(x + j, &a, sizeof(vf));
    std::memcpy(x + j + kFloatLanes, &b, sizeof(vf));
    acc0 += a, acc1 += b;
  }
  for (; j < n; j += kFloatLanes) {  // the tail through a vector padded with -inf (exp gives 0)
    const int64_t lanes = std::min<int64_t>(kFloatLanes, n - j);
    vf a = splat(-INFINITY);
    std::memcpy(&a, x + j, size_t(lanes) * sizeof(float));
    a = exp_v(a - shift);
    std::memcpy(x + j, &a, size_t(lanes) * sizeof(float));
    acc0 += a;
  }
  acc0 += acc1;
  float sum = 0;
  for (int l = 0; l < kFloatLanes; ++l) sum += acc0[l];
  return sum;
}
inline double exp_shifted_sum(double* x, int64_t n, double shift) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += (x[j] = std::exp(x[j] - shift));
  return sum;
}

template <typename T>
struct Problem {
  const heron::AttentionParams& p;
  const T *q, *k, *v, *mask;
  int64_t group;  // query heads per kv head
  bool dropout;
  DropoutStream dropout_stream;

  explicit Problem(const heron::AttentionParams& params)
      : p(params),
        q(reinterpret_cast<const T*>(params.q)),
        k(reinterpret_cast<const T*>(params.k)),
        v(reinterpret_cast<const T*>(params.v)),
        mask(reinterpret_cast<const T*>(params.mask)),
        group(params.heads / params.kv_heads),
        dropout(params.dropout_p > 0),
        dropout_stream(params.dropout_seed, params.dropout_offset, 1.0 - params.dropout_p) {}

  // Applies the dropout mask to probabilities row i, keys [j0, j0 + cols) of head (b, h).
  void drop(T* row, int64_t cols, int64_t b, int64_t h, int64_t i, int64_t j0) const {
    apply_dropout(row, cols, dropout_stream, uint64_t(((b * p.heads + h) * p.q_len + i) * p.kv_len + j0));
  }

  const T* q_head(int64_t b, int64_t h) const { return q + (b * p.heads + h) * p.q_len * p.head_dim; }
  const T* k_head(int64_t b, int64_t kvh) const { return k + (b * p.kv_heads + kvh) * p.kv_len * p.head_dim; }
  const T* v_head(int64_t b, int64_t kvh) const { return v + (b * p.kv_heads + kvh) * p.kv_len * p.value_dim; }

  // Keys a block of query rows [i0, i1) can see: all, or under the causal mask those j < i1.
  int64_t visible_keys(int64_t i1) const { return p.causal ? std::min(p.kv_len, i1) : p.kv_len; }

  // S (rows x cols, row stride ld) = scale * Q[i0:] K[j0:]^T, plus the mask, with -inf where
  // the causal mask hides a key.
  bool scores(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t j0, int64_t cols, T* s, int64_t ld) const {
    const int64_t d = p.head_dim;
    if (!gemm_serial<T>(rows, cols, d, T(p.scale), q_head(b, h) + i0 * d, d, 1, k_head(b, h / group) + j0 * d, 1, d,
                        T(0), s, ld))
      return false;
    if (mask) {
      const int64_t* ms = p.mask_strides;
      const T* m = mask + b * ms[0] + h * ms[1] + j0 * ms[3];
      for (int64_t r = 0; r < rows; ++r) {
        const T* mrow = m + (i0 + r) * ms[2];
        T* srow = s + r * ld;
        for (int64_t c = 0; c < cols; ++c) srow[c] += mrow[c * ms[3]];
      }
    }
    if (p.causal && j0 + cols - 1 > i0) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = std::max<int64_t>(0, i0 + r + 1 - j0); c < cols; ++c)
          s[r * ld + c] = -std::numeric_limits<T>::infinity();
    }
    return true;
  }
};

// ------------------------------------------------------------------------------ forward
template <typename T>
bool forward_task(const Problem<T>& pr, int64_t b, int64_t h, int64_t i0) {
  const heron::AttentionParams& p = pr.p;
  const int64_t rows = std::min(kQueryBlock, p.q_len - i0), dv = p.value_dim;
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  TaskBuffer<T> s(kQueryBlock * kKeyBlock), acc(kQueryBlock * dv), stats(2 * kQueryBlock);
  if (!s.p || !acc.p || !stats.p) return false;
  T *row_max = stats.p, *row_sum = stats.p + kQueryBlock;
  std::fill(acc.p, acc.p + rows * dv, T(0));
  std::fill(row_max, row_max + rows, kNegInf);
  std::fill(row_sum, row_sum + rows, T(0));
  const T* vh = pr.v_head(b, h / pr.group);
  const int64_t keys = pr.visible_keys(i0 + rows);
  for (int64_t j0 = 0; j0 < keys; j0 += kKeyBlock) {
    const int64_t cols = std::min(kKeyBlock, keys - j0);
    if (!pr.scores(b, h, i0, rows, j0, cols, s.p, kKeyBlock)) return false;
    for (int64_t r = 0; r < rows; ++r) {
      T* srow = s.p + r * kKeyBlock;
      const T new_max = std::max(row_max[r], block_max(srow, cols));
      const T shift = new_max == kNegInf ? T(0) : new_max;  // every score so far -inf: keep exp finite
      const T block_sum = exp_shifted_sum(srow, cols, shift);
      const T rescale = std::exp(row_max[r] - shift);  // 0 on the first block that sees a key
      if (rescale != T(1)) {
        T* arow = acc.p + r * dv;
        for (int64_t c = 0; c < dv; ++c) arow[c] *= rescale;
      }
      row_sum[r] = row_sum[r] * rescale + block_sum;
      row_max[r] = new_max;
      if (pr.dropout) pr.drop(srow, cols, b, h, i0 + r, j0);
    }
    if (!gemm_serial<T>(rows, dv, cols, T(1), s.p, kKeyBlock, 1, vh + j0 * dv, dv, 1, T(1), acc.p, dv)) return false;
  }
  T* out = reinterpret_cast<T*>(p.out) + ((b * p.heads + h) * p.q_len + i0) * dv;
  T* lse = reinterpret_cast<T*>(p.lse) + (b * p.heads + h) * p.q_len + i0;
  for (int64_t r = 0; r < rows; ++r) {
    // A row that sees no key (fully masked) gets zeros, as torch's SDPA returns for it.
    const T inv = row_sum[r] > T(0) ? T(1) / row_sum[r] : T(0);
    for (int64_t c = 0; c < dv; ++c) out[r * dv + c] = acc.p[r * dv + c] * inv;
    lse[r] = row_sum[r] > T(0) ? row_max[r] + std::log(row_sum[r]) : kNegInf;
  }
  return true;
}

// ------------------------------------------------------------------------------ backward
template <typename T>
bool backward_task(const Problem<T>& pr, int64_t b, int64_t kvh) {
  const heron::AttentionParams& p = pr.p;
  const int64_t d = p.head_dim, dv = p.value_dim, L = p.q_len, S = p.kv_len;
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const T scale = T(p.scale);
  const T* kh = pr.k_head(b, kvh);
  const T* vh = pr.v_head(b, kvh);
  T* dk = reinterpret_cast<T*>(p.grad_k) + (b * p.kv_heads + kvh) * S * d;
  T* dv_out = reinterpret_cast<T*>(p.grad_v) + (b * p.kv_heads + kvh) * S * dv;
  std::fill(dk, dk + S * d, T(0));
  std::fill(dv_out, dv_out + S * dv, T(0));
  TaskBuffer<T> prob(kQueryBlock * kBackwardKeyBlock), dprob(kQueryBlock * kBackwardKeyBlock), delta(L),
      keep(kBackwardKeyBlock);  // one row of the dropout mask
  if (!prob.p || !dprob.p || !delta.p || !keep.p) return false;
  for (int64_t h = kvh * pr.group; h < (kvh + 1) * pr.group; ++h) {
    const int64_t bh = b * p.heads + h;
    const T* qh = pr.q_head(b, h);
    const T* go = reinterpret_cast<const T*>(p.grad_out) + bh * L * dv;
    const T* out = reinterpret_cast<const T*>(p.out) + bh * L * dv;
    const T* lse = reinterpret_cast<const T*>(p.lse) + bh * L;
    T* dq = reinterpret_cast<T*>(p.grad_q) + bh * L * d;
    std::fill(dq, dq + L * d, T(0));
    for (int64_t i = 0; i < L; ++i) {  // rowsum(dO * O): the softmax backward's per-row term
      T sum = 0;
      for (int64_t c = 0; c < dv; ++c) sum += go[i * dv + c] * out[i * dv + c];
      delta.p[i] = sum;
    }
    for (int64_t j0 = 0; j0 < S; j0 += kBackwardKeyBlock) {
      const int64_t cols = std::min(kBackwardKeyBlock, S - j0);
      // Causal: rows before j0 see none of these keys, so the query blocks start at row j0.
      const int64_t first_row = p.causal ? j0 : 0;
      for (int64_t i0 = first_row; i0 < L; i0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, L - i0);
        if (!pr.scores(b, h, i0, rows, j0, cols, prob.p, kBackwardKeyBlock)) return false;
        for (int64_t r = 0; r < rows; ++r) {
          T* prow = prob.p + r * kBackwardKeyBlock;
          if (lse[i0 + r] == kNegInf) std::fill(prow, prow + cols, T(0));  // the row saw no key
          else exp_shifted_sum(prow, cols, lse[i0 + r]);
        }
        // dP = dO[i0:] V[j0:]^T (the gradient of the dropped probabilities, when there is
        // dropout), then dS = P * (M * dP - delta) in place, and P * M for dV.
        if (!gemm_serial<T>(rows, cols, dv, T(1), go + i0 * dv, dv, 1, vh + j0 * dv, 1, dv, T(0), dprob.p, kBackwardKeyBlock))
          return false;
        for (int64_t r = 0; r < rows; ++r) {
          T* prow = prob.p + r * kBackwardKeyBlock;
          T* dsrow = dprob.p + r * kBackwardKeyBlock;
          const T dr = delta.p[i0 + r];
          if (!pr.dropout) {
            for (int64_t c = 0; c < cols; ++c) dsrow[c] = prow[c] * (dsrow[c] - dr);
            continue;
          }
          std::fill(keep.p, keep.p + cols, T(1));
          pr.drop(keep.p, cols, b, h, i0 + r, j0);
          for (int64_t c = 0; c < cols; ++c) {
            dsrow[c] = prow[c] * (keep.p[c] * dsrow[c] - dr);
            prow[c] *= keep.p[c];
          }
        }
        // dV[j0:] += (P * M)^T dO[i0:]
        if (!gemm_serial<T>(cols, dv, rows, T(1), prob.p, 1, kBackwardKeyBlock, go + i0 * dv, dv, 1, T(1), dv_out + j0 * dv, dv))
          return false;
        // dK[j0:] += scale dS^T Q[i0:], dQ[i0:] += scale dS K[j0:]
        if (!gemm_serial<T>(cols, d, rows, scale, dprob.p, 1, kBackwardKeyBlock, qh + i0 * d, d, 1, T(1), dk + j0 * d, d))
          return false;
        if (!gemm_serial<T>(rows, d, cols, scale, dprob.p, kBackwardKeyBlock, 1, kh + j0 * d, d, 1, T(1), dq + i0 * d, d))
          return false;
      }
    }
  }
  return true;
}

// Runs task(t) for t in [0, tasks), over threads when there is more than one task.
template <typename F>
void run_tasks(int64_t tasks, const F& task) {
  bool ok = true;
  if (tasks <= 1 || omp_get_max_threads() == 1 || omp_in_parallel()) {
    for (int64_t t = 0; t < tasks && ok; ++t) ok = task(t);
  } else {
#pragma omp parallel for schedule(dynamic, 1) reduction(&& : ok)
    for (int64_t t = 0; t < tasks; ++t) ok = task(t) && ok;
  }
  if (!ok) throw std::bad_alloc();
}

template <typename T>
void attention_typed(const heron::AttentionParams& p) {
  const Problem<T> pr(p);
  if (p.backward) {
    run_tasks(p.batch * p.kv_heads, [&](int64_t t) { return backward_task<T>(pr, t / p.kv_heads, t % p.kv_heads); });
    return;
  }
  const int64_t q_blocks = (p.q_len + kQueryBlock - 1) / kQueryBlock;
  run_tasks(p.batch * p.heads * q_blocks, [&](int64_t t) {
    const int64_t bh = t / q_blocks;
    return forward_task<T>(pr, bh / p.heads, bh % p.heads, t % q_blocks * kQueryBlock);
  });
}

}  // namespace

void attention_kernel(const heron::AttentionParams& p) {
  if (p.dtype == heron::DType::Float32) attention_typed<float>(p);
  else attention_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
