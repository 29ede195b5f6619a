// 2-D convolution (NCHW) forward, input gradient and weight gradient on heron's GEMM.
//
// Per image and group, with K = in_channels/groups x kernel_h x kernel_w patch rows and
// P = out_h x out_w output pixels, the patch matrix X[K x P] holds input element
// (ci, oh*stride + kh*dilation - pad, ow*stride + kw*dilation - pad) at row (ci, kh, kw),
// column (oh, ow), or zero in the padding. Then
//   forward          Y[cout x P]  = W[cout x K] X              (implicit GEMM: the GEMM's B
//                                                              panels are packed straight from
//                                                              the image, no im2col buffer)
//   input gradient   dX[K x P]    = W^T dY, added back into the image (the adjoint of patching),
//                                   one block of input channels and pixels at a time
//   weight gradient  dW[cout x K] = sum over images of dY X^T, X built block by block
// A 1x1 convolution with stride 1 and no padding has X = the image itself: plain GEMMs.
// A stride-1 convolution with few output channels (LeNet's, depthwise ones) would spend more
// time building X than multiplying with it, so it runs directly instead (direct_conv below),
// and so does its weight gradient. The input gradient of every stride-1 convolution runs
// directly too: it is the same kind of convolution, of dY with the kernel flipped and
// transposed, and avoids the GEMM path's scatter of patch gradients.
//
// Determinism: the forward and input-gradient tasks own disjoint parts of the output and each
// runs a fixed sequence of GEMMs; the weight-gradient tasks own disjoint column blocks of dW and
// add the images and pixel blocks in order. The thread count only decides who runs a task.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "core/kernel_params.h"
#include "cpu/gemm_serial.h"
#include "cpu/scratch.h"
#include "cpu/simd/math.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::ConvParams;
using heron::ConvPass;

constexpr int64_t kScratchElements = 128 * 1024;  // explicit patch / gradient blocks stay in L2
constexpr int64_t kMinBlockPixels = 256;           // GEMMs narrower than this repack too often
constexpr double kParallelFlops = 4e5;           // below this the whole pass runs on one thread

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// The patch geometry of one group of one image.
struct Geometry {
  int64_t channels, h, w, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw;

  explicit Geometry(const ConvParams& p)
      : channels(p.in_channels / p.groups), h(p.in_h), w(p.in_w), kh(p.kernel_h), kw(p.kernel_w), oh(p.out_h),
        ow(p.out_w), sh(p.stride_h), sw(p.stride_w), ph(p.pad_h), pw(p.pad_w), dh(p.dilation_h), dw(p.dilation_w) {}

  int64_t taps() const { return kh * kw; }
  int64_t rows() const { return channels * taps(); }  // K
  int64_t pixels() const { return oh * ow; }           // P
  // A 1x1 kernel over every pixel in place: the patch matrix is the image.
  bool is_pointwise() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h && ow == w;
  }

  // Walks patch rows k0 .. k0+rows and pixel columns p0 .. p0+cols in runs along output rows.
  // copy(r, j, len, offset): columns j .. j+len of row r read image elements offset,
  // offset + sw, ... (offset into the group's [channels, h, w] image); pad(r, j, len): those
  // columns lie in the zero padding.
  template <typename Copy, typename Pad>
  void walk(int64_t k0, int64_t rows, int64_t p0, int64_t cols, const Copy& copy, const Pad& pad) const {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t k = k0 + r, ci = k / taps(), tap = k % taps();
      const int64_t row_shift = (tap / kw) * dh - ph, col_shift = (tap % kw) * dw - pw;
      // Output columns whose input column ow * sw + col_shift lies inside [0, w).
      const int64_t first = std::clamp<int64_t>(ceil_div(-col_shift, sw), 0, ow);
      const int64_t end = std::clamp<int64_t>(floor_div(w - 1 - col_shift, sw) + 1, first, ow);
      for (int64_t j = 0, p = p0; j < cols;) {
        const int64_t y = p / ow, x = p % ow, len = std::min(cols - j, ow - x);
        const int64_t iy = y * sh + row_shift;
        if (iy < 0 || iy >= h) {
          pad(r, j, len);
        } else {
          const int64_t a = std::clamp(first, x, x + len), b = std::clamp(end, x, x + len);
          if (a > x) pad(r, j, a - x);
          if (b > a) copy(r, j + a - x, b - a, (ci * h + iy) * w + a * sw + col_shift);
          if (x + len > b) pad(r, j + b - x, x + len - b);
        }
        j += len, p += len;
      }
    }
  }
};

// Copies `len` elements src[0], src[stride], ... to dst[0 .. len).
template <typename T>
inline void gather_run(T* dst, const T* src, int64_t len, int64_t stride) {
  if (stride == 1) {
    std::memcpy(dst, src, sizeof(T) * size_t(len));
  } else {
    for (int64_t i = 0; i < len; ++i) dst[i] = src[i * stride];
  }
}

// Patch rows k0 .. k0+rows x pixels p0 .. p0+cols of one group's image into a row-major
// block with row stride ld.
template <typename T>
void patches_to_rows(const Geometry& geo, const T* image, int64_t k0, int64_t rows, int64_t p0, int64_t cols, T* out,
                     int64_t ld) {
  geo.walk(
      k0, rows, p0, cols,
      [&](int64_t r, int64_t j, int64_t len, int64_t off) { gather_run(out + r * ld + j, image + off, len, geo.sw); },
      [&](int64_t r, int64_t j, int64_t len) { std::fill_n(out + r * ld + j, len, T(0)); });
}

// The adjoint: adds a row-major block of patch gradients back into the image.
template <typename T>
void add_rows_to_image(const Geometry& geo, const T* block, int64_t ld, int64_t k0, int64_t rows, int64_t p0,
                       int64_t cols, T* image) {
  geo.walk(
      k0, rows, p0, cols,
      [&](int64_t r, int64_t j, int64_t len, int64_t off) {
        const T* src = block + r * ld + j;
        T* dst = image + off;
        for (int64_t i = 0; i < len; ++i) dst[i * geo.sw] += src[i];
      },
      [](int64_t, int64_t, int64_t) {});
}

// The forward's B operand: patches packed directly into the GEMM's micro-panels.
template <typename T>
class PatchPanels final : public PanelSource<T> {
 public:
  PatchPanels(const Geometry& geo, const T* image, int64_t p0) : geo_(geo), image_(image), p0_(p0) {}

  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, T* out) const override {
    const int64_t width = gemm_panel_width<T>();
    if (nc % width) {  // the last panel's columns past nc stay zero
      T* last = out + nc / width * width * kc;
      std::fill_n(last, width * kc, T(0));
    }
    auto at = [&](int64_t r, int64_t j) { return out + j / width * width * kc + r * width + j % width; };
    geo_.walk(
        k0, kc, p0_ + j0, nc,
        [&](int64_t r, int64_t j, int64_t len, int64_t off) {
          while (len > 0) {  // split the run at panel boundaries
            const int64_t n = std::min(len, width - j % width);
            gather_run(at(r, j), image_ + off, n, geo_.sw);
            j += n, len -= n, off += n * geo_.sw;
          }
        },
        [&](int64_t r, int64_t j, int64_t len) {
          while (len > 0) {
            const int64_t n = std::min(len, width - j % width);
            std::fill_n(at(r, j), n, T(0));
            j += n, len -= n;
          }
        });
  }

 private:
  const Geometry& geo_;
  const T* image_;
  int64_t p0_;
};

// Runs task(t) for t in [0, tasks), in parallel when the pass is large enough; throws
// bad_alloc when a task could not get its scratch memory.
template <typename Task>
void run_tasks(int64_t tasks, double flops, const Task& task) {
  const int threads = (flops < kParallelFlops || omp_in_parallel()) ? 1 : omp_get_max_threads();
  bool ok = true;
  if (threads == 1 || tasks == 1) {
    for (int64_t t = 0; t < tasks && ok; ++t) ok = task(t);
  } else {
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(&& : ok)
    for (int64_t t = 0; t < tasks; ++t) ok = task(t) && ok;
  }
  if (!ok) throw std::bad_alloc();
}

// Splits `count` items into `parts` near-equal ranges, each a multiple of `align` but the last.
struct Ranges {
  int64_t count, size;
  Ranges(int64_t n, int64_t parts, int64_t align) : count(n) {
    parts = std::clamp<int64_t>(parts, 1, std::max<int64_t>(1, n));
    size = std::max<int64_t>(align, ceil_div(ceil_div(n, parts), align) * align);
  }
  int64_t number() const { return std::max<int64_t>(1, ceil_div(count, size)); }
  int64_t begin(int64_t i) const { return i * size; }
  int64_t length(int64_t i) const { return std::min(size, count - i * size); }
};

// Enough tasks to keep every thread busy a few times over.
inline int64_t wanted_parts(int64_t existing_tasks) {
  const int64_t target = 4 * int64_t(omp_get_max_threads());
  return std::max<int64_t>(1, ceil_div(target, std::max<int64_t>(existing_tasks, 1)));
}

// ------------------------------------------------------------------------------ direct
// A stride-1 cross-correlation of one image with few output channels, without patches: the
// image is copied into a zero-padded canvas of width wp, so that output (oy, ox) and tap
// (ky, kx) read canvas element (oy * wp + ox) + (ky * dh * wp + kx * dw). Over the flattened
// index q = oy * wp + ox every tap is then one contiguous vector load, and a register tile of
// kDirectChannels output channels x 2 vectors of q accumulates over channels and taps. The
// columns ox >= out_w of each canvas row are computed and dropped.
constexpr int kDirectChannels = 6;        // forward: 6 x 2 accumulators + 2 inputs + 1 weight (AVX2 has 16)
constexpr int kDirectWeightChannels = 4;  // weight gradient: 4 x 3 accumulators + 3 inputs + 1 gradient
constexpr int64_t kDirectMaxOutChannels = 16;      // forward: above this the GEMM path is as fast
constexpr int64_t kDirectMaxCanvas = 256 * 1024;   // elements per thread

template <typename T>
struct DirectVec {
  typedef T type __attribute__((vector_size(kVecBytes)));
  static constexpr int64_t kLanes = kVecBytes / sizeof(T);
};

struct DirectShape {
  int64_t in_channels, h, w, out_channels, kh, kw, ph, pw, dh, dw, out_h, out_w;
  int64_t wp() const { return w + 2 * pw; }
  int64_t hp() const { return h + 2 * ph; }
  int64_t taps() const { return kh * kw; }
  // q positions computed: a whole number of register tiles of `tile` values.
  int64_t wide_len(int64_t tile) const { return ceil_div(out_h * wp(), tile) * tile; }
  // The canvas holds every q's taps: the last tile reads up to wide_len + the taps' reach.
  int64_t canvas_len(int64_t tile) const {
    return std::max(in_channels * hp() * wp(),
                    (in_channels - 1) * hp() * wp() + wide_len(tile) + (kh - 1) * dh * wp() + (kw - 1) * dw);
  }
};

template <typename T, int CB>
void direct_tile_rows(const DirectShape& d, const T* canvas, int64_t plane, const int64_t* tap_offset,
                      const T* w, int64_t w_rs, T* wide, int64_t wide_rs) {
  using V = typename DirectVec<T>::type;
  constexpr int64_t L = DirectVec<T>::kLanes;
  const int64_t taps = d.taps(), len = d.wide_len(2 * L);
  for (int64_t q = 0; q < len; q += 2 * L) {
    V acc[CB][2] = {};
    for (int64_t ci = 0; ci < d.in_channels; ++ci) {
      const T* src = canvas + ci * plane + q;
      const T* wc = w + ci * taps;
      for (int64_t t = 0; t < taps; ++t) {
        V x0, x1;
        std::memcpy(&x0, src + tap_offset[t], sizeof(V));
        std::memcpy(&x1, src + tap_offset[t] + L, sizeof(V));
#pragma GCC unroll 8
        for (int c = 0; c < CB; ++c) {
          const V wv = wc[c * w_rs + t] - V{};
          acc[c][0] += wv * x0;
          acc[c][1] += wv * x1;
        }
      }
    }
    for (int c = 0; c < CB; ++c) {
      std::memcpy(wide + c * wide_rs + q, &acc[c][0], sizeof(V));
      std::memcpy(wide + c * wide_rs + q + L, &acc[c][1], sizeof(V));
    }
  }
}

// One image on its canvas in the thread's scratch, with `extra` more elements for the caller
// (the wide rows) and each tap's offset.
template <typename T>
struct Canvas {
  T* data;
  T* extra;
  const int64_t* tap_offset;
  int64_t plane, len;  // elements per channel; q positions computed
};

template <typename T>
bool make_canvas(const DirectShape& d, const T* image, int64_t extra, Canvas<T>& c) {
  constexpr int64_t kPerOffset = sizeof(int64_t) / sizeof(T);  // T elements per tap offset
  const int64_t tile = 2 * DirectVec<T>::kLanes, wp = d.wp(), taps = d.taps();
  const int64_t canvas_len = d.canvas_len(tile);
  const int64_t offsets_at = ceil_div(canvas_len + extra, kPerOffset) * kPerOffset;
  T* data = scratch<T>(kConvBlock, offsets_at + taps * kPerOffset);
  if (!data) return false;
  int64_t* tap_offset = reinterpret_cast<int64_t*>(data + offsets_at);
  for (int64_t t = 0; t < taps; ++t) tap_offset[t] = (t / d.kw) * d.dh * wp + (t % d.kw) * d.dw;
  c = {data, data + canvas_len, tap_offset, d.hp() * wp, d.wide_len(tile)};
  std::fill_n(data, canvas_len, T(0));
  for (int64_t ci = 0; ci < d.in_channels; ++ci)
    for (int64_t y = 0; y < d.h; ++y)
      std::memcpy(data + ci * c.plane + (y + d.ph) * wp + d.pw, image + (ci * d.h + y) * d.w, sizeof(T) * d.w);
  return true;
}

// out[co] = bias[co] + sum over ci, taps of w[co][ci][tap] * image[ci] shifted; weights as
// [out_channels][in_channels * taps] rows w_rs apart. Returns false when scratch is missing.
template <typename T>
bool direct_conv(const DirectShape& d, const T* image, const T* w, int64_t w_rs, const T* bias, T* out) {
  const int64_t len = d.wide_len(2 * DirectVec<T>::kLanes), wp = d.wp();
  Canvas<T> c;
  if (!make_canvas(d, image, kDirectChannels * len, c)) return false;
  T* wide = c.extra;
  for (int64_t c0 = 0; c0 < d.out_channels; c0 += kDirectChannels) {
    const int64_t cb = std::min<int64_t>(kDirectChannels, d.out_channels - c0);
    const T* wc = w + c0 * w_rs;
    switch (cb) {
      case 6: direct_tile_rows<T, 6>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
      case 5: direct_tile_rows<T, 5>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
      case 4: direct_tile_rows<T, 4>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
      case 3: direct_tile_rows<T, 3>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
      case 2: direct_tile_rows<T, 2>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
      default: direct_tile_rows<T, 1>(d, c.data, c.plane, c.tap_offset, wc, w_rs, wide, len); break;
    }
    for (int64_t k = 0; k < cb; ++k) {
      const T b = bias ? bias[c0 + k] : T(0);
      T* dst = out + (c0 + k) * d.out_h * d.out_w;
      for (int64_t y = 0; y < d.out_h; ++y)
        for (int64_t x = 0; x < d.out_w; ++x) dst[y * d.out_w + x] = wide[k * len + y * wp + x] + b;
    }
  }
  return true;
}

// The weight gradient's counterpart: lanes[co][ci * taps + t] (a vector per weight, summed
// across its lanes at the end) += grad_wide[co][q] * canvas[ci][q + tap_offset[t]] over q, for
// CB output channels (grad_wide rows `len` apart, zero in the dropped columns), three taps at
// a time.
template <typename T, int CB>
void direct_weight_rows(const DirectShape& d, const Canvas<T>& c, const T* grad_wide, T* lanes, int64_t lanes_rs) {
  using V = typename DirectVec<T>::type;
  constexpr int64_t L = DirectVec<T>::kLanes;
  constexpr int TB = 3;
  const int64_t taps = d.taps();
  for (int64_t ci = 0; ci < d.in_channels; ++ci) {
    for (int64_t t0 = 0; t0 < taps; t0 += TB) {
      const int64_t tb = std::min<int64_t>(TB, taps - t0);
      const T* src[TB];  // past the last tap, re-read the last one and drop the result
      for (int j = 0; j < TB; ++j) src[j] = c.data + ci * c.plane + c.tap_offset[std::min<int64_t>(t0 + j, taps - 1)];
      V acc[CB][TB] = {};
      auto load = [](const T* at) {
        V v;
        std::memcpy(&v, at, sizeof(V));
        return v;
      };
      for (int64_t q = 0; q < c.len; q += L) {
        const V x0 = load(src[0] + q), x1 = load(src[1] + q), x2 = load(src[2] + q);
#pragma GCC unroll 8
        for (int k = 0; k < CB; ++k) {
          const V g = load(grad_wide + k * c.len + q);
          acc[k][0] += g * x0;
          acc[k][1] += g * x1;
          acc[k][2] += g * x2;
        }
      }
      // Constant indices only, so that acc stays in registers.
      for (int k = 0; k < CB; ++k)
        for (int j = 0; j < TB; ++j) {
          if (j >= tb) continue;
          T* out = lanes + k * lanes_rs + (ci * taps + t0 + j) * L;
          V sum;
          std::memcpy(&sum, out, sizeof(V));
          sum += acc[k][j];
          std::memcpy(out, &sum, sizeof(V));
        }
    }
  }
}

// lanes (cb rows of in_channels * taps vectors, lanes_rs apart) += the contribution of one
// image, whose output gradient rows for these channels are grad (out_h x out_w each).
template <typename T>
bool direct_weight_grad(const DirectShape& d, const T* image, const T* grad, int64_t cb, T* lanes, int64_t lanes_rs) {
  const int64_t len = d.wide_len(2 * DirectVec<T>::kLanes), wp = d.wp();
  Canvas<T> c;
  if (!make_canvas(d, image, kDirectWeightChannels * len, c)) return false;
  T* grad_wide = c.extra;
  std::fill_n(grad_wide, cb * len, T(0));
  for (int64_t k = 0; k < cb; ++k)
    for (int64_t y = 0; y < d.out_h; ++y)
      std::memcpy(grad_wide + k * len + y * wp, grad + (k * d.out_h + y) * d.out_w, sizeof(T) * d.out_w);
  switch (cb) {
    case 4: direct_weight_rows<T, 4>(d, c, grad_wide, lanes, lanes_rs); break;
    case 3: direct_weight_rows<T, 3>(d, c, grad_wide, lanes, lanes_rs); break;
    case 2: direct_weight_rows<T, 2>(d, c, grad_wide, lanes, lanes_rs); break;
    default: direct_weight_rows<T, 1>(d, c, grad_wide, lanes, lanes_rs); break;
  }
  return true;
}

template <typename T>
struct Conv {
  const ConvParams& p;
  Geometry geo;
  int64_t cin_g, cout_g, K, P, in_plane;

  explicit Conv(const ConvParams& params)
      : p(params), geo(params), cin_g(params.in_channels / params.groups),
        cout_g(params.out_channels / params.groups), K(geo.rows()), P(geo.pixels()),
        in_plane(params.in_h * params.in_w) {}

  const T* input(int64_t n, int64_t g) const {
    return reinterpret_cast<const T*>(p.input) + (n * p.in_channels + g * cin_g) * in_plane;
  }
  const T* grad_output(int64_t n, int64_t g) const {
    return reinterpret_cast<const T*>(p.grad_output) + (n * p.out_channels + g * cout_g) * P;
  }
  const T* weight(int64_t g) const { return reinterpret_cast<const T*>(p.weight) + g * cout_g * K; }
  double flops() const { return 2.0 * double(p.batch) * double(p.out_channels) * double(K) * double(P); }

  // The forward as a direct convolution (stride 1, few output channels), or nothing.
  bool forward_is_direct() const {
    return geo.sh == 1 && geo.sw == 1 && !geo.is_pointwise() && cout_g <= kDirectMaxOutChannels &&
           direct_forward_shape().canvas_len(2 * DirectVec<T>::kLanes) <= kDirectMaxCanvas;
  }
  DirectShape direct_forward_shape() const {
    return {cin_g, geo.h, geo.w, cout_g, geo.kh, geo.kw, geo.ph, geo.pw, geo.dh, geo.dw, geo.oh, geo.ow};
  }
  // The input gradient of a stride-1 convolution is dY correlated with the flipped kernel
  // (channels exchanged) under padding dilation * (kernel - 1) - pad, when that padding is not
  // negative and the result covers the whole input (no output_padding rows).
  DirectShape direct_input_grad_shape() const {
    const int64_t ph = geo.dh * (geo.kh - 1) - geo.ph, pw = geo.dw * (geo.kw - 1) - geo.pw;
    return {cout_g, geo.oh, geo.ow, cin_g, geo.kh, geo.kw, ph, pw, geo.dh, geo.dw, geo.h, geo.w};
  }
  bool input_grad_is_direct() const {
    // Unlike the forward, any channel count: the GEMM path's patch-gradient scatter costs more.
    if (geo.sh != 1 || geo.sw != 1 || geo.is_pointwise()) return false;
    const DirectShape d = direct_input_grad_shape();
    return d.ph >= 0 && d.pw >= 0 && d.hp() - geo.dh * (geo.kh - 1) == geo.h &&
           d.wp() - geo.dw * (geo.kw - 1) == geo.w && d.canvas_len(2 * DirectVec<T>::kLanes) <= kDirectMaxCanvas;
  }

  // Tasks: (image, group, block of pixels). Y block = W_g X block (+ bias).
  void forward() const {
    if (forward_is_direct()) {
      const DirectShape d = direct_forward_shape();
      run_tasks(p.batch * p.groups, flops(), [&](int64_t task) {
        const int64_t n = task / p.groups, g = task % p.groups;
        T* y = reinterpret_cast<T*>(p.out) + (n * p.out_channels + g * cout_g) * P;
        const T* bias = p.bias ? reinterpret_cast<const T*>(p.bias) + g * cout_g : nullptr;
        return direct_conv<T>(d, input(n, g), weight(g), K, bias, y);
      });
      return;
    }
    const int64_t width = gemm_panel_width<T>();
    const Ranges pixels(P, std::min(wanted_parts(p.batch * p.groups), ceil_div(P, 256)), width);
    const int64_t blocks = pixels.number();
    run_tasks(p.batch * p.groups * blocks, flops(), [&](int64_t task) {
      const int64_t n = task / (p.groups * blocks), g = task / blocks % p.groups, blk = task % blocks;
      const int64_t p0 = pixels.begin(blk), cols = pixels.length(blk);
      T* y = reinterpret_cast<T*>(p.out) + (n * p.out_channels + g * cout_g) * P + p0;
      T beta = T(0);
      if (p.bias) {  // start from the bias and accumulate onto it
        const T* bias = reinterpret_cast<const T*>(p.bias) + g * cout_g;
        for (int64_t co = 0; co < cout_g; ++co) std::fill_n(y + co * P, cols, bias[co]);
        beta = T(1);
      }
      if (geo.is_pointwise())
        return gemm_serial<T>(cout_g, cols, K, T(1), weight(g), K, 1, input(n, g) + p0, in_plane, 1, beta, y, P);
      const PatchPanels<T> panels(geo, input(n, g), p0);
      return gemm_serial_panels<T>(cout_g, cols, K, T(1), weight(g), K, 1, panels, beta, y, P);
    });
  }

  // Tasks: (image, group, block of input channels), each owning its channels of dX. The patch
  // gradient W^T dY is formed one pixel block at a time and added back into the image.
  void backward_input() const {
    T* grad_input = reinterpret_cast<T*>(p.out);
    if (input_grad_is_direct()) {
      // flipped[g][ci][co * taps + t] = W[g][co][ci * taps + (taps - 1 - t)]
      const int64_t taps = geo.taps();
      std::vector<T> flipped(size_t(p.groups * cin_g * cout_g * taps));
      for (int64_t g = 0; g < p.groups; ++g)
        for (int64_t co = 0; co < cout_g; ++co)
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t t = 0; t < taps; ++t)
              flipped[size_t(((g * cin_g + ci) * cout_g + co) * taps + t)] = weight(g)[co * K + ci * taps + taps - 1 - t];
      const DirectShape d = direct_input_grad_shape();
      run_tasks(p.batch * p.groups, flops(), [&](int64_t task) {
        const int64_t n = task / p.groups, g = task % p.groups;
        T* image = grad_input + (n * p.in_channels + g * cin_g) * in_plane;
        return direct_conv<T>(d, grad_output(n, g), flipped.data() + g * cin_g * cout_g * taps, cout_g * taps,
                              nullptr, image);
      });
      return;
    }
    // Enough channel blocks for the threads, and small enough that a block's patch gradient
    // for kMinBlockPixels pixels fits the scratch.
    const int64_t min_parts = ceil_div(K * std::min(P, kMinBlockPixels), kScratchElements);
    const Ranges channels(cin_g, std::max(wanted_parts(p.batch * p.groups), min_parts), 1);
    const int64_t blocks = channels.number();
    run_tasks(p.batch * p.groups * blocks, flops(), [&](int64_t task) {
      const int64_t n = task / (p.groups * blocks), g = task / blocks % p.groups, blk = task % blocks;
      const int64_t c0 = channels.begin(blk), rows = channels.length(blk) * geo.taps(), k0 = c0 * geo.taps();
      T* image = grad_input + (n * p.in_channels + g * cin_g) * in_plane;
      const T* w_t = weight(g) + k0;  // W^T: row k at column k of W
      if (geo.is_pointwise())
        return gemm_serial<T>(rows, P, cout_g, T(1), w_t, 1, K, grad_output(n, g), P, 1, T(0), image + c0 * in_plane,
                              in_plane);
      std::fill_n(image + c0 * in_plane, channels.length(blk) * in_plane, T(0));
      const int64_t cols = std::clamp<int64_t>(kScratchElements / rows, 16, P);
      T* block = scratch<T>(kConvBlock, rows * cols);
      if (!block) return false;
      for (int64_t p0 = 0; p0 < P; p0 += cols) {
        const int64_t c = std::min(cols, P - p0);
        if (!gemm_serial<T>(rows, c, cout_g, T(1), w_t, 1, K, grad_output(n, g) + p0, P, 1, T(0), block, cols))
          return false;
        add_rows_to_image(geo, block, cols, k0, rows, p0, c, image);
      }
      return true;
    });
  }

  // Tasks: (group, block of dW columns), each summing over the images and pixel blocks in order.
  void backward_weight() const {
    T* grad_weight = reinterpret_cast<T*>(p.out);
    if (forward_is_direct()) {  // tasks: (group, block of output channels), images in order
      const DirectShape d = direct_forward_shape();
      const int64_t blocks = ceil_div(cout_g, kDirectWeightChannels);
      run_tasks(p.groups * blocks, flops(), [&](int64_t task) {
        const int64_t g = task / blocks, c0 = task % blocks * kDirectWeightChannels;
        const int64_t cb = std::min<int64_t>(kDirectWeightChannels, cout_g - c0);
        constexpr int64_t L = DirectVec<T>::kLanes;
        T* lanes = scratch<T>(kConvLanes, cb * K * L);
        if (!lanes) return false;
        std::fill_n(lanes, cb * K * L, T(0));
        for (int64_t n = 0; n < p.batch; ++n)
          if (!direct_weight_grad<T>(d, input(n, g), grad_output(n, g) + c0 * P, cb, lanes, K * L)) return false;
        T* dw = grad_weight + (g * cout_g + c0) * K;
        for (int64_t i = 0; i < cb * K; ++i) {
          T sum = 0;
          for (int64_t l = 0; l < L; ++l) sum += lanes[i * L + l];
          dw[i] = sum;
        }
        return true;
      });
      return;
    }
    const Ranges columns(K, wanted_parts(p.groups), gemm_panel_width<T>());
    const int64_t blocks = columns.number();
    run_tasks(p.groups * blocks, flops(), [&](int64_t task) {
      const int64_t g = task / blocks, blk = task % blocks;
      const int64_t k0 = columns.begin(blk), rows = columns.length(blk);
      T* dw = grad_weight + g * cout_g * K + k0;
      if (p.batch == 0 || P == 0) {
        for (int64_t co = 0; co < cout_g; ++co) std::fill_n(dw + co * K, rows, T(0));
        return true;
      }
      // Pointwise: the image is X, read in place, one GEMM per image.
      const int64_t cols = geo.is_pointwise() ? P : std::clamp<int64_t>(kScratchElements / rows, 16, P);
      T* block = geo.is_pointwise() ? nullptr : scratch<T>(kConvBlock, rows * cols);
      if (!geo.is_pointwise() && !block) return false;
      for (int64_t n = 0; n < p.batch; ++n) {
        for (int64_t p0 = 0; p0 < P; p0 += cols) {
          const int64_t c = std::min(cols, P - p0);
          const T beta = (n == 0 && p0 == 0) ? T(0) : T(1);
          const T* x = input(n, g) + k0 * in_plane + p0;  // pointwise: rows are input channels
          int64_t x_cs = in_plane;
          if (block) {
            patches_to_rows(geo, input(n, g), k0, rows, p0, c, block, cols);
            x = block, x_cs = cols;
          }
          if (!gemm_serial<T>(cout_g, rows, c, T(1), grad_output(n, g) + p0, P, 1, x, 1, x_cs, beta, dw, K))
            return false;
        }
      }
      return true;
    });
  }
};

template <typename T>
void conv_typed(const ConvParams& p) {
  const Conv<T> conv(p);
  switch (p.pass) {
    case ConvPass::Forward: conv.forward(); break;
    case ConvPass::BackwardInput: conv.backward_input(); break;
    case ConvPass::BackwardWeight: conv.backward_weight(); break;
  }
}

}  // namespace

void conv_kernel(const ConvParams& p) {
  if (p.dtype == heron::DType::Float32) conv_typed<float>(p);
  else conv_typed<double>(p);
}

}  // namespace HERON_ISA_NAMESPACE
