// Fused recurrent layer entry points (LSTM, GRU, Elman RNN): one call runs a whole sequence in
// one direction. The caller computes the input projection (one GEMM over all steps) and, from
// the backward's gate gradients, the weight and input gradients (one GEMM each). The composite
// twins are heron.nn._rnn_impl's layers.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

#include <vector>

namespace heron {
namespace {

struct RecurrentDims {
  int64_t steps, batch, hidden, gates;
  const std::vector<int64_t>* batch_sizes;  // packed sequences, or null
  int64_t rows() const {  // of the per-step arrays
    if (!batch_sizes) return steps * batch;
    int64_t total = 0;
    for (int64_t n : *batch_sizes) total += n;
    return total;
  }
  // A per-step array `width` wide: [steps, batch, width], or [rows, width] when packed.
  Shape per_step(int64_t width) const { return batch_sizes ? Shape{rows(), width} : Shape{steps, batch, width}; }
};

const char* op_name(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::Lstm: return "[lstm]";
    case RecurrentCell::Gru: return "[gru]";
    default: return "[rnn]";
  }
}

int64_t gate_count(RecurrentCell cell) { return cell == RecurrentCell::Lstm ? 4 : cell == RecurrentCell::Gru ? 3 : 1; }

void check_same(RecurrentCell cell, const char* what, const Array& t, const Shape& shape, DType dtype) {
  HERON_CHECK(t.shape() == shape, Shape, op_name(cell), " expected ", what, " of shape ", shape_str(shape), ", got ",
              shape_str(t.shape()));
  HERON_CHECK(t.dtype() == dtype, Runtime, op_name(cell), " expected ", what, " in ", dtype_name(dtype), ", got ",
              dtype_name(t.dtype()));
}

// Packed batch sizes: positive, non-increasing, the first one the batch.
void check_batch_sizes(RecurrentCell cell, const std::vector<int64_t>& sizes, int64_t batch) {
  for (size_t t = 0; t < sizes.size(); ++t) {
    const int64_t limit = t == 0 ? batch : sizes[t - 1];
    HERON_CHECK(sizes[t] >= 1 && sizes[t] <= limit && (t > 0 || sizes[t] == batch), Value, op_name(cell),
                " batch_sizes must be positive and non-increasing, starting at the batch size ", batch, ", got ",
                shape_str(Shape(sizes.begin(), sizes.end())));
  }
}

// x_gates [steps, batch, NG * H] (packed: [rows, NG * H]) and w_hh [NG * H, H] of one dtype:
// the dims (the batch is h0's rows).
RecurrentDims check_recurrent(RecurrentCell cell, const Array& x_gates, const Array& w_hh, const Array& h0,
                              const std::vector<int64_t>* batch_sizes) {
  const char* op = op_name(cell);
  const int64_t ng = gate_count(cell);
  HERON_CHECK(x_gates.dtype() == DType::Float32 || x_gates.dtype() == DType::Float64, NotImplemented, op,
              " the fused kernel takes float32 or float64, got ", dtype_name(x_gates.dtype()));
  HERON_CHECK(w_hh.ndim() == 2 && w_hh.size(0) == ng * w_hh.size(1), Shape, op, " expected weight_hh of shape [", ng,
              " * hidden, hidden], got ", shape_str(w_hh.shape()));
  const int64_t hidden = w_hh.size(1);
  HERON_CHECK(h0.ndim() == 2, Shape, op, " expected h0 of shape [batch, ", hidden, "], got ", shape_str(h0.shape()));
  RecurrentDims d{0, h0.size(0), hidden, ng, batch_sizes};
  if (batch_sizes) {
    check_batch_sizes(cell, *batch_sizes, d.batch);
    d.steps = int64_t(batch_sizes->size());
    HERON_CHECK(x_gates.ndim() == 2 && x_gates.size(0) == d.rows() && x_gates.size(1) == ng * hidden, Shape, op,
                " expected packed input gates of shape [", d.rows(), ", ", ng * hidden, "], got ",
                shape_str(x_gates.shape()));
  } else {
    HERON_CHECK(x_gates.ndim() == 3 && x_gates.size(2) == ng * hidden, Shape, op,
                " expected input gates of shape [steps, batch, ", ng * hidden, "], got ", shape_str(x_gates.shape()));
    d.steps = x_gates.size(0), d.batch = x_gates.size(1);
  }
  check_same(cell, "weight_hh", w_hh, w_hh.shape(), x_gates.dtype());
  check_same(cell, "h0", h0, {d.batch, hidden}, x_gates.dtype());
  return d;
}

// The optional array the cell needs: present (and of `shape`) exactly when `needed`.
void check_needed(RecurrentCell cell, const char* what, const Array* t, bool needed, const Shape& shape, DType dtype) {
  HERON_CHECK(needed == (t != nullptr), Value, op_name(cell), needed ? " needs " : " takes no ", what);
  if (t) check_same(cell, what, *t, shape, dtype);
}

RecurrentParams base_params(RecurrentCell cell, const RecurrentDims& d, DType dtype, bool reverse) {
  RecurrentParams p{};
  p.cell = cell, p.dtype = dtype, p.steps = d.steps, p.batch = d.batch, p.hidden = d.hidden, p.reverse = reverse;
  p.batch_sizes = d.batch_sizes ? d.batch_sizes->data() : nullptr;
  return p;
}

bool is_lstm(RecurrentCell cell) { return cell == RecurrentCell::Lstm; }
bool saves_gates(RecurrentCell cell) { return cell == RecurrentCell::Lstm || cell == RecurrentCell::Gru; }

}  // namespace

std::tuple<Array, Array, Array> recurrent_forward(RecurrentCell cell, const Array& x_gates, const Array& w_hh,
                                                  const Array* b_hn, const Array& h0, const Array* c0, bool reverse,
                                                  const std::vector<int64_t>* batch_sizes, bool save_steps) {
  const RecurrentDims d = check_recurrent(cell, x_gates, w_hh, h0, batch_sizes);
  const DType dtype = x_gates.dtype();
  check_needed(cell, "c0", c0, is_lstm(cell), {d.batch, d.hidden}, dtype);
  if (cell != RecurrentCell::Gru) check_needed(cell, "b_hn", b_hn, false, {d.hidden}, dtype);
  else if (b_hn) check_same(cell, "b_hn", *b_hn, {d.hidden}, dtype);
  const Array xg = contiguous(x_gates), w = contiguous(w_hh), h = contiguous(h0);
  const Array c = c0 ? contiguous(*c0) : Array(), bias = b_hn ? contiguous(*b_hn) : Array();
  const Shape seq = d.per_step(d.hidden);
  Array h_all = Array::empty(seq, dtype);
  // Not kept for a backward: c is one state updated in place (c0 in, c_n out), the gates one
  // step's workspace.
  Array c_all = !is_lstm(cell) ? Array::empty({0}, dtype) : save_steps ? Array::empty(seq, dtype) : clone(c);
  const Shape gate_shape = save_steps ? d.per_step(4 * d.hidden) : Shape{d.batch, 4 * d.hidden};
  Array gates = Array::empty(saves_gates(cell) ? gate_shape : Shape{0}, dtype);
  if (h_all.numel() == 0) return {h_all, c_all, gates};
  RecurrentParams p = base_params(cell, d, dtype, reverse);
  p.save_steps = save_steps;
  p.x_gates = xg.data(), p.w_hh = w.data(), p.h0 = h.data(), p.c0 = c0 ? c.data() : nullptr;
  p.b_hn = b_hn ? bias.data() : nullptr;
  p.gates = saves_gates(cell) ? gates.data() : nullptr, p.h_all = h_all.data(), p.c_all = is_lstm(cell) ? c_all.data() : nullptr;
  recurrent_stub.get_cpu()(p);
  return {h_all, c_all, gates};
}

std::tuple<Array, Array, Array, Array> recurrent_backward(RecurrentCell cell, const Array* grad_h_all,
                                                          const Array& grad_hn, const Array* grad_cn, const Array& w_hh,
                                                          const Array& h0, const Array& h_all, const Array* c0,
                                                          const Array* c_all, const Array* gates, bool reverse,
                                                          const std::vector<int64_t>* batch_sizes) {
  const DType dtype = h_all.dtype();
  HERON_CHECK(dtype == DType::Float32 || dtype == DType::Float64, NotImplemented, op_name(cell),
              " the fused kernel takes float32 or float64, got ", dtype_name(dtype));
  HERON_CHECK(w_hh.ndim() == 2 && w_hh.size(0) == gate_count(cell) * w_hh.size(1), Shape, op_name(cell),
              " expected weight_hh of shape [", gate_count(cell), " * hidden, hidden], got ", shape_str(w_hh.shape()));
  HERON_CHECK(h0.ndim() == 2, Shape, op_name(cell), " expected h0 of shape [batch, hidden], got ", shape_str(h0.shape()));
  RecurrentDims d{h_all.ndim() > 0 ? h_all.size(0) : 0, h0.size(0), w_hh.size(1), gate_count(cell), batch_sizes};
  if (batch_sizes) {
    check_batch_sizes(cell, *batch_sizes, d.batch);
    d.steps = int64_t(batch_sizes->size());
  } else if (h_all.ndim() == 3) {
    d.batch = h_all.size(1);
  }
  const Shape seq = d.per_step(d.hidden), state{d.batch, d.hidden};
  check_same(cell, "h_all", h_all, seq, dtype);
  check_same(cell, "weight_hh", w_hh, {d.gates * d.hidden, d.hidden}, dtype);
  check_same(cell, "h0", h0, state, dtype);
  check_same(cell, "grad_hn", grad_hn, state, dtype);
  if (grad_h_all) check_same(cell, "the output gradient", *grad_h_all, seq, dtype);
  check_needed(cell, "c0", c0, is_lstm(cell), state, dtype);
  check_needed(cell, "c_all", c_all, is_lstm(cell), seq, dtype);
  check_needed(cell, "grad_cn", grad_cn, is_lstm(cell), state, dtype);
  check_needed(cell, "the saved gates", gates, saves_gates(cell), d.per_step(4 * d.hidden), dtype);
  const Array w = contiguous(w_hh), h = contiguous(h0), ha = contiguous(h_all);
  const Array gout = grad_h_all ? contiguous(*grad_h_all) : Array();
  const Array c = c0 ? contiguous(*c0) : Array(), ca = c_all ? contiguous(*c_all) : Array(),
              g = gates ? contiguous(*gates) : Array();
  const Shape grad_shape = d.per_step(d.gates * d.hidden);
  Array grad_gates = Array::empty(grad_shape, dtype);
  Array grad_hidden = cell == RecurrentCell::Gru ? Array::empty(grad_shape, dtype) : grad_gates;
  // Carried through the steps, dh0 / dc0 at the end.
  Array dh = clone(grad_hn), dc = grad_cn ? clone(*grad_cn) : Array::empty({0}, dtype);
  if (grad_gates.numel() == 0) return {grad_gates, grad_hidden, dh, dc};
  RecurrentParams p = base_params(cell, d, dtype, reverse);
  p.w_hh = w.data(), p.h0 = h.data(), p.h_all = const_cast<char*>(ha.data());
  p.c0 = c0 ? c.data() : nullptr, p.c_all = c_all ? const_cast<char*>(ca.data()) : nullptr;
  p.gates = gates ? const_cast<char*>(g.data()) : nullptr;
  p.grad_h_all = grad_h_all ? gout.data() : nullptr;
  p.grad_gates = grad_gates.data(), p.grad_hidden_gates = cell == RecurrentCell::Gru ? grad_hidden.data() : nullptr;
  p.grad_h0 = dh.data(), p.grad_c0 = grad_cn ? dc.data() : nullptr;
  p.backward = true;
  recurrent_stub.get_cpu()(p);
  return {grad_gates, grad_hidden, dh, dc};
}

}  // namespace heron
