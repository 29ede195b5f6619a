// Fused LayerNorm / RMSNorm over the trailing `cols` elements of each row, forward and
// backward. The composite twins are heron.nn.functional._layer_norm_composite and
// _rms_norm_composite.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

void check_norm(const char* op, const Array& x, int64_t cols, const Array* weight, const Array* bias) {
  HERON_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, NotImplemented, "[", op,
              "] the fused kernel takes float32 or float64 input, got ", dtype_name(x.dtype()));
  HERON_CHECK(cols > 0 && x.numel() % cols == 0, Shape, "[", op, "] cannot normalise groups of ", cols,
              " elements in an input of shape ", shape_str(x.shape()));
  for (const Array* t : {weight, bias}) {
    if (!t) continue;
    HERON_CHECK(t->numel() == cols, Shape, "[", op, "] expected ", cols, " affine values, got shape ", shape_str(t->shape()));
    HERON_CHECK(t->dtype() == x.dtype(), Runtime, "[", op, "] expected the affine parameters in ", dtype_name(x.dtype()),
                ", got ", dtype_name(t->dtype()));
  }
}

}  // namespace

std::tuple<Array, Array, Array> norm_forward(const Array& input, int64_t cols, const Array* weight, const Array* bias,
                                             double eps, bool rms) {
  const char* op = rms ? "rms_norm" : "layer_norm";
  check_norm(op, input, cols, weight, bias);
  HERON_CHECK(!(rms && bias), Value, "[rms_norm] takes no bias");
  const Array x = contiguous(input);
  const Array w = weight ? contiguous(*weight) : Array(), b = bias ? contiguous(*bias) : Array();
  const int64_t rows = x.numel() / cols;
  Array y = Array::empty(x.shape(), x.dtype());
  Array mean = Array::empty({rms ? 0 : rows}, x.dtype()), rstd = Array::empty({rows}, x.dtype());
  if (rows == 0) return {y, mean, rstd};
  NormParams p{};
  p.x = x.data(), p.weight = weight ? w.data() : nullptr, p.bias = bias ? b.data() : nullptr;
  p.y = y.data(), p.mean = rms ? nullptr : mean.data(), p.rstd = rstd.data();
  p.dtype = x.dtype(), p.rows = rows, p.cols = cols, p.eps = eps, p.rms = rms;
  norm_stub.get_cpu()(p);
  return {y, mean, rstd};
}

std::tuple<Array, Array, Array> norm_backward(const Array& grad_y, const Array& input, const Array& mean,
                                              const Array& rstd, const Array* weight, int64_t cols, bool rms,
                                              bool need_weight_grad, bool need_bias_grad) {
  const char* op = rms ? "rms_norm" : "layer_norm";
  check_norm(op, input, cols, weight, nullptr);
  const int64_t rows = input.numel() / cols;
  HERON_CHECK(grad_y.shape() == input.shape() && grad_y.dtype() == input.dtype(), Runtime, "[", op,
              "] the gradient must match the input's shape and dtype");
  HERON_CHECK(rstd.numel() == rows && (rms || mean.numel() == rows), Runtime, "[", op,
              "] backward needs the forward's per-row statistics");
  const Array x = contiguous(input), g = contiguous(grad_y), m = contiguous(mean), r = contiguous(rstd);
  const Array w = weight ? contiguous(*weight) : Array();
  Array dx = Array::empty(x.shape(), x.dtype());
  Array dw = Array::empty({need_weight_grad ? cols : 0}, x.dtype()), db = Array::empty({need_bias_grad ? cols : 0}, x.dtype());
  NormParams p{};
  p.x = x.data(), p.weight = weight ? w.data() : nullptr;
  p.mean = rms ? nullptr : const_cast<char*>(m.data()), p.rstd = const_cast<char*>(r.data());
  p.grad_y = g.data(), p.grad_x = dx.data();
  p.grad_weight = need_weight_grad ? dw.data() : nullptr, p.grad_bias = need_bias_grad ? db.data() : nullptr;
  p.dtype = x.dtype(), p.rows = rows, p.cols = cols, p.rms = rms, p.backward = true;
  if (rows == 0) {
    if (need_weight_grad) fill_(dw, Scalar::from_double(0));
    if (need_bias_grad) fill_(db, Scalar::from_double(0));
    return {dx, dw, db};
  }
  norm_stub.get_cpu()(p);
  return {dx, dw, db};
}

}  // namespace heron
