// Validating entry points of every op (one .cpp per family in core/ops/). Each checks shapes,
// dtypes and devices, promotes, allocates the output and calls its kernel via the dispatch
// stub. Messages start with "[op]".
#pragma once
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/array.h"
#include "core/kernel_params.h"

namespace heron {

// A Python number or 0-d tensor value. Wrapped numbers take part in type promotion with
// lower priority than tensors (torch.result_type).
struct Scalar {
  enum Kind { Bool, Int, Float } kind = Float;
  int64_t i = 0;
  double d = 0.0;
  static Scalar from_double(double v) { Scalar s; s.kind = Float; s.d = v; return s; }
  static Scalar from_int(int64_t v) { Scalar s; s.kind = Int; s.i = v; s.d = double(v); return s; }
  static Scalar from_bool(bool v) { Scalar s; s.kind = Bool; s.i = v; s.d = v; return s; }
  DType natural_dtype() const { return kind == Float ? DType::Float64 : (kind == Int ? DType::Int64 : DType::Bool); }
  double to_double() const { return kind == Float ? d : double(i); }
};

Array scalar_array(const Scalar& s, DType dtype);  // 0-d array holding s cast to dtype

// An operand that is either a tensor or a Python number (then `array` is its 0-d form and
// `scalar` its value, so it can be materialised directly in whatever dtype the op computes in).
struct Operand {
  Array array;
  bool wrapped = false;  // came from a Python number
  Scalar scalar;

  static Operand tensor(const Array& a) { return Operand{a, false, Scalar{}}; }
  static Operand number(const Scalar& s) { return Operand{scalar_array(s, s.natural_dtype()), true, s}; }
};

// The operand as an array of `dtype` (a cast for tensors, a fresh 0-d array for numbers).
Array operand_as(const Operand& o, DType dtype);

DType default_float_dtype();
void set_default_float_dtype(DType t);
Scalar item(const Array& a);                        // value of a one-element array

// --- creation and copies (core/ops/elementwise.cpp)
Array full(const Shape& shape, const Scalar& value, DType dtype);
Array arange(double start, double end, double step, DType dtype);
Array linspace(double start, double end, int64_t steps, DType dtype);
void copy_(const Array& dst, const Array& src, const char* op = "copy_");  // broadcasts src, casts
Array cast(const Array& a, DType dtype);        // returns `a` itself when dtype matches
Array contiguous(const Array& a);                // returns `a` itself when already contiguous
Array clone(const Array& a);
Array reshape(const Array& a, const Shape& shape);  // view when possible, else copy
void fill_(const Array& dst, const Scalar& value);

// --- elementwise (core/ops/elementwise.cpp)
DType unary_result_dtype(UnaryOp op, DType in);
Array unary(UnaryOp op, const Array& a, double p0 = 0, double p1 = 0);
void unary_(UnaryOp op, const Array& a, double p0 = 0, double p1 = 0);  // in place
DType binary_result_dtype(BinaryOp op, const Operand& a, const Operand& b);
Array binary(BinaryOp op, const Operand& a, const Operand& b);
void binary_(BinaryOp op, const Array& self, const Operand& other);  // in place into self
Array where(const Array& cond, const Operand& a, const Operand& b);

// --- reductions (core/ops/reduce.cpp); empty dims = all
Array reduce(ReduceOp op, const Array& a, std::vector<int64_t> dims, bool keepdim,
             std::optional<DType> dtype = std::nullopt);
// max/min along one dim: (values, indices)
std::pair<Array, Array> reduce_with_index(ReduceOp op, const Array& a, int64_t dim, bool keepdim);
Array softmax(const Array& a, int64_t dim, bool log, std::optional<DType> dtype = std::nullopt);
Array cumulative(const Array& a, int64_t dim, bool product, std::optional<DType> dtype = std::nullopt);

// --- indexing and joins (core/ops/indexing.cpp)
Array cat(const std::vector<Array>& arrays, int64_t dim);
Array index_select(const Array& a, int64_t dim, const Array& index);
void index_add_(const Array& self, int64_t dim, const Array& index, const Array& src, double alpha);
Array gather(const Array& a, int64_t dim, const Array& index);
// reduce: 0 assign, 1 add, 2 multiply. src may be a scalar (scalar_src).
void scatter_(const Array& self, int64_t dim, const Array& index, const Operand& src, int reduce);
Array nonzero(const Array& a);  // [n, ndim] int64
std::pair<Array, Array> sort(const Array& a, int64_t dim, bool descending, bool stable);
std::pair<Array, Array> topk(const Array& a, int64_t k, int64_t dim, bool largest, bool sorted);
Array take_flat(const Array& a, const Array& flat_index);  // a.reshape(-1)[flat_index]

// --- random numbers (core/ops/random.cpp): a counter-based Philox stream.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // blocks of 4 draws already used
  PhiloxKey take(int64_t draws);  // reserves draws, returns the key of the first
};
Generator& default_generator();
void random_(int kind, const Array& out, Generator& gen, double a, double b);
Array randperm(int64_t n, Generator& gen, DType dtype);
// The dropout stream's mask (cpu/philox.h) for the key (seed, offset): 1 / (1 - p) where an
// element is kept, 0 where dropped. The fused attention draws the same numbers.
Array dropout_mask(const Shape& shape, DType dtype, double p, uint64_t seed, uint64_t offset);
Array multinomial(const Array& probs, int64_t num_samples, bool replacement, Generator& gen);

// --- linear algebra (core/ops/linalg.cpp)
Array matmul(const Array& a, const Array& b);
// beta * input + alpha * mat1 @ mat2, then activation: "none", "relu", "gelu" or "gelu_tanh"
Array addmm(const Array& input, const Array& mat1, const Array& mat2, double beta, double alpha,
            const std::string& activation);
Array baddbmm(const Array& input, const Array& batch1, const Array& batch2, double beta, double alpha);
// --- fused training kernels (core/ops/loss.cpp, core/ops/optim.cpp)
// (loss per row, log-sum-exp per row) of logits [N, C] against int64 class indices [N]
std::pair<Array, Array> cross_entropy_rows(const Array& logits, const Array& target, int64_t ignore_index,
                                           double label_smoothing);
Array cross_entropy_rows_backward(const Array& logits, const Array& target, const Array& lse, const Array& grad_rows,
                                  int64_t ignore_index, double label_smoothing);

// LayerNorm (rms=false) / RMSNorm over the trailing `cols` elements: (y, mean, rstd) per row
// (mean is empty for RMSNorm), and the backward's (grad_input, grad_weight, grad_bias).
std::tuple<Array, Array, Array> norm_forward(const Array& input, int64_t cols, const Array* weight, const Array* bias,
                                             double eps, bool rms);
std::tuple<Array, Array, Array> norm_backward(const Array& grad_y, const Array& input, const Array& mean,
                                              const Array& rstd, const Array* weight, int64_t cols, bool rms,
                                              bool need_weight_grad, bool need_bias_grad);

// Fused scaled-dot-product attention over [batch, heads, len, dim] (kv heads dividing heads);
// mask: additive, broadcastable to [batch, heads, L, S]. Forward: (out, logsumexp per row);
// backward: (grad_query, grad_key, grad_value). Dropout with probability p draws its mask from
// the dropout stream keyed (seed, offset), the same numbers dropout_mask gives for the
// [batch, heads, L, S] probabilities; the backward regenerates it from the same key.
struct AttentionDropout {
  double p = 0;
  uint64_t seed = 0, offset = 0;
};
std::pair<Array, Array> attention_forward(const Array& query, const Array& key, const Array& value, const Array* mask,
                                          double scale, bool causal, const AttentionDropout& dropout = {});
std::tuple<Array, Array, Array> attention_backward(const Array& grad_out, const Array& query, const Array& key,
                                                   const Array& value, const Array& out, const Array& lse,
                                                   const Array* mask, double scale, bool causal,
                                                   const AttentionDropout& dropout = {});

// One recurrent layer (LSTM, GRU or Elman RNN; kernel_params.h's RecurrentParams), one
// direction, whole sequence. x_gates: [steps, batch, NG * H], the input projection with the
// biases (the GRU's b_hn apart). Forward returns (h_all, c_all (LSTM; else empty), the saved
// gates (LSTM, GRU; else empty)). The backward returns (the gradient of x_gates, that of
// h W_hh^T + b_hh (the GRU's own; the same array otherwise), the gradients of h0 and c0).
// With batch_sizes (packed sequences), every per-step array is [rows, width] instead. Without
// save_steps (inference) the forward returns c_n [batch, H] in place of c_all, and no gates.
std::tuple<Array, Array, Array> recurrent_forward(RecurrentCell cell, const Array& x_gates, const Array& w_hh,
                                                  const Array* b_hn, const Array& h0, const Array* c0, bool reverse,
                                                  const std::vector<int64_t>* batch_sizes = nullptr,
                                                  bool save_steps = true);
std::tuple<Array, Array, Array, Array> recurrent_backward(RecurrentCell cell, const Array* grad_h_all,
                                                          const Array& grad_hn, const Array* grad_cn, const Array& w_hh,
                                                          const Array& h0, const Array& h_all, const Array* c0,
                                                          const Array* c_all, const Array* gates, bool reverse,
                                                          const std::vector<int64_t>* batch_sizes = nullptr);

// 2-D convolution (NCHW, symmetric zero padding). The input gradient is also a transposed
// convolution's forward, the input size then giving its output size (output_padding).
struct ConvOptions {
  std::array<int64_t, 2> stride, padding, dilation;
  int64_t groups;
};
Array conv2d_forward(const Array& input, const Array& weight, const Array* bias, const ConvOptions& options);
Array conv2d_backward_input(const Array& grad_output, const Array& weight, const std::array<int64_t, 4>& input_size,
                            const ConvOptions& options);
Array conv2d_backward_weight(const Array& grad_output, const Array& input, const std::array<int64_t, 4>& weight_size,
                             const ConvOptions& options);

// Max pooling over the last two dims of (N, C, H, W) with the caller's output size:
// (values, int64 flat positions in each H x W plane), and the input gradient from them.
struct MaxPoolOptions {
  std::array<int64_t, 2> kernel, stride, padding, dilation, out_size;
};
// Average pooling of [planes, H, W] over separable windows (kernel_params.h's AvgPoolParams):
// output (i, j) averages rows [row_start[i], row_end[i]) x columns [col_start[j], col_end[j])
// and divides by row_div[i] * col_div[j]. avg_pool2d and adaptive_avg_pool2d map onto it.
struct AvgPoolWindows {
  std::vector<int64_t> row_start, row_end, col_start, col_end;
  std::vector<double> row_div, col_div;
};
Array avg_pool2d_forward(const Array& planes, const AvgPoolWindows& windows);
Array avg_pool2d_backward(const Array& grad_output, const Shape& planes_shape, const AvgPoolWindows& windows);
std::pair<Array, Array> max_pool2d_forward(const Array& input, const MaxPoolOptions& options);
Array max_pool2d_backward(const Array& grad_output, const Array& indices, const Shape& input_shape,
                          const MaxPoolOptions& options);

// Batch normalisation per channel (dim 1) of (N, C, ...). Training computes the batch mean and
// 1/std; otherwise they are the given running values. Forward: (y, mean, invstd); backward:
// (grad_input, grad_weight, grad_bias), each empty when not asked for.
std::tuple<Array, Array, Array> batch_norm_forward(const Array& input, const Array* weight, const Array* bias,
                                                   const Array* running_mean, const Array* running_invstd,
                                                   double eps, bool training);
std::tuple<Array, Array, Array> batch_norm_backward(const Array& grad_output, const Array& input, const Array& mean,
                                                    const Array& invstd, const Array* weight, bool training,
                                                    bool need_input_grad, bool need_weight_grad, bool need_bias_grad);

struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled_weight_decay;
};
// steps: each parameter's step count after this step's increment
void adam_step_(const std::vector<Array>& params, const std::vector<Array>& grads, const std::vector<Array>& exp_avgs,
                const std::vector<Array>& exp_avg_sqs, const std::vector<Array>& max_exp_avg_sqs,
                const std::vector<double>& steps, const AdamOptions& options);

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
};
void sgd_step_(const std::vector<Array>& params, const std::vector<Array>& grads,
               const std::vector<Array>& momentum_buffers, const SgdOptions& options);

// activation(input @ weight^T + bias), weight [out_features, in_features]; bias may be null
Array linear(const Array& input, const Array& weight, const Array* bias, const std::string& activation);

}  // namespace heron
