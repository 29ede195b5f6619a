// Fused LSTM layer entry points: one call runs a whole sequence in one direction. The caller
// computes the input projection (one GEMM over all steps) and, from the backward's gate
// gradients, the weight and input gradients (one GEMM each). The composite twin is
// heron.nn._rnn_impl's LSTM layer.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

constexpr const char* kOp = "[lstm]";

struct LstmDims {
  int64_t steps, batch, hidden;
};

void check_same(const char* what, const Array& t, const Shape& shape, DType dtype) {
  HERON_CHECK(t.shape() == shape, Shape, kOp, " expected ", what, " of shape ", shape_str(shape), ", got ",
              shape_str(t.shape()));
  HERON_CHECK(t.dtype() == dtype, Runtime, kOp, " expected ", what, " in ", dtype_name(dtype), ", got ",
              dtype_name(t.dtype()));
}

LstmDims check_lstm(const Array& x_gates, const Array& w_hh, const Array& h0, const Array& c0) {
  HERON_CHECK(x_gates.dtype() == DType::Float32 || x_gates.dtype() == DType::Float64, NotImplemented, kOp,
              " the fused kernel takes float32 or float64, got ", dtype_name(x_gates.dtype()));
  HERON_CHECK(w_hh.ndim() == 2 && w_hh.size(0) == 4 * w_hh.size(1), Shape, kOp,
              " expected weight_hh of shape [4 * hidden, hidden], got ", shape_str(w_hh.shape()));
  const int64_t hidden = w_hh.size(1);
  HERON_CHECK(x_gates.ndim() == 3 && x_gates.size(2) == 4 * hidden, Shape, kOp,
              " expected input gates of shape [steps, batch, ", 4 * hidden, "], got ", shape_str(x_gates.shape()));
  const LstmDims d{x_gates.size(0), x_gates.size(1), hidden};
  check_same("weight_hh", w_hh, w_hh.shape(), x_gates.dtype());
  check_same("h0", h0, {d.batch, hidden}, x_gates.dtype());
  check_same("c0", c0, {d.batch, hidden}, x_gates.dtype());
  return d;
}

LstmParams base_params(const LstmDims& d, DType dtype, bool reverse) {
  LstmParams p{};
  p.dtype = dtype, p.steps = d.steps, p.batch = d.batch, p.hidden = d.hidden, p.reverse = reverse;
  return p;
}

}  // namespace

std::tuple<Array, Array, Array> lstm_forward(const Array& x_gates, const Array& w_hh, const Array& h0, const Array& c0,
                                             bool reverse) {
  const LstmDims d = check_lstm(x_gates, w_hh, h0, c0);
  const Array xg = contiguous(x_gates), w = contiguous(w_hh), h = contiguous(h0), c = contiguous(c0);
  Array h_all = Array::empty({d.steps, d.batch, d.hidden}, xg.dtype());
  Array c_all = Array::empty({d.steps, d.batch, d.hidden}, xg.dtype());
  Array gates = Array::empty(xg.shape(), xg.dtype());
  if (h_all.numel() == 0) return {h_all, c_all, gates};
  LstmParams p = base_params(d, xg.dtype(), reverse);
  p.x_gates = xg.data(), p.w_hh = w.data(), p.h0 = h.data(), p.c0 = c.data();
  p.gates = gates.data(), p.h_all = h_all.data(), p.c_all = c_all.data();
  lstm_stub.get_cpu()(p);
  return {h_all, c_all, gates};
}

std::tuple<Array, Array, Array> lstm_backward(const Array* grad_h_all, const Array& grad_hn, const Array& grad_cn,
                                              const Array& gates, const Array& c_all, const Array& c0,
                                              const Array& w_hh, bool reverse) {
  const LstmDims d = check_lstm(gates, w_hh, grad_hn, c0);
  const DType dtype = gates.dtype();
  const Shape seq{d.steps, d.batch, d.hidden};
  check_same("c_all", c_all, seq, dtype);
  check_same("grad_cn", grad_cn, {d.batch, d.hidden}, dtype);
  if (grad_h_all) check_same("the output gradient", *grad_h_all, seq, dtype);
  const Array g = contiguous(gates), c = contiguous(c_all), c_init = contiguous(c0), w = contiguous(w_hh);
  const Array gout = grad_h_all ? contiguous(*grad_h_all) : Array();
  Array grad_gates = Array::empty(g.shape(), dtype);
  Array dh = clone(grad_hn), dc = clone(grad_cn);  // carried through the steps, dh0 / dc0 at the end
  if (grad_gates.numel() == 0) return {grad_gates, dh, dc};
  LstmParams p = base_params(d, dtype, reverse);
  p.w_hh = w.data(), p.c0 = c_init.data(), p.gates = const_cast<char*>(g.data()), p.c_all = const_cast<char*>(c.data());
  p.grad_h_all = grad_h_all ? gout.data() : nullptr;
  p.grad_gates = grad_gates.data(), p.grad_h0 = dh.data(), p.grad_c0 = dc.data();
  p.backward = true;
  lstm_stub.get_cpu()(p);
  return {grad_gates, dh, dc};
}

}  // namespace heron
