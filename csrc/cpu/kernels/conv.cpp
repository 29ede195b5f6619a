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
//
// Determinism: the forward and input-gradient tasks own disjoint parts of the output and each
// runs a fixed sequence of GEMMs; the weight-gradient tasks own disjoint column blocks of dW and
// add the images and pixel blocks in order. The thread count only decides who runs a task.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "core/kernel_params.h"
#include "cpu/gemm_serial.h"

namespace HERON_ISA_NAMESPACE {
namespace {

using heron::ConvParams;
using heron::ConvPass;

constexpr int64_t kScratchElements = 64 * 1024;  // explicit patch / gradient blocks stay in L2
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

// A per-thread scratch block, kept between calls.
template <typename T>
T* scratch(int64_t elements) {
  struct Buffer {
    void* p = nullptr;
    int64_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  static thread_local Buffer buf;
  const int64_t bytes = (elements * int64_t(sizeof(T)) + 63) / 64 * 64;
  if (bytes > buf.bytes) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, size_t(bytes));
    buf.bytes = buf.p ? bytes : 0;
  }
  return static_cast<T*>(buf.p);
}

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

  // Tasks: (image, group, block of pixels). Y block = W_g X block (+ bias).
  void forward() const {
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
    const Ranges channels(cin_g, wanted_parts(p.batch * p.groups), 1);
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
      T* block = scratch<T>(rows * cols);
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
      const int64_t cols = std::clamp<int64_t>(kScratchElements / rows, 16, P);
      T* block = geo.is_pointwise() ? nullptr : scratch<T>(rows * cols);
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
