// Op bindings: argument conversion only, no math.
#include "bindings/common.h"

namespace heron::bindings {

static std::optional<DType> opt_dtype(const py::object& d) {
  if (d.is_none()) return std::nullopt;
  return to_dtype(d.cast<int>());
}

static py::tuple pair(const std::pair<Array, Array>& p) { return py::make_tuple(p.first, p.second); }

void init_ops(py::module_& m) {
  m.def("unary", [](int op, const Array& a, double p0, double p1) { return unary(UnaryOp(op), a, p0, p1); },
        py::arg("op"), py::arg("a"), py::arg("p0") = 0.0, py::arg("p1") = 0.0);
  m.def("unary_", [](int op, const Array& a, double p0, double p1) { unary_(UnaryOp(op), a, p0, p1); },
        py::arg("op"), py::arg("a"), py::arg("p0") = 0.0, py::arg("p1") = 0.0);
  m.def("binary", [](int op, const py::handle& a, const py::handle& b) {
    return binary(BinaryOp(op), to_operand(a, "binary"), to_operand(b, "binary"));
  });
  m.def("binary_", [](int op, const Array& self, const py::handle& b) {
    binary_(BinaryOp(op), self, to_operand(b, "binary_"));
  });
  m.def("result_dtype", [](int op, const py::handle& a, const py::handle& b) {
    return int(binary_result_dtype(BinaryOp(op), to_operand(a, "binary"), to_operand(b, "binary")));
  });
  m.def("where", [](const Array& c, const py::handle& a, const py::handle& b) {
    return where(c, to_operand(a, "where"), to_operand(b, "where"));
  });
  m.def("reduce", [](int op, const Array& a, const std::vector<int64_t>& dims, bool keepdim, const py::object& dtype) {
    return reduce(ReduceOp(op), a, dims, keepdim, opt_dtype(dtype));
  });
  m.def("reduce_with_index", [](int op, const Array& a, int64_t dim, bool keepdim) {
    return pair(reduce_with_index(ReduceOp(op), a, dim, keepdim));
  });
  m.def("softmax", [](const Array& a, int64_t dim, bool log, const py::object& dtype) {
    return softmax(a, dim, log, opt_dtype(dtype));
  });
  m.def("cumulative", [](const Array& a, int64_t dim, bool product, const py::object& dtype) {
    return cumulative(a, dim, product, opt_dtype(dtype));
  });
  m.def("cat", &cat);
  m.def("index_select", &index_select);
  m.def("index_add_", &index_add_);
  m.def("gather", &gather);
  m.def("scatter_", [](const Array& self, int64_t dim, const Array& index, const py::handle& src, int reduce) {
    scatter_(self, dim, index, to_operand(src, "scatter_"), reduce);
  });
  m.def("nonzero", &nonzero);
  m.def("sort", [](const Array& a, int64_t dim, bool descending, bool stable) {
    py::gil_scoped_release release;
    return sort(a, dim, descending, stable);
  });
  m.def("topk", [](const Array& a, int64_t k, int64_t dim, bool largest, bool sorted) {
    return pair(topk(a, k, dim, largest, sorted));
  });
  m.def("take_flat", &take_flat);
  m.def("matmul", [](const Array& a, const Array& b) {
    py::gil_scoped_release release;
    return matmul(a, b);
  });
  m.def("addmm", [](const Array& input, const Array& m1, const Array& m2, double beta, double alpha,
                    const std::string& activation) {
    py::gil_scoped_release release;
    return addmm(input, m1, m2, beta, alpha, activation);
  });
  m.def("baddbmm", [](const Array& input, const Array& b1, const Array& b2, double beta, double alpha) {
    py::gil_scoped_release release;
    return baddbmm(input, b1, b2, beta, alpha);
  });
  m.def("cross_entropy_rows", [](const Array& logits, const Array& target, int64_t ignore_index, double label_smoothing) {
    py::gil_scoped_release release;
    return cross_entropy_rows(logits, target, ignore_index, label_smoothing);
  });
  m.def("cross_entropy_rows_backward", [](const Array& logits, const Array& target, const Array& lse, const Array& grad_rows,
                                          int64_t ignore_index, double label_smoothing) {
    py::gil_scoped_release release;
    return cross_entropy_rows_backward(logits, target, lse, grad_rows, ignore_index, label_smoothing);
  });
  m.def("norm_forward", [](const Array& x, int64_t cols, std::optional<Array> weight, std::optional<Array> bias,
                           double eps, bool rms) {
    py::gil_scoped_release release;
    return norm_forward(x, cols, weight ? &*weight : nullptr, bias ? &*bias : nullptr, eps, rms);
  });
  m.def("norm_backward", [](const Array& grad_y, const Array& x, const Array& mean, const Array& rstd,
                            std::optional<Array> weight, int64_t cols, bool rms, bool need_weight_grad, bool need_bias_grad) {
    py::gil_scoped_release release;
    return norm_backward(grad_y, x, mean, rstd, weight ? &*weight : nullptr, cols, rms, need_weight_grad, need_bias_grad);
  });
  m.def("attention_forward", [](const Array& q, const Array& k, const Array& v, std::optional<Array> mask, double scale,
                                bool causal, double dropout_p, uint64_t dropout_seed, uint64_t dropout_offset) {
    py::gil_scoped_release release;
    return attention_forward(q, k, v, mask ? &*mask : nullptr, scale, causal,
                             AttentionDropout{dropout_p, dropout_seed, dropout_offset});
  }, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"), py::arg("scale"), py::arg("causal"),
     py::arg("dropout_p") = 0.0, py::arg("dropout_seed") = 0, py::arg("dropout_offset") = 0);
  m.def("attention_backward", [](const Array& grad_out, const Array& q, const Array& k, const Array& v, const Array& out,
                                 const Array& lse, std::optional<Array> mask, double scale, bool causal, double dropout_p,
                                 uint64_t dropout_seed, uint64_t dropout_offset) {
    py::gil_scoped_release release;
    return attention_backward(grad_out, q, k, v, out, lse, mask ? &*mask : nullptr, scale, causal,
                              AttentionDropout{dropout_p, dropout_seed, dropout_offset});
  }, py::arg("grad_out"), py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("mask"),
     py::arg("scale"), py::arg("causal"), py::arg("dropout_p") = 0.0, py::arg("dropout_seed") = 0,
     py::arg("dropout_offset") = 0);
  // Recurrent layers: cell is "lstm", "gru", "rnn_tanh" or "rnn_relu".
  auto to_cell = [](const std::string& name) {
    if (name == "lstm") return RecurrentCell::Lstm;
    if (name == "gru") return RecurrentCell::Gru;
    if (name == "rnn_tanh") return RecurrentCell::RnnTanh;
    if (name == "rnn_relu") return RecurrentCell::RnnRelu;
    throw py::value_error("unknown recurrent cell '" + name + "': expected lstm, gru, rnn_tanh or rnn_relu");
  };
  // batch_sizes: a PackedSequence's, for packed per-step arrays ([rows, width]).
  m.def("recurrent_forward", [to_cell](const std::string& cell, const Array& x_gates, const Array& w_hh,
                                       std::optional<Array> b_hn, const Array& h0, std::optional<Array> c0, bool reverse,
                                       std::optional<std::vector<int64_t>> batch_sizes, bool save_steps) {
    const RecurrentCell kind = to_cell(cell);
    py::gil_scoped_release release;
    return recurrent_forward(kind, x_gates, w_hh, b_hn ? &*b_hn : nullptr, h0, c0 ? &*c0 : nullptr, reverse,
                             batch_sizes ? &*batch_sizes : nullptr, save_steps);
  }, py::arg("cell"), py::arg("x_gates"), py::arg("w_hh"), py::arg("b_hn"), py::arg("h0"), py::arg("c0"),
     py::arg("reverse"), py::arg("batch_sizes") = py::none(), py::arg("save_steps") = true);
  m.def("recurrent_backward", [to_cell](const std::string& cell, std::optional<Array> grad_h_all, const Array& grad_hn,
                                        std::optional<Array> grad_cn, const Array& w_hh, const Array& h0,
                                        const Array& h_all, std::optional<Array> c0, std::optional<Array> c_all,
                                        std::optional<Array> gates, bool reverse,
                                        std::optional<std::vector<int64_t>> batch_sizes) {
    const RecurrentCell kind = to_cell(cell);
    py::gil_scoped_release release;
    return recurrent_backward(kind, grad_h_all ? &*grad_h_all : nullptr, grad_hn, grad_cn ? &*grad_cn : nullptr, w_hh,
                              h0, h_all, c0 ? &*c0 : nullptr, c_all ? &*c_all : nullptr, gates ? &*gates : nullptr,
                              reverse, batch_sizes ? &*batch_sizes : nullptr);
  }, py::arg("cell"), py::arg("grad_h_all"), py::arg("grad_hn"), py::arg("grad_cn"), py::arg("w_hh"), py::arg("h0"),
     py::arg("h_all"), py::arg("c0"), py::arg("c_all"), py::arg("gates"), py::arg("reverse"),
     py::arg("batch_sizes") = py::none());
  m.def("conv2d_forward", [](const Array& input, const Array& weight, std::optional<Array> bias,
                             std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                             std::array<int64_t, 2> dilation, int64_t groups) {
    py::gil_scoped_release release;
    return conv2d_forward(input, weight, bias ? &*bias : nullptr, {stride, padding, dilation, groups});
  });
  m.def("conv2d_backward_input", [](const Array& grad_output, const Array& weight, std::array<int64_t, 4> input_size,
                                    std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                    std::array<int64_t, 2> dilation, int64_t groups) {
    py::gil_scoped_release release;
    return conv2d_backward_input(grad_output, weight, input_size, {stride, padding, dilation, groups});
  });
  m.def("conv2d_backward_weight", [](const Array& grad_output, const Array& input, std::array<int64_t, 4> weight_size,
                                     std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                     std::array<int64_t, 2> dilation, int64_t groups) {
    py::gil_scoped_release release;
    return conv2d_backward_weight(grad_output, input, weight_size, {stride, padding, dilation, groups});
  });
  using Pair = std::array<int64_t, 2>;
  m.def("max_pool2d_forward", [](const Array& input, Pair kernel, Pair stride, Pair padding, Pair dilation,
                                 Pair out_size) {
    py::gil_scoped_release release;
    return max_pool2d_forward(input, {kernel, stride, padding, dilation, out_size});
  });
  m.def("max_pool2d_backward", [](const Array& grad_output, const Array& indices, std::array<int64_t, 4> input_shape,
                                  Pair kernel, Pair stride, Pair padding, Pair dilation, Pair out_size) {
    py::gil_scoped_release release;
    const Shape shape{input_shape[0], input_shape[1], input_shape[2], input_shape[3]};
    return max_pool2d_backward(grad_output, indices, shape, {kernel, stride, padding, dilation, out_size});
  });
  // Average pooling windows: (row_start, row_end, row_div, col_start, col_end, col_div).
  using Axis = std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<double>>;
  auto to_windows = [](const Axis& rows, const Axis& cols) {
    return AvgPoolWindows{std::get<0>(rows), std::get<1>(rows), std::get<0>(cols),
                          std::get<1>(cols), std::get<2>(rows), std::get<2>(cols)};
  };
  m.def("avg_pool2d_forward", [to_windows](const Array& planes, const Axis& rows, const Axis& cols) {
    const AvgPoolWindows windows = to_windows(rows, cols);
    py::gil_scoped_release release;
    return avg_pool2d_forward(planes, windows);
  });
  m.def("avg_pool2d_backward", [to_windows](const Array& grad_output, std::array<int64_t, 3> planes_shape,
                                            const Axis& rows, const Axis& cols) {
    const AvgPoolWindows windows = to_windows(rows, cols);
    py::gil_scoped_release release;
    return avg_pool2d_backward(grad_output, Shape{planes_shape[0], planes_shape[1], planes_shape[2]}, windows);
  });
  m.def("batch_norm_forward", [](const Array& input, std::optional<Array> weight, std::optional<Array> bias,
                                 std::optional<Array> running_mean, std::optional<Array> running_invstd, double eps,
                                 bool training) {
    py::gil_scoped_release release;
    return batch_norm_forward(input, weight ? &*weight : nullptr, bias ? &*bias : nullptr,
                              running_mean ? &*running_mean : nullptr, running_invstd ? &*running_invstd : nullptr,
                              eps, training);
  });
  m.def("batch_norm_backward", [](const Array& grad_output, const Array& input, const Array& mean,
                                  const Array& invstd, std::optional<Array> weight, bool training, bool need_input,
                                  bool need_weight, bool need_bias) {
    py::gil_scoped_release release;
    return batch_norm_backward(grad_output, input, mean, invstd, weight ? &*weight : nullptr, training, need_input,
                               need_weight, need_bias);
  });
  m.def("adam_step_", [](const std::vector<Array>& params, const std::vector<Array>& grads, const std::vector<Array>& exp_avgs,
                         const std::vector<Array>& exp_avg_sqs, const std::vector<Array>& max_exp_avg_sqs,
                         const std::vector<double>& steps, double lr, double beta1, double beta2, double eps,
                         double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
    AdamOptions o{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay};
    py::gil_scoped_release release;
    adam_step_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, o);
  });
  m.def("sgd_step_", [](const std::vector<Array>& params, const std::vector<Array>& grads,
                        const std::vector<Array>& momentum_buffers, double lr, double momentum, double dampening,
                        double weight_decay, bool nesterov, bool maximize, bool first_step) {
    SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
    py::gil_scoped_release release;
    sgd_step_(params, grads, momentum_buffers, o);
  });
  m.def("linear", [](const Array& input, const Array& weight, std::optional<Array> bias, const std::string& activation) {
    py::gil_scoped_release release;
    return linear(input, weight, bias ? &*bias : nullptr, activation);
  });

  py::class_<Generator>(m, "Generator")
      .def(py::init<>())
      .def_readwrite("seed", &Generator::seed)
      .def_readwrite("offset", &Generator::offset);
  m.def("default_generator", &default_generator, py::return_value_policy::reference);
  m.def("random_", [](int kind, const Array& out, Generator& gen, double a, double b) { random_(kind, out, gen, a, b); });
  m.def("randperm", [](int64_t n, Generator& gen, int dtype) { return randperm(n, gen, to_dtype(dtype)); });
  m.def("multinomial", &multinomial);
  m.def("dropout_mask", [](const std::vector<int64_t>& shape, int dtype, double p, uint64_t seed, uint64_t offset) {
    return dropout_mask(Shape(shape.begin(), shape.end()), to_dtype(dtype), p, seed, offset);
  });

  // Enum values, so Python never hard-codes them.
  py::dict unary_ops, binary_ops, reduce_ops;
  const char* unary_names[] = {
      "neg", "abs", "sign", "square", "reciprocal", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1",
      "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
      "atanh", "erf", "erfc", "sigmoid", "logsigmoid", "relu", "relu6", "gelu", "gelu_tanh", "silu", "mish",
      "softplus", "leaky_relu", "elu", "selu", "hardtanh", "hardsigmoid", "hardswish", "clamp", "floor",
      "ceil", "round", "trunc", "frac", "logical_not", "bitwise_not", "isnan", "isinf", "isfinite",
      "signbit", "nan_to_num"};
  static_assert(sizeof(unary_names) / sizeof(unary_names[0]) == size_t(UnaryOp::Count), "unary names");
  for (int i = 0; i < int(UnaryOp::Count); ++i) unary_ops[unary_names[i]] = i;
  const char* binary_names[] = {"add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow",
                                "maximum", "minimum", "fmax", "fmin", "atan2", "eq", "ne", "lt", "le", "gt",
                                "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and",
                                "bitwise_or", "bitwise_xor", "hypot", "copysign", "xlogy"};
  static_assert(sizeof(binary_names) / sizeof(binary_names[0]) == size_t(BinaryOp::Count), "binary names");
  for (int i = 0; i < int(BinaryOp::Count); ++i) binary_ops[binary_names[i]] = i;
  const char* reduce_names[] = {"sum", "prod", "max", "min", "argmax", "argmin", "all", "any"};
  for (int i = 0; i < int(ReduceOp::Count); ++i) reduce_ops[reduce_names[i]] = i;
  m.attr("UNARY") = unary_ops;
  m.attr("BINARY") = binary_ops;
  m.attr("REDUCE") = reduce_ops;
  m.attr("RANDOM") = py::dict(py::arg("uniform") = int(kUniform), py::arg("normal") = int(kNormal),
                              py::arg("randint") = int(kRandint), py::arg("bernoulli") = int(kBernoulli));
}

}  // namespace heron::bindings
