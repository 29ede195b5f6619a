// Fused recurrent layers (LSTM, GRU, Elman RNN; one direction, whole sequence): forward and
// backward through time.
//
// The input projection x_t W_ih^T + biases of every step arrives precomputed (one large GEMM
// before the loop, done by the caller). Per step the forward adds h_{t-1} W_hh^T to it and
// applies the cell's gate math right away, on blocks of hidden units still in cache:
//   LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four gate rows (torch's order)
//         c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)
//   GRU   r, z = sigmoid(x_r + h W_hr^T), sigmoid(x_z + h W_hz^T)   (b_hr, b_hz folded into x)
//         n = tanh(x_n + r * (h W_hn^T + b_hn)),  h_t = n + z * (h_{t-1} - n)
//   RNN   h_t = tanh or relu(x + h W_hh^T)
// The backward walks the steps in reverse and writes, per step, the gradient of the gate
// pre-activations (dG; the GRU also the gradient of h W_hh^T + b_hh, whose n part is r times
// dG's); the caller turns those into the weight gradients with one large GEMM each and the
// input gradient with one more. Per step here: dG from (dh, dc, saved gates), then
// dh_{t-1} = dG W_hh (+ dh * z for the GRU).
//
// Packed sequences (RecurrentParams::batch_sizes): each step runs on the rows its time index
// holds.
//
// Work per step is cut into fixed blocks of hidden units (never by thread count), and each
// block's products and sums run in a fixed order, so any thread count gives the same bits.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "core/kernel_params.h"
#include "cpu/simd/math.h"
#include "cpu/simd/transpose.h"

namespace HERON_ISA_NAMESPACE {
namespace {

constexpr int64_t kHiddenBlock = 64;           // hidden units per task within a step
// Below this a step runs on one thread: sharing it costs a barrier (~1-2 us) per step, and
// pays even at batch 1 once W_hh outgrows one core's L2 (each thread keeps reading its own blocks).
constexpr double kParallelStepFlops = 0.25e6;

using heron::RecurrentCell;

inline int gate_count(RecurrentCell cell) {
  return cell == RecurrentCell::Lstm ? 4 : cell == RecurrentCell::Gru ? 3 : 1;
}

// Lane-wise math on float32 SIMD vectors or on single float64 values, so one cell body
// serves both dtypes. load/store move `n` valid lanes (the rest padded with zeros).
// (Whole vectors, the common case, as one fixed-size copy: a plain vector load or store.)
inline vf load_lanes(const float* p, int64_t n) {
  vf v = {};
  if (n == kFloatLanes) std::memcpy(&v, p, sizeof v);
  else std::memcpy(&v, p, size_t(n) * sizeof(float));
  return v;
}
inline double load_lanes(const double* p, int64_t) { return *p; }
inline void store_lanes(float* p, vf v, int64_t n) {
  if (n == kFloatLanes) std::memcpy(p, &v, sizeof v);
  else std::memcpy(p, &v, size_t(n) * sizeof(float));
}
inline void store_lanes(double* p, double v, int64_t) { *p = v; }
inline vf sigmoid_lanes(vf x) { return sigmoid_v(x); }
inline double sigmoid_lanes(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline vf tanh_lanes(vf x) { return tanh_v(x); }
inline double tanh_lanes(double x) { return std::tanh(x); }
inline vf relu_lanes(vf x) { return x < 0.0f ? vf{} : x; }  // NaN passes, as torch.relu
inline double relu_lanes(double x) { return x < 0.0 ? 0.0 : x; }
inline vf positive_lanes(vf x) { return x > 0.0f ? vf{} + 1.0f : vf{}; }  // relu's derivative from its output
inline double positive_lanes(double x) { return x > 0.0 ? 1.0 : 0.0; }

template <typename T>
struct Lanes;
template <>
struct Lanes<float> {
  using V = vf;
  static constexpr int64_t kCount = kFloatLanes;
};
template <>
struct Lanes<double> {
  using V = double;
  static constexpr int64_t kCount = 1;
};
inline vf splat_lanes(float x) { return splat(x); }
inline double splat_lanes(double x) { return x; }

template <typename T>
struct Layer {
  const heron::RecurrentParams& p;
  RecurrentCell cell;
  int64_t B, H, NG, G;  // batch, hidden, gates, NG * hidden (the width of x_gates and W_hh's rows)
  int64_t S;            // the width of the saved gates: 4H (LSTM, GRU), 0 (RNN)
  const T* w = nullptr;  // W_hh rearranged into per-block slabs (pack_weights)
  std::vector<int64_t> first_row;  // of each time index in the per-step arrays

  explicit Layer(const heron::RecurrentParams& params)
      : p(params),
        cell(params.cell),
        B(params.batch),
        H(params.hidden),
        NG(gate_count(params.cell)),
        G(NG * params.hidden),
        S(params.cell == RecurrentCell::Lstm || params.cell == RecurrentCell::Gru ? 4 * params.hidden : 0),
        first_row(size_t(params.steps)) {
    for (int64_t t = 1; t < p.steps; ++t) first_row[size_t(t)] = first_row[size_t(t - 1)] + rows_at(t - 1);
  }

  // The sequence index of the s-th step processed (reverse runs the sequence backwards).
  int64_t time_of(int64_t step) const { return p.reverse ? p.steps - 1 - step : step; }
  // The batch rows time index t holds (all of them unless packed).
  int64_t rows_at(int64_t t) const { return p.batch_sizes ? p.batch_sizes[t] : B; }
  const T* at(const char* base, int64_t t, int64_t width) const {
    return reinterpret_cast<const T*>(base) + first_row[size_t(t)] * width;
  }
  T* at(char* base, int64_t t, int64_t width) const { return reinterpret_cast<T*>(base) + first_row[size_t(t)] * width; }
  // Rows [0, carried_rows(s)) of the s-th step continue the previous step's rows; the rest
  // (only going backwards through packed sequences, whose shorter sequences start late) start
  // from h0 / c0.
  int64_t carried_rows(int64_t step) const {
    return step == 0 ? 0 : std::min(rows_at(time_of(step)), rows_at(time_of(step - 1)));
  }
  // Row b of h_{t-1} / c_{t-1} as seen by the s-th step.
  const T* prev_state(const char* all, const char* initial, int64_t step, int64_t b) const {
    if (b < carried_rows(step)) return at(all, time_of(step - 1), H) + b * H;
    return reinterpret_cast<const T*>(initial) + b * H;
  }
  const T* prev_h(int64_t step, int64_t b) const { return prev_state(p.h_all, p.h0, step, b); }
  const T* prev_c(int64_t step, int64_t b) const {
    return p.save_steps || p.backward ? prev_state(p.c_all, p.c0, step, b) : c_out(step) + b * H;
  }
  // Where the s-th step's c and gates go in the forward: per step, or in the single state and
  // workspace when the steps are not kept (a row's c_{t-1} is then overwritten by its c_t).
  T* c_out(int64_t step) const {
    return p.save_steps ? at(p.c_all, time_of(step), H) : reinterpret_cast<T*>(p.c_all);
  }
  T* gates_out(int64_t step) const {
    return p.save_steps ? at(p.gates, time_of(step), S) : reinterpret_cast<T*>(p.gates);
  }
};

// Packed W_hh. Each block of n hidden units becomes slabs (one per gate forward, one for all
// gates backward), each `depth` rows deep, stored as panels two vectors wide: element (k, j)
// of a slab at (j / P) * depth * P + k * P + j % P, P = kPanel. A panel is one contiguous
// stream, and the widest product tiles below are one panel, so a panel read once from L2
// serves every row group from L1 (rows of a plain slab 256 bytes apart fall into 1/4 of
// L1's sets and evict each other). Widths are rounded up to whole panels, with zeros.
template <typename T>
constexpr int64_t kPanel = 2 * Lanes<T>::kCount;

template <typename T>
int64_t slab_width(int64_t n) {
  return (n + kPanel<T> - 1) / kPanel<T> * kPanel<T>;
}

// The layout per block of hidden units [j0, j1):
//   forward:  for gate g, W_hh[g*H + j0 : g*H + j1, :]^T  (H x n), the gates one after another
//   backward: W_hh[:, j0 : j1]                           (NG * H x n)
// Block [j0, j1) starts at element NG * H * j0 in both (every block before the last is whole
// panels wide).
template <typename T>
T* pack_weights(const T* w_hh, int64_t H, int64_t NG, bool backward) {
  constexpr int64_t P = kPanel<T>;
  const int64_t last_block = (H - 1) / kHiddenBlock * kHiddenBlock;  // the one block that may hold zero padding
  const size_t size = size_t(NG * H * (last_block + slab_width<T>(H - last_block)));
  // malloc, not calloc: a heap block reused from the previous call needs no clearing but the padding's.
  T* out = static_cast<T*>(std::malloc(sizeof(T) * std::max<size_t>(size, 1)));
  if (!out) return nullptr;
  std::memset(out + NG * H * last_block, 0, sizeof(T) * (size - size_t(NG * H * last_block)));
  for (int64_t j0 = 0; j0 < H; j0 += kHiddenBlock) {
    const int64_t n = std::min(kHiddenBlock, H - j0);
    T* block = out + NG * H * j0;
    if (backward) {
      for (int64_t pj = 0; pj < n; pj += P) {
        T* panel = block + pj * NG * H;
        const int64_t cols = std::min(P, n - pj);
        for (int64_t c = 0; c < NG * H; ++c) std::memcpy(panel + c * P, w_hh + c * H + j0 + pj, sizeof(T) * size_t(cols));
      }
      continue;
    }
    for (int gate = 0; gate < NG; ++gate) {
      T* slab = block + gate * H * slab_width<T>(n);
      const T* rows = w_hh + (gate * H + j0) * H;
      auto column = [&](int64_t j) { return slab + j / P * H * P + j % P; };  // W_hh row j goes here
      int64_t j = 0;
      if constexpr (std::is_same_v<T, float> && P % 8 == 0) {  // 8 rows at a time by 8 x 8 blocks
        for (; j + 8 <= n; j += 8) {
          int64_t k = 0;
          for (; k + 8 <= H; k += 8) transpose_8x8(rows + j * H + k, H, column(j) + k * P, P);
          for (; k < H; ++k)
            for (int64_t i = 0; i < 8; ++i) column(j)[k * P + i] = rows[(j + i) * H + k];
        }
      }
      for (; j < n; ++j)
        for (int64_t k = 0; k < H; ++k) column(j)[k * P] = rows[j * H + k];
    }
  }
  return out;
}

// out[b, 0:n] = (accumulate ? out[b, 0:n] : 0) + sum over k < depth of a[b, k] * slab[k, 0:n]
// for b < rows: a packed slab times rows of h_{t-1} or dG, read in place. A tile of R rows by
// V vectors (columns [col, col + V * L)) keeps its R * V sums in registers over the whole
// depth and loads each slab vector once for its R rows; every output adds its terms in k
// order, so the result depends only on the sizes.
template <typename T, int R, int V>
void slab_tile(int64_t depth, const T* a, int64_t lda, const T* slab, int64_t col, int64_t n, bool accumulate,
               T* out, int64_t ldo) {
  using Vec = typename Lanes<T>::V;
  constexpr int64_t L = Lanes<T>::kCount, P = kPanel<T>;
  auto valid = [&](int v) { return std::min<int64_t>(L, n - col - v * L); };  // may be <= 0 past n
  Vec acc[R][V];
  const T* w[V];
  for (int v = 0; v < V; ++v) {
    const int64_t j = col + v * L;
    w[v] = slab + j / P * depth * P + j % P;
    for (int r = 0; r < R; ++r)
      acc[r][v] = accumulate && valid(v) > 0 ? load_lanes(out + r * ldo + j, valid(v)) : Vec{};
  }
  for (int64_t k = 0; k < depth; ++k) {
    Vec wv[V];
    for (int v = 0; v < V; ++v) wv[v] = load_lanes(w[v] + k * P, L);
    for (int r = 0; r < R; ++r) {
      const Vec x = splat_lanes(a[r * lda + k]);
      for (int v = 0; v < V; ++v) acc[r][v] += x * wv[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      if (valid(v) > 0) store_lanes(out + r * ldo + col + v * L, acc[r][v], valid(v));
}

// Rows [0, R) of the product over columns [col, col + cols): tiles V vectors wide, then
// single panels.
template <typename T, int R, int V>
void slab_rows(int64_t depth, const T* a, int64_t lda, const T* slab, int64_t n, int64_t col, int64_t cols,
               bool accumulate, T* out, int64_t ldo) {
  constexpr int64_t L = Lanes<T>::kCount;
  const int64_t end = std::min(slab_width<T>(n), col + cols);
  for (; col + V * L <= end; col += V * L) slab_tile<T, R, V>(depth, a, lda, slab, col, n, accumulate, out, ldo);
  for (; col < end; col += kPanel<T>) slab_tile<T, R, 2>(depth, a, lda, slab, col, n, accumulate, out, ldo);
}

template <typename T>
void slab_product(int64_t rows, int64_t depth, const T* a, int64_t lda, const T* slab, int64_t n, bool accumulate,
                  T* out, int64_t ldo) {
  constexpr int64_t L = Lanes<T>::kCount, P = kPanel<T>;
  constexpr int kWide = int(std::min<int64_t>(8, kHiddenBlock / L));
  const int64_t width = slab_width<T>(n);
  // One or two rows read the slab once, as 8 or 2 x 4 sums (enough independent chains to
  // hide the FMA latency).
  if (rows == 1) return slab_rows<T, 1, kWide>(depth, a, lda, slab, n, 0, width, accumulate, out, ldo);
  if (rows == 2) return slab_rows<T, 2, kWide / 2>(depth, a, lda, slab, n, 0, width, accumulate, out, ldo);
  // More rows: tiles of 3 to 6 rows by one panel (up to 12 sums, 2 slab vectors and a
  // broadcast in 16 registers), the rows in groups as even as possible, each panel outermost
  // so that all groups after the first read it from L1.
  const int64_t groups = (rows + 5) / 6;
  for (int64_t col = 0; col < width; col += P) {
    for (int64_t g = 0, r = 0; g < groups; ++g) {
      const int64_t size = (rows - r) / (groups - g);
      const T* ar = a + r * lda;
      T* o = out + r * ldo;
      switch (size) {
        case 6: slab_tile<T, 6, 2>(depth, ar, lda, slab, col, n, accumulate, o, ldo); break;
        case 5: slab_tile<T, 5, 2>(depth, ar, lda, slab, col, n, accumulate, o, ldo); break;
        case 4: slab_tile<T, 4, 2>(depth, ar, lda, slab, col, n, accumulate, o, ldo); break;
        default: slab_tile<T, 3, 2>(depth, ar, lda, slab, col, n, accumulate, o, ldo); break;
      }
      r += size;
    }
  }
}

// step_fn(s, each) for s in [0, steps) in order; step_fn calls each(block) once, which runs
// block(task) for every task of the step: shared over one OpenMP team (created once for the
// whole sequence, a barrier between steps) when the steps are large enough.
template <typename StepFn>
void run_steps(int64_t steps, int64_t tasks, double step_flops, const StepFn& step_fn) {
  const bool parallel = step_flops >= kParallelStepFlops && tasks > 1 && omp_get_max_threads() > 1 && !omp_in_parallel();
  if (!parallel) {
    for (int64_t s = 0; s < steps; ++s) step_fn(s, [&](auto&& block) {
      for (int64_t t = 0; t < tasks; ++t) block(t);
    });
    return;
  }
#pragma omp parallel
  {
    for (int64_t s = 0; s < steps; ++s) {
      step_fn(s, [&](auto&& block) {
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; ++t) block(t);
        // the implicit barrier of the loop above ends the phase
      });
    }
  }
}

// ------------------------------------------------------------------------------ forward
// out[:, 0:n] (row stride ld) = (accumulate ? out : 0) + h_{t-1} W_hh[gate rows j0 .. j0 + n]^T
// for the rows of the s-th step.
template <typename T>
void hidden_product(const Layer<T>& L, int64_t step, int gate, int64_t j0, int64_t n, bool accumulate, T* out,
                    int64_t ld) {
  const int64_t H = L.H, rows = L.rows_at(L.time_of(step)), carried = L.carried_rows(step);
  const T* slab = L.w + L.NG * H * j0 + gate * H * slab_width<T>(n);
  if (carried) slab_product<T>(carried, H, L.prev_h(step, 0), H, slab, n, accumulate, out, ld);
  if (rows > carried) slab_product<T>(rows - carried, H, L.prev_h(step, carried), H, slab, n, accumulate, out + carried * ld, ld);
}

template <typename T>
void forward_block(const Layer<T>& L, int64_t step, int64_t block) {
  using V = typename Lanes<T>::V;
  constexpr int64_t kLanes = Lanes<T>::kCount;
  const int64_t H = L.H, G = L.G, S = L.S, j0 = block * kHiddenBlock, j1 = std::min(H, j0 + kHiddenBlock);
  const int64_t t = L.time_of(step), n = j1 - j0, B = L.rows_at(t);
  const T* x_gates = L.at(L.p.x_gates, t, G);
  T* h_out = L.at(L.p.h_all, t, H);
  if (L.cell == RecurrentCell::RnnTanh || L.cell == RecurrentCell::RnnRelu) {
    for (int64_t b = 0; b < B; ++b) std::memcpy(h_out + b * H + j0, x_gates + b * G + j0, sizeof(T) * size_t(n));
    hidden_product(L, step, 0, j0, n, true, h_out + j0, H);
    const bool relu = L.cell == RecurrentCell::RnnRelu;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = j0; j < j1; j += kLanes) {
        const int64_t m = std::min<int64_t>(kLanes, j1 - j);
        const V pre = load_lanes(h_out + b * H + j, m);
        store_lanes(h_out + b * H + j, relu ? relu_lanes(pre) : tanh_lanes(pre), m);
      }
    return;
  }
  // gates[:, gate*H + j0 : j1] = x part + h_prev W_hh^T for the gates whose hidden part adds
  // (the LSTM's four, the GRU's r and z); the GRU's n gate keeps its hidden part apart, at 3H.
  T* gates = L.gates_out(step);
  const int summed = L.cell == RecurrentCell::Lstm ? 4 : 2;
  for (int gate = 0; gate < summed; ++gate) {
    const int64_t col = gate * H + j0;
    for (int64_t b = 0; b < B; ++b) std::memcpy(gates + b * S + col, x_gates + b * G + col, sizeof(T) * size_t(n));
    hidden_product(L, step, gate, j0, n, true, gates + col, S);
  }
  if (L.cell == RecurrentCell::Gru) {
    hidden_product(L, step, 2, j0, n, false, gates + 3 * H + j0, S);
    const T* b_hn = reinterpret_cast<const T*>(L.p.b_hn);
    for (int64_t b = 0; b < B; ++b) {
      T* g = gates + b * S;
      const T* x = x_gates + b * G;
      for (int64_t j = j0; j < j1; j += kLanes) {
        const int64_t m = std::min<int64_t>(kLanes, j1 - j);
        V hn = load_lanes(g + 3 * H + j, m);
        if (b_hn) hn = hn + load_lanes(b_hn + j, m);
        const V r = sigmoid_lanes(load_lanes(g + j, m)), z = sigmoid_lanes(load_lanes(g + H + j, m));
        const V nn = tanh_lanes(load_lanes(x + 2 * H + j, m) + r * hn);
        store_lanes(g + j, r, m), store_lanes(g + H + j, z, m), store_lanes(g + 2 * H + j, nn, m);
        store_lanes(g + 3 * H + j, hn, m);
        store_lanes(h_out + b * H + j, nn + z * (load_lanes(L.prev_h(step, b) + j, m) - nn), m);
      }
    }
    return;
  }
  T* c_out = L.c_out(step);
  for (int64_t b = 0; b < B; ++b) {
    T* g = gates + b * S;
    for (int64_t j = j0; j < j1; j += kLanes) {
      const int64_t m = std::min<int64_t>(kLanes, j1 - j);
      const V i = sigmoid_lanes(load_lanes(g + j, m)), f = sigmoid_lanes(load_lanes(g + H + j, m));
      const V z = tanh_lanes(load_lanes(g + 2 * H + j, m)), o = sigmoid_lanes(load_lanes(g + 3 * H + j, m));
      const V c = f * load_lanes(L.prev_c(step, b) + j, m) + i * z;
      store_lanes(g + j, i, m), store_lanes(g + H + j, f, m), store_lanes(g + 2 * H + j, z, m);
      store_lanes(g + 3 * H + j, o, m);
      store_lanes(c_out + b * H + j, c, m);
      store_lanes(h_out + b * H + j, o * tanh_lanes(c), m);
    }
  }
}

// ------------------------------------------------------------------------------ backward
// dG of one step for hidden units [j0, j1), from dh (the carried gradient plus this step's
// output gradient) and, for the LSTM, the carried dc, which becomes the gradient for c_{t-1}
// in place. The GRU leaves dh * z (the direct path to h_{t-1}) in the carried dh for the
// product that follows to add to.
template <typename T>
void gate_grads(const Layer<T>& L, int64_t step, int64_t j0, int64_t j1, T* dh_carry, T* dc_carry) {
  using V = typename Lanes<T>::V;
  constexpr int64_t kLanes = Lanes<T>::kCount;
  const int64_t H = L.H, G = L.G, S = L.S, t = L.time_of(step), B = L.rows_at(t);
  const T* grad_out = L.p.grad_h_all ? L.at(L.p.grad_h_all, t, H) : nullptr;
  T* dg = L.at(L.p.grad_gates, t, G);
  const V one = V{} + T(1);
  for (int64_t b = 0; b < B; ++b) {
    T* d = dg + b * G;
    for (int64_t j = j0; j < j1; j += kLanes) {
      const int64_t n = std::min<int64_t>(kLanes, j1 - j), bj = b * H + j;
      V dh = load_lanes(dh_carry + bj, n);
      if (grad_out) dh = dh + load_lanes(grad_out + bj, n);
      switch (L.cell) {
        case RecurrentCell::RnnTanh:
        case RecurrentCell::RnnRelu: {
          const V y = load_lanes(L.at(L.p.h_all, t, H) + bj, n);
          store_lanes(d + j, dh * (L.cell == RecurrentCell::RnnTanh ? one - y * y : positive_lanes(y)), n);
          break;
        }
        case RecurrentCell::Gru: {
          const T* g = L.at(L.p.gates, t, S) + b * S;
          const V r = load_lanes(g + j, n), z = load_lanes(g + H + j, n), nn = load_lanes(g + 2 * H + j, n),
                  hn = load_lanes(g + 3 * H + j, n);
          const V dn = dh * (one - z) * (one - nn * nn);
          store_lanes(d + j, dn * hn * r * (one - r), n);
          store_lanes(d + H + j, dh * (load_lanes(L.prev_h(step, b) + j, n) - nn) * z * (one - z), n);
          store_lanes(d + 2 * H + j, dn, n);
          T* dhidden = L.at(L.p.grad_hidden_gates, t, G) + b * G;
          store_lanes(dhidden + j, load_lanes(d + j, n), n);
          store_lanes(dhidden + H + j, load_lanes(d + H + j, n), n);
          store_lanes(dhidden + 2 * H + j, dn * r, n);
          store_lanes(dh_carry + bj, dh * z, n);
          break;
        }
        case RecurrentCell::Lstm: {
          const T* g = L.at(L.p.gates, t, S) + b * S;
          const V i = load_lanes(g + j, n), f = load_lanes(g + H + j, n), z = load_lanes(g + 2 * H + j, n),
                  o = load_lanes(g + 3 * H + j, n);
          const V tc = tanh_lanes(load_lanes(L.at(L.p.c_all, t, H) + bj, n));
          const V dc = load_lanes(dc_carry + bj, n) + dh * o * (one - tc * tc);
          store_lanes(d + j, dc * z * i * (one - i), n);
          store_lanes(d + H + j, dc * load_lanes(L.prev_c(step, b) + j, n) * f * (one - f), n);
          store_lanes(d + 2 * H + j, dc * i * (one - z * z), n);
          store_lanes(d + 3 * H + j, dh * tc * o * (one - o), n);
          store_lanes(dc_carry + bj, dc * f, n);
          break;
        }
      }
    }
  }
}

template <typename T>
void backward_through_time(const Layer<T>& L) {
  const int64_t B = L.B, H = L.H, G = L.G, blocks = (H + kHiddenBlock - 1) / kHiddenBlock;
  // The carried dh and dc live in the outputs dh0 / dc0 (they start as the gradients of h_n, c_n).
  // A step updates only its own rows, so with packed sequences a row enters the recurrence with
  // its h_n gradient at its sequence's last step and leaves it holding its h0 gradient.
  T* dh = reinterpret_cast<T*>(L.p.grad_h0);
  T* dc = reinterpret_cast<T*>(L.p.grad_c0);
  // The gradient of h W_hh^T (+ b_hh): the GRU's own, the others' dG.
  char* dhidden_all = L.cell == RecurrentCell::Gru ? L.p.grad_hidden_gates : L.p.grad_gates;
  const bool add_to_carry = L.cell == RecurrentCell::Gru;  // dh_{t-1} = dh * z + dG_hidden W_hh
  // Each step is two phases over hidden blocks: dG from dh and dc (elementwise), then
  // dh_{t-1} = dG W_hh (reads all of dG, so only after every block's dG). Even phase numbers
  // run the first, odd ones the second.
  run_steps(2 * L.p.steps, blocks, 2.0 * double(B) * double(G) * double(H), [&](int64_t phase, auto&& each) {
    const int64_t step = L.p.steps - 1 - phase / 2;
    if (phase % 2 == 0) {
      each([&](int64_t block) {
        gate_grads(L, step, block * kHiddenBlock, std::min(H, (block + 1) * kHiddenBlock), dh, dc);
      });
      return;
    }
    const T* dg = L.at(dhidden_all, L.time_of(step), G);
    const int64_t rows = L.rows_at(L.time_of(step));
    each([&](int64_t block) {
      const int64_t j0 = block * kHiddenBlock, n = std::min(H, j0 + kHiddenBlock) - j0;
      slab_product<T>(rows, G, dg, G, L.w + L.NG * H * j0, n, add_to_carry, dh + j0, H);
    });
  });
}

template <typename T>
void recurrent_typed(const heron::RecurrentParams& p) {
  Layer<T> L(p);
  T* packed = pack_weights(reinterpret_cast<const T*>(p.w_hh), L.H, L.NG, p.backward);
  if (!packed) throw std::bad_alloc();
  L.w = packed;
  const int64_t blocks = (L.H + kHiddenBlock - 1) / kHiddenBlock;
  if (p.backward) {
    backward_through_time(L);
  } else {
    run_steps(p.steps, blocks, 2.0 * double(L.B) * double(L.G) * double(L.H), [&](int64_t s, auto&& each) {
      each([&](int64_t block) { forward_block(L, s, block); });
    });
  }
  std::free(packed);
}

}  // namespace

void recurrent_kernel(const heron::RecurrentParams& p) {
  if (p.dtype == heron::DType::Float32) recurrent_typed<float>(p);
  else recurrent_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
