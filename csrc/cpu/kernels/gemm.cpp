// heron's GEMM, Goto/BLIS style: C = act(alpha * A @ B + beta * C + bias).
//
//   for each NC-wide block of columns       (B block sized for L3)
//     for each KC-deep slice of K           (B micro-panel sized for L1)
//       pack B[kc x nc] into NR-wide micro-panels
//       for each MC-tall block of rows      (A block sized for L2)
//         pack A[mc x kc] into MR-tall micro-panels
//         for each micro-panel pair: an MR x NR register tile accumulates over kc
//
// Packing reads any strides, so transposed and broadcast operands cost nothing extra, and
// zero-pads the edges so edge tiles run the same register kernel (no performance cliff).
// Edge tiles go through a padded copy of C, so every element of C sees the same vector code.
//
// Determinism: K is cut into KC slices that depend only on the cache sizes, and each C tile
// adds its slices in order. Threads split M, N and the batch, never K, so the result is
// bit-identical for any thread count.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/kernel_params.h"
#include "cpu/gemm_serial.h"
#include "cpu/scratch.h"
#include "cpu/simd/math.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::GemmActivation;

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));
  static constexpr int kLanes = kVecBytes / sizeof(T);
};

// Register tile: MR rows x (2 vectors) columns of accumulators, leaving registers for the two
// B vectors and the broadcast A value (16 vector registers below AVX-512, 32 with it).
#if defined(__AVX512F__)
constexpr int kMR = 12;
#else
constexpr int kMR = 6;
#endif
constexpr int kVecsPerRow = 2;

template <typename T>
struct Tile {
  using V = typename Vec<T>::type;
  static constexpr int MR = kMR;
  static constexpr int NR = kVecsPerRow * Vec<T>::kLanes;
};

template <typename T>
using VecT = typename Vec<T>::type;

// x in every lane. (x - 0 is x for every x, -0 included, so the compiler folds it to a plain
// broadcast; 0 + x is not, and costs an add and a register.)
template <typename V, typename T>
inline V broadcast(T x) {
  return x - V{};
}

template <typename V, typename T>
inline V load_vec(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <typename V, typename T>
inline void store_vec(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

// Cache blocking, from the running CPU's cache sizes (fixed per process, never per thread
// count: KC decides the summation order).
struct Blocking {
  int64_t kc, mc, nc;
};

inline int64_t cache_size(int name, int64_t fallback) {
  long v = sysconf(name);
  return v > 0 ? int64_t(v) : fallback;
}

template <typename T>
const Blocking& blocking() {
  static const Blocking b = [] {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const int64_t l1 = cache_size(_SC_LEVEL1_DCACHE_SIZE, 32 << 10);
    const int64_t l2 = cache_size(_SC_LEVEL2_CACHE_SIZE, 512 << 10);
    const int64_t l3 = cache_size(_SC_LEVEL3_CACHE_SIZE, 8 << 20);
    Blocking r;
    // The B micro-panel (kc x NR) stays in L1 while A micro-panels stream past it.
    r.kc = std::clamp<int64_t>(l1 / 2 / (NR * int64_t(sizeof(T))), 128, 384) / 16 * 16;
    // The packed A block (mc x kc) stays in L2 across all B micro-panels, with room to spare
    // for the B micro-panels and C tiles passing through.
    r.mc = std::clamp<int64_t>(l2 / 4 / (r.kc * int64_t(sizeof(T))), MR, 1024) / MR * MR;
    // The packed B block (kc x nc) is re-read for every A block: keep it within a core's
    // share of the last-level cache (taken as 2 x L2, since L3 is shared with other cores).
    r.nc = std::clamp<int64_t>(std::min(2 * l2, l3) / (r.kc * int64_t(sizeof(T))), NR, 4096) / NR * NR;
    // HERON_GEMM_BLOCKING="kc,mc,nc" overrides the choice, for tuning on a new machine.
    if (const char* env = std::getenv("HERON_GEMM_BLOCKING")) {
      long kc = 0, mc = 0, nc = 0;
      if (std::sscanf(env, "%ld,%ld,%ld", &kc, &mc, &nc) == 3 && kc > 0 && mc > 0 && nc > 0) {
        r.kc = kc;
        r.mc = std::max<int64_t>(mc / MR, 1) * MR;
        r.nc = std::max<int64_t>(nc / NR, 1) * NR;
      }
    }
    return r;
  }();
  return b;
}

// One problem (or one thread's block of it), pointers already offset.
template <typename T>
struct Gemm {
  const T* a;
  int64_t a_rs, a_cs;
  const T* b;
  int64_t b_rs, b_cs;
  T* c;
  int64_t c_rs;
  const T* bias;  // contiguous, n values, or null
  int64_t m, n, k;
  T alpha, beta;
  GemmActivation act;
};

// ------------------------------------------------------------------------------ packing
// A[rows x kc] -> micro-panels of MR rows: panel[k * MR + r], zero rows past the edge.
template <typename T>
void pack_a(const T* a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, T* out) {
  constexpr int MR = Tile<T>::MR;
  if (rs == 1 && cs != 1) {
    // Columns contiguous (a transposed operand, as in a weight gradient). Walking one
    // micro-panel at a time reads 24 bytes per column, a column stride apart, and those reads
    // fall into few cache sets; walking one column at a time writes 24 bytes to every panel,
    // and the panels (6 KiB apart) fall into two sets. So: 8 columns at a time, each panel's
    // share written as 3 whole cache lines.
    constexpr int64_t kColumns = 8;
    const int64_t panels = (rows + MR - 1) / MR;
    if (rows % MR) std::fill(out + (panels - 1) * MR * kc, out + panels * MR * kc, T(0));
    for (int64_t k0 = 0; k0 < kc; k0 += kColumns) {
      const int64_t k1 = std::min(kc, k0 + kColumns);
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t mr = std::min<int64_t>(MR, rows - p * MR);
        T* panel = out + p * MR * kc;
        for (int64_t k = k0; k < k1; ++k) {
          const T* col = a + k * cs + p * MR;
          if (mr == MR) {
            for (int r = 0; r < MR; ++r) panel[k * MR + r] = col[r];
          } else {
            for (int64_t r = 0; r < mr; ++r) panel[k * MR + r] = col[r];
          }
        }
      }
    }
    return;
  }
  for (int64_t i0 = 0; i0 < rows; i0 += MR, out += MR * kc) {
    const int64_t mr = std::min<int64_t>(MR, rows - i0);
    const T* src = a + i0 * rs;
    if (mr < MR) std::fill(out, out + MR * kc, T(0));
    if (cs == 1) {  // rows contiguous: read along k
      for (int64_t r = 0; r < mr; ++r)
        for (int64_t k = 0; k < kc; ++k) out[k * MR + r] = src[r * rs + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t r = 0; r < mr; ++r) out[k * MR + r] = src[r * rs + k * cs];
    }
  }
}

// B[kc x cols] -> micro-panels of NR columns: panel[k * NR + j], zero columns past the edge.
template <typename T>
void pack_b(const T* b, int64_t rs, int64_t cs, int64_t kc, int64_t cols, T* out) {
  constexpr int NR = Tile<T>::NR;
  for (int64_t j0 = 0; j0 < cols; j0 += NR, out += NR * kc) {
    const int64_t nr = std::min<int64_t>(NR, cols - j0);
    const T* src = b + j0 * cs;
    if (cs == 1 && nr == NR) {
      for (int64_t k = 0; k < kc; ++k) std::memcpy(out + k * NR, src + k * rs, sizeof(T) * NR);
      continue;
    }
    if (nr < NR) std::fill(out, out + NR * kc, T(0));
    if (rs == 1) {  // columns contiguous (a transposed operand): read along k
      for (int64_t j = 0; j < nr; ++j)
        for (int64_t k = 0; k < kc; ++k) out[k * NR + j] = src[j * cs + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t j = 0; j < nr; ++j) out[k * NR + j] = src[k * rs + j * cs];
    }
  }
}

// ------------------------------------------------------------------------------ register tile
// acc[MR][2] = sum over kc of A-panel column x B-panel row. A is either packed (a[k*MR + r]) or
// read in place by strides (small problems); B rows are NR contiguous values b_rs apart.
template <typename T, bool kPackedA>
inline void tile_product(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                         VecT<T> (&acc)[kMR][kVecsPerRow]) {
  using V = VecT<T>;
  constexpr int L = Vec<T>::kLanes;
  for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = V{};
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const V b0 = load_vec<V>(b + k * b_rs), b1 = load_vec<V>(b + k * b_rs + L);
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r) {
      const V ar = broadcast<V>(kPackedA ? a[k * kMR + r] : a[r * a_rs + k * a_cs]);
      acc[r][0] += ar * b0;
      acc[r][1] += ar * b1;
    }
  }
}

// The activation of one lane vector (also used by the scalar paths through lane 0).
template <typename T>
inline VecT<T> activate(VecT<T> v, GemmActivation act) {
  using V = VecT<T>;
  switch (act) {
    case GemmActivation::Relu: return v < T(0) ? V{} : v;  // NaN passes, as torch.relu
    case GemmActivation::Gelu:
    case GemmActivation::GeluTanh:
      if constexpr (std::is_same_v<T, float>) {
        return act == GemmActivation::Gelu ? gelu_v(v) : gelu_tanh_v(v);
      } else {
        for (int l = 0; l < Vec<T>::kLanes; ++l) v[l] = act == GemmActivation::Gelu ? gelu_scalar(v[l]) : gelu_tanh_scalar(v[l]);
        return v;
      }
    default: return v;
  }
}

// The activation over a finished MR x NR window of C (still in L1), in its own loop so the
// GELU polynomial is not inlined into, and does not crowd, the register tile's code.
template <typename T>
__attribute__((noinline)) void activate_tile(T* c, int64_t c_rs, GemmActivation act) {
  using V = VecT<T>;
  constexpr int L = Vec<T>::kLanes;
  auto apply = [&](auto f) {
    for (int r = 0; r < kMR; ++r)
      for (int v = 0; v < kVecsPerRow; ++v) {
        T* p = c + r * c_rs + v * L;
        store_vec(p, f(load_vec<V>(p)));
      }
  };
  switch (act) {
    case GemmActivation::Relu: apply([](V x) { return activate<T>(x, GemmActivation::Relu); }); break;
    case GemmActivation::Gelu: apply([](V x) { return activate<T>(x, GemmActivation::Gelu); }); break;
    case GemmActivation::GeluTanh: apply([](V x) { return activate<T>(x, GemmActivation::GeluTanh); }); break;
    default: break;
  }
}

// Folds a finished slice into C: the first slice scales by alpha and adds beta * C (C unread
// when beta == 0), later ones accumulate; the last adds the bias and applies the activation.
// `c` points at an MR x NR window with row stride c_rs (a padded copy for edge tiles).
template <typename T>
inline void update_tile(const VecT<T> (&acc)[kMR][kVecsPerRow], T* c, int64_t c_rs, const T* bias, const Gemm<T>& g,
                        bool first, bool last) {
  using V = VecT<T>;
  constexpr int L = Vec<T>::kLanes;
  for (int r = 0; r < kMR; ++r) {
    for (int v = 0; v < kVecsPerRow; ++v) {
      T* p = c + r * c_rs + v * L;
      V t = acc[r][v] * g.alpha;
      if (!first) t = load_vec<V>(p) + t;
      else if (g.beta != T(0)) t = load_vec<V>(p) * g.beta + t;
      if (last && bias) t += load_vec<V>(bias + v * L);
      store_vec(p, t);
    }
  }
  if (last && g.act != GemmActivation::None) activate_tile(c, c_rs, g.act);
}

// One MR x NR tile of C at (i, j) with `rows` x `cols` valid.
template <typename T, bool kPackedA>
inline void run_tile(const Gemm<T>& g, int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                     int64_t i, int64_t j, int64_t rows, int64_t cols, const T* bias_pad, bool first, bool last) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  T* c = g.c + i * g.c_rs + j;
  // C is touched once per K slice, rows ldc apart: start fetching it while the tile computes.
  for (int64_t r = 0; r < rows; ++r) __builtin_prefetch(c + r * g.c_rs, 1);
  VecT<T> acc[kMR][kVecsPerRow];
  tile_product<T, kPackedA>(kc, a, a_rs, a_cs, b, b_rs, acc);
  const T* bias = g.bias ? bias_pad + j : nullptr;
  if (rows == MR && cols == NR) {
    update_tile<T>(acc, c, g.c_rs, bias, g, first, last);
    return;
  }
  alignas(64) T edge[MR * NR] = {};
  const bool read_c = !first || g.beta != T(0);
  if (read_c)
    for (int64_t r = 0; r < rows; ++r) std::memcpy(edge + r * NR, c + r * g.c_rs, sizeof(T) * cols);
  update_tile<T>(acc, edge, NR, bias, g, first, last);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * g.c_rs, edge + r * NR, sizeof(T) * cols);
}

// The bias, copied to a zero-padded contiguous row so tiles can load whole vectors of it.
template <typename T>
const T* padded_bias(const Gemm<T>& g) {
  if (!g.bias) return nullptr;
  constexpr int NR = Tile<T>::NR;
  T* pad = scratch<T>(kGemmBias, (g.n + NR - 1) / NR * NR);
  if (!pad) return nullptr;
  std::memcpy(pad, g.bias, sizeof(T) * g.n);
  std::fill(pad + g.n, pad + (g.n + NR - 1) / NR * NR, T(0));
  return pad;
}

// ------------------------------------------------------------------------------ drivers
// Small problems: A is read in place, B in place when its rows are contiguous (else packed
// whole), one K slice. Packing would cost as much as the product itself.
template <typename T>
bool small_gemm(const Gemm<T>& g, const T* bias_pad) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  const T* b = g.b;
  int64_t b_rs = g.b_rs;
  const int64_t full_cols = g.b_cs == 1 ? g.n / NR * NR : 0;
  T* packed_tail = nullptr;
  if (full_cols < g.n) {  // pack the columns that cannot be read in place
    packed_tail = scratch<T>(kGemmB, g.k * ((g.n - full_cols + NR - 1) / NR * NR));
    if (!packed_tail) return false;
    pack_b<T>(g.b + full_cols * g.b_cs, g.b_rs, g.b_cs, g.k, g.n - full_cols, packed_tail);
  }
  // Rows past the edge of A must not be read: the last, partial strip is packed (once).
  const int64_t full_rows = g.m / MR * MR;
  T* a_edge = nullptr;
  if (full_rows < g.m) {
    a_edge = scratch<T>(kGemmA, int64_t(MR) * g.k);
    if (!a_edge) return false;
    pack_a<T>(g.a + full_rows * g.a_rs, g.a_rs, g.a_cs, g.m - full_rows, g.k, a_edge);
  }
  for (int64_t j = 0; j < g.n; j += NR) {
    const int64_t cols = std::min<int64_t>(NR, g.n - j);
    const T* bp = j < full_cols ? b + j : packed_tail + (j - full_cols) * g.k;
    const int64_t bp_rs = j < full_cols ? b_rs : NR;
    for (int64_t i = 0; i < full_rows; i += MR)
      run_tile<T, false>(g, g.k, g.a + i * g.a_rs, g.a_rs, g.a_cs, bp, bp_rs, i, j, MR, cols, bias_pad, true, true);
    if (a_edge) run_tile<T, true>(g, g.k, a_edge, 0, 0, bp, bp_rs, full_rows, j, g.m - full_rows, cols, bias_pad, true, true);
  }
  return true;
}

// `pack_panels(pc, kc, jc, nc, out)` writes B[pc : pc+kc, jc : jc+nc] as NR-wide micro-panels
// (pack_b for a strided B; a convolution computes its patches there instead).
template <typename T, typename PackPanels>
bool blocked_gemm(const Gemm<T>& g, const T* bias_pad, const PackPanels& pack_panels) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  const Blocking& blk = blocking<T>();
  // Packing A costs a pass over A for every N block; with few columns to reuse each packed
  // panel over, that pass is a large share of the work (2048x512 @ 512x128: a fifth, measured
  // 42 -> 73 GFLOP/s without it). A row-major A is then read in place, as the small path does,
  // its rows streaming along k. Wider products keep packing (their measured rates were within
  // the noise either way).
  constexpr int64_t kInPlaceMaxCols = 256;
  const bool read_a_in_place = g.a_cs == 1 && std::min(g.n, blk.nc) <= kInPlaceMaxCols;
  T* pa = scratch<T>(kGemmA, blk.mc * blk.kc);
  T* pb = scratch<T>(kGemmB, blk.kc * std::min(blk.nc, (g.n + NR - 1) / NR * NR));
  if (!pa || !pb) return false;
  for (int64_t jc = 0; jc < g.n; jc += blk.nc) {
    const int64_t nc = std::min(blk.nc, g.n - jc);
    for (int64_t pc = 0; pc < g.k; pc += blk.kc) {
      const int64_t kc = std::min(blk.kc, g.k - pc);
      const bool first = pc == 0, last = pc + kc == g.k;
      pack_panels(pc, kc, jc, nc, pb);
      for (int64_t ic = 0; ic < g.m; ic += blk.mc) {
        const int64_t mc = std::min(blk.mc, g.m - ic);
        // Whole MR-row tiles of a row-major A are read in place; the rest is packed.
        const int64_t in_place = read_a_in_place ? mc / MR * MR : 0;
        if (in_place < mc)
          pack_a<T>(g.a + (ic + in_place) * g.a_rs + pc * g.a_cs, g.a_rs, g.a_cs, mc - in_place, kc, pa);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const T* bp = pb + jr * kc;
          const int64_t cols = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < in_place; ir += MR)
            run_tile<T, false>(g, kc, g.a + (ic + ir) * g.a_rs + pc, g.a_rs, 1, bp, NR, ic + ir, jc + jr, MR, cols,
                               bias_pad, first, last);
          for (int64_t ir = in_place; ir < mc; ir += MR)
            run_tile<T, true>(g, kc, pa + (ir - in_place) * kc, 0, 0, bp, NR, ic + ir, jc + jr,
                              std::min<int64_t>(MR, mc - ir), cols, bias_pad, first, last);
        }
      }
    }
  }
  return true;
}

// Matrix-vector products (n == 1) are memory-bound: no packing, no padding to NR columns.
// Rows of A contiguous: one dot product per row, in fixed lane order. Columns contiguous:
// accumulate scaled columns. Returns false for other layouts.
template <typename T>
bool gemv(const Gemm<T>& g, int64_t bias_step) {
  using V = VecT<T>;
  constexpr int L = Vec<T>::kLanes;
  if (g.a_cs != 1 && g.a_rs != 1) return false;
  const T* x = g.b;  // k values, stride b_rs
  T* xbuf = nullptr;
  if (g.b_rs != 1) {
    xbuf = scratch<T>(kGemmB, g.k);
    if (!xbuf) return false;
    for (int64_t k = 0; k < g.k; ++k) xbuf[k] = g.b[k * g.b_rs];
    x = xbuf;
  }
  auto finish = [&](int64_t i, T dot) {
    T t = dot * g.alpha;
    if (g.beta != T(0)) t = g.c[i * g.c_rs] * g.beta + t;
    if (g.bias) t += g.bias[i * bias_step];
    V v = broadcast<V>(t);
    g.c[i * g.c_rs] = activate<T>(v, g.act)[0];
  };
  if (g.a_cs == 1) {
    for (int64_t i = 0; i < g.m; ++i) {
      const T* row = g.a + i * g.a_rs;
      V s0{}, s1{}, s2{}, s3{};
      int64_t k = 0;
      for (; k + 4 * L <= g.k; k += 4 * L) {
        s0 += load_vec<V>(row + k) * load_vec<V>(x + k);
        s1 += load_vec<V>(row + k + L) * load_vec<V>(x + k + L);
        s2 += load_vec<V>(row + k + 2 * L) * load_vec<V>(x + k + 2 * L);
        s3 += load_vec<V>(row + k + 3 * L) * load_vec<V>(x + k + 3 * L);
      }
      for (; k + L <= g.k; k += L) s0 += load_vec<V>(row + k) * load_vec<V>(x + k);
      V s = (s0 + s1) + (s2 + s3);
      T dot = 0;
      for (int l = 0; l < L; ++l) dot += s[l];
      for (; k < g.k; ++k) dot += row[k] * x[k];
      finish(i, dot);
    }
    return true;
  }
  T* acc = scratch<T>(kGemmA, g.m);
  if (!acc) return false;
  std::fill(acc, acc + g.m, T(0));
  for (int64_t k = 0; k < g.k; ++k) {
    const T* col = g.a + k * g.a_cs;
    const T xk = x[k];
    int64_t i = 0;
    for (; i + L <= g.m; i += L) store_vec(acc + i, load_vec<V>(acc + i) + load_vec<V>(col + i) * xk);
    for (; i < g.m; ++i) acc[i] += col[i] * xk;
  }
  for (int64_t i = 0; i < g.m; ++i) finish(i, acc[i]);
  return true;
}

template <typename T>
bool run_gemm(const Gemm<T>& g) {
  if (g.m == 0 || g.n == 0) return true;
  if (g.k == 0) {  // alpha * (empty sum) = 0
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        T t = g.beta != T(0) ? g.c[i * g.c_rs + j] * g.beta : T(0);
        if (g.bias) t += g.bias[j];
        g.c[i * g.c_rs + j] = activate<T>(broadcast<VecT<T>>(t), g.act)[0];
      }
    return true;
  }
  if (g.n == 1 && gemv(g, 0)) return true;
  if (g.m == 1) {  // c^T = B^T a^T: the row-vector case is a matrix-vector product too
    Gemm<T> t = g;
    t.a = g.b, t.a_rs = g.b_cs, t.a_cs = g.b_rs;
    t.b = g.a, t.b_rs = g.a_cs, t.b_cs = g.a_rs;
    t.m = g.n, t.n = 1, t.c_rs = 1;
    if (gemv(t, 1)) return true;
  }
  const T* bias_pad = padded_bias(g);
  if (g.bias && !bias_pad) return false;
  const Blocking& blk = blocking<T>();
  if (g.k <= blk.kc && g.m * g.n * g.k <= int64_t(96) * 96 * 96) return small_gemm(g, bias_pad);
  return blocked_gemm(g, bias_pad, [&g](int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* out) {
    pack_b<T>(g.b + pc * g.b_rs + jc * g.b_cs, g.b_rs, g.b_cs, kc, nc, out);
  });
}

// ------------------------------------------------------------------------------ threading
// Work is cut into tasks: whole batch entries, or when the batch is smaller than the thread
// count, blocks of one product on an MR/NR-aligned grid. A task is a serial GEMM.
struct Split {
  int64_t parts_m, parts_n;
};

Split choose_split(int64_t m_tiles, int64_t n_tiles, int64_t parts) {
  Split best{1, 1};
  double best_cost = 1e300;
  for (int64_t pm = 1; pm <= parts; ++pm) {
    if (parts % pm) continue;
    const int64_t pn = parts / pm;
    if (pm > m_tiles || pn > n_tiles) continue;
    // Each task packs its own rows of A and columns of B: the repeated packing grows with
    // the number of cuts in each direction relative to that direction's length.
    const double cost = double(pm) / double(m_tiles) + double(pn) / double(n_tiles);
    if (cost < best_cost) best_cost = cost, best = {pm, pn};
  }
  return best;
}

template <typename T>
void gemm_typed(const heron::MatmulParams& p) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  int64_t nbatch = 1;
  for (int d = 0; d < p.batch_ndim; ++d) nbatch *= p.batch_shape[d];
  const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k) * double(nbatch);
  const int threads = (flops < 4e5 || omp_in_parallel()) ? 1 : omp_get_max_threads();
  const int64_t m_tiles = (p.m + MR - 1) / MR, n_tiles = (p.n + NR - 1) / NR;
  const int64_t parts = nbatch >= threads ? 1 : std::min<int64_t>((threads + nbatch - 1) / nbatch, m_tiles * n_tiles);
  const Split split = choose_split(m_tiles, n_tiles, std::max<int64_t>(parts, 1));
  const int64_t tasks_per_batch = split.parts_m * split.parts_n, tasks = nbatch * tasks_per_batch;
  bool ok = true;

  auto run_task = [&](int64_t task) {
    int64_t bi = task / tasks_per_batch, part = task % tasks_per_batch;
    const char *a = p.a, *b = p.b;
    char* c = p.c;
    for (int d = p.batch_ndim - 1; d >= 0; --d) {
      const int64_t idx = bi % p.batch_shape[d];
      bi /= p.batch_shape[d];
      a += idx * p.a_batch_strides[d] * int64_t(sizeof(T));
      b += idx * p.b_batch_strides[d] * int64_t(sizeof(T));
      c += idx * p.c_batch_strides[d] * int64_t(sizeof(T));
    }
    const int64_t pm = part / split.parts_n, pn = part % split.parts_n;
    const int64_t i0 = m_tiles * pm / split.parts_m * MR, i1 = std::min(p.m, m_tiles * (pm + 1) / split.parts_m * MR);
    const int64_t j0 = n_tiles * pn / split.parts_n * NR, j1 = std::min(p.n, n_tiles * (pn + 1) / split.parts_n * NR);
    Gemm<T> g;
    g.a = reinterpret_cast<const T*>(a) + i0 * p.a_rs, g.a_rs = p.a_rs, g.a_cs = p.a_cs;
    g.b = reinterpret_cast<const T*>(b) + j0 * p.b_cs, g.b_rs = p.b_rs, g.b_cs = p.b_cs;
    g.c = reinterpret_cast<T*>(c) + i0 * p.c_rs + j0, g.c_rs = p.c_rs;
    g.bias = p.bias ? reinterpret_cast<const T*>(p.bias) + j0 * p.bias_stride : nullptr;
    g.m = i1 - i0, g.n = j1 - j0, g.k = p.k;
    g.alpha = T(p.alpha), g.beta = T(p.beta), g.act = p.activation;
    T* bias_copy = nullptr;
    if (g.bias && p.bias_stride != 1) {  // gather a strided bias (rare) so the tile code sees it contiguous
      bias_copy = static_cast<T*>(std::malloc(sizeof(T) * size_t(g.n)));
      if (!bias_copy) return false;
      for (int64_t j = 0; j < g.n; ++j) bias_copy[j] = g.bias[j * p.bias_stride];
      g.bias = bias_copy;
    }
    const bool done = run_gemm(g);
    std::free(bias_copy);
    return done;
  };

  if (threads == 1 || tasks == 1) {
    for (int64_t t = 0; t < tasks && ok; ++t) ok = run_task(t);
  } else {
#pragma omp parallel for schedule(static) num_threads(threads) reduction(&& : ok)
    for (int64_t t = 0; t < tasks; ++t) ok = run_task(t) && ok;
  }
  if (!ok) throw std::bad_alloc();
}

}  // namespace

template <typename T>
bool gemm_serial(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t c_rs) {
  Gemm<T> g;
  g.a = a, g.a_rs = a_rs, g.a_cs = a_cs;
  g.b = b, g.b_rs = b_rs, g.b_cs = b_cs;
  g.c = c, g.c_rs = c_rs, g.bias = nullptr;
  g.m = m, g.n = n, g.k = k;
  g.alpha = alpha, g.beta = beta, g.act = GemmActivation::None;
  return run_gemm(g);
}

template <typename T>
bool gemm_serial_panels(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
                        const PanelSource<T>& b, T beta, T* c, int64_t c_rs) {
  if (m == 0 || n == 0) return true;
  Gemm<T> g;
  g.a = a, g.a_rs = a_rs, g.a_cs = a_cs;
  g.b = nullptr, g.b_rs = g.b_cs = 0;
  g.c = c, g.c_rs = c_rs, g.bias = nullptr;
  g.m = m, g.n = n, g.k = k;
  g.alpha = alpha, g.beta = beta, g.act = GemmActivation::None;
  if (k == 0) return run_gemm(g);  // reads no B
  return blocked_gemm(g, static_cast<const T*>(nullptr), [&b](int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* out) {
    b.pack(pc, kc, jc, nc, out);
  });
}

template <typename T>
int64_t gemm_panel_width() {
  return Tile<T>::NR;
}

template bool gemm_serial_panels<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                        const PanelSource<float>&, float, float*, int64_t);
template bool gemm_serial_panels<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                         const PanelSource<double>&, double, double*, int64_t);
template int64_t gemm_panel_width<float>();
template int64_t gemm_panel_width<double>();
template bool gemm_serial<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*,
                                 int64_t, int64_t, float, float*, int64_t);
template bool gemm_serial<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                                  int64_t, int64_t, double, double*, int64_t);

void matmul_kernel(const heron::MatmulParams& p) {
  if (p.dtype == heron::DType::Float32) gemm_typed<float>(p);
  else gemm_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
