// Plain-data interfaces between the validating op entry points (core/ops) and the kernels
// (cpu/, cuda/). Kernels trust these: shapes, strides and indices are already checked.
// Only POD here, so kernel files compiled once per ISA share no inline code with the rest.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace heron {

constexpr int kMaxOperands = 4;
constexpr int kMaxDims = 64;

// N operands (outputs first) walked over one common shape. Dims are stored innermost
// first, already reordered and coalesced; strides are in bytes (0 for broadcast).
struct StridedIter {
  int nops = 0;
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxOperands][kMaxDims];
  char* data[kMaxOperands];
  DType dtype[kMaxOperands];
};

enum class UnaryOp : int32_t {
  Neg, Abs, Sign, Square, Reciprocal, Exp, Exp2, Log, Log2, Log10, Log1p, Expm1, Sqrt, Rsqrt,
  Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh, Erf, Erfc, Sigmoid,
  LogSigmoid, Relu, Relu6, Gelu, GeluTanh, Silu, Mish, Softplus, LeakyRelu, Elu, Selu, Hardtanh,
  Hardsigmoid, Hardswish, Clamp, Floor, Ceil, Round, Trunc, Frac, LogicalNot, BitwiseNot,
  IsNan, IsInf, IsFinite, Signbit, NanToNum,
  Count
};

enum class BinaryOp : int32_t {
  Add, Sub, Mul, Div, FloorDivide, Remainder, Fmod, Pow, Maximum, Minimum, Fmax, Fmin, Atan2,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, LogicalXor, BitwiseAnd, BitwiseOr, BitwiseXor,
  Hypot, Copysign, Xlogy,
  Count
};

// Row layout [outer, reduce, inner] in elements; output is contiguous [outer, inner].
enum class ReduceOp : int32_t { Sum, Prod, Max, Min, ArgMax, ArgMin, All, Any, Count };
struct ReduceParams {
  const char* in;
  char* out;         // values (or indices for ArgMax/ArgMin)
  char* out_index;   // Max/Min with indices: int64 indices, else null
  DType in_dtype;
  DType out_dtype;
  int64_t outer, reduce, inner;
  int64_t stride_outer, stride_reduce, stride_inner;  // in elements
};

// Contiguous [outer, dim, inner].
struct SoftmaxParams {
  const char* in;
  char* out;
  DType dtype;
  int64_t outer, dim, inner;
  bool log;
};

struct ScanParams {  // cumsum / cumprod over contiguous [outer, dim, inner]
  const char* in;
  char* out;
  DType dtype;
  int64_t outer, dim, inner;
  bool product;
};

// index_select / index_add over contiguous [outer, size, inner] arrays.
struct IndexParams {
  char* self;          // source for select, destination for add
  const char* other;   // output for select (written), source for add
  const int64_t* index;
  DType dtype;
  int64_t outer, self_size, index_size, inner;
  double alpha;
};

// gather/scatter: the iterator walks the index shape with operands
// (gather: out, index, src) or (scatter: self, index, src); the dim's own stride is zeroed in
// the iterator and given here in bytes.
struct GatherScatterParams {
  int64_t dim_stride;  // bytes, of src (gather) or self (scatter)
  int reduce;          // scatter: 0 assign, 1 add, 2 multiply; gather: unused
  bool src_is_scalar;
  double scalar;
};

struct SortParams {  // contiguous [outer, dim, inner]
  const char* in;
  char* values;
  int64_t* indices;
  DType dtype;
  int64_t outer, dim, inner;
  int64_t k;  // topk: number kept; sort: dim
  bool descending;
  bool stable;
};

struct PhiloxKey {
  uint64_t seed;
  uint64_t offset;  // in units of 4 x 32-bit draws
};

struct RandomParams {
  char* out;  // contiguous
  DType dtype;
  int64_t numel;
  PhiloxKey key;
  double a, b;  // uniform [a, b); normal mean a, std b; randint [a, b); bernoulli p = a
};

// What the GEMM applies to each finished tile of C, so Linear and addmm need no extra pass.
enum class GemmActivation : int32_t { None, Relu, Gelu, GeluTanh };

// C[b] = act(alpha * A[b] @ B[b] + beta * C[b] + bias), for every batch index b. Strides are
// in elements and may be anything (transposed and broadcast operands are read in place);
// C's columns are contiguous. beta == 0 means C is not read (it may hold garbage or NaN).
struct MatmulParams {
  const char* a;
  const char* b;
  char* c;
  const char* bias;  // n values (stride bias_stride) added to every row of C, or null
  DType dtype;       // Float32 or Float64, all operands
  int64_t m, n, k;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, bias_stride;
  double alpha, beta;
  GemmActivation activation;
  int batch_ndim;  // batch dims, outermost first; strides 0 where an operand is broadcast
  int64_t batch_shape[kMaxDims];
  int64_t a_batch_strides[kMaxDims], b_batch_strides[kMaxDims], c_batch_strides[kMaxDims];
};

// Cross-entropy of logit rows against class indices (no class weights): the forward writes
// each row's loss and log-sum-exp, the backward the gradient of the logits from the per-row
// upstream gradient (already divided by the count for a mean). Targets are validated.
struct CrossEntropyParams {
  const char* logits;     // [rows, classes] contiguous
  const int64_t* target;  // [rows]
  const char* grad_rows;  // backward: [rows]
  char* out;              // forward: loss [rows]; backward: grad of logits [rows, classes]
  char* lse;              // [rows]: written by the forward, read by the backward
  DType dtype;
  int64_t rows, classes, ignore_index;
  double label_smoothing;
  bool backward;
};

// LayerNorm / RMSNorm over the last `cols` elements of each of `rows` rows (all contiguous).
// The forward writes y and each row's mean (LayerNorm) and 1/std; the backward reads them
// and writes the input gradient and, when asked, the weight and bias gradients (summed over
// rows in fixed-size row chunks combined in order, so threads cannot change a bit).
struct NormParams {
  const char* x;
  const char* weight;  // [cols] or null
  const char* bias;    // [cols] or null (LayerNorm only)
  char* y;
  char* mean;  // [rows] (LayerNorm only)
  char* rstd;  // [rows]
  const char* grad_y;
  char* grad_x;
  char* grad_weight;  // null when not needed
  char* grad_bias;    // null when not needed
  DType dtype;
  int64_t rows, cols;
  double eps;
  bool rms, backward;
};

// Fused scaled-dot-product attention over [batch, heads, len, dim] tensors (all contiguous;
// heads is a multiple of kv_heads and query head h reads kv head h / (heads / kv_heads)).
// The forward writes out and each query row's log-sum-exp of the scaled, masked scores; the
// backward recomputes the probabilities from (q, k, lse) block by block and writes dq, dk, dv.
struct AttentionParams {
  const char* q;     // [batch, heads, q_len, head_dim]
  const char* k;     // [batch, kv_heads, kv_len, head_dim]
  const char* v;     // [batch, kv_heads, kv_len, value_dim]
  const char* mask;  // additive, element (b, h, i, j) at mask_strides . (b, h, i, j); or null
  int64_t mask_strides[4];  // in elements, 0 where the mask broadcasts
  char* out;         // [batch, heads, q_len, value_dim]
  char* lse;         // [batch, heads, q_len]; -inf for a row that sees no key
  const char* grad_out;        // backward: [batch, heads, q_len, value_dim]
  char *grad_q, *grad_k, *grad_v;
  DType dtype;
  int64_t batch, heads, kv_heads, q_len, kv_len, head_dim, value_dim;
  double scale;
  bool causal;  // row i sees keys j <= i (torch's top-left alignment)
  bool backward;
  // Dropout on the probabilities: element (b, h, i, j) is element ((b * heads + h) * q_len + i)
  // * kv_len + j of the dropout stream keyed (dropout_seed, dropout_offset) (cpu/philox.h);
  // off when dropout_p is 0. The backward regenerates the forward's mask from the same key.
  double dropout_p;
  uint64_t dropout_seed, dropout_offset;
};

// The recurrent cells that run their whole time loop in one kernel call.
enum class RecurrentCell : int32_t { Lstm, Gru, RnnTanh, RnnRelu };

// One recurrent layer (LSTM, GRU or Elman RNN) in one direction over a whole sequence (all
// contiguous, one dtype). With NG gates (LSTM 4, GRU 3, RNN 1) in torch's order (LSTM i, f, g,
// o; GRU r, z, n) and H hidden units, W_hh is [NG * H, H]. The forward writes h (and the LSTM's
// c) of every step and what the backward needs of the gates; the backward reads them and
// writes the gradient of every step's gate pre-activations.
struct RecurrentParams {
  RecurrentCell cell;
  const char* x_gates;     // [steps, batch, NG * H]: x_t W_ih^T + b_ih + b_hh (the GRU: without b_hn)
  const char* w_hh;        // [NG * H, H]
  const char* b_hn;        // GRU: the n gate's hidden bias [H] (inside r * (h W_hn^T + b_hn)), or null
  const char* h0;          // [batch, H]
  const char* c0;          // LSTM: [batch, H]
  char* gates;             // [steps, batch, 4H]: LSTM i, f, g, o activated; GRU r, z, n activated and
                           // h W_hn^T + b_hn; the RNN saves none (h_all is its activation)
  char* h_all;             // [steps, batch, H], by sequence index (also for reverse)
  char* c_all;             // LSTM: [steps, batch, H]
  // Forward only: keep every step's c and gates for the backward. Otherwise (inference) c_all
  // is one [batch, H] state that starts as c0 and is updated in place (ending as c_n), and
  // gates is one step's [batch, 4H] workspace.
  bool save_steps;
  const char* grad_h_all;  // backward: gradient of h_all, or null
  char* grad_gates;        // backward: [steps, batch, NG * H], the gradient of x_gates
  char* grad_hidden_gates; // backward, GRU: [steps, batch, 3H], the gradient of h W_hh^T + b_hh (its n
                           // part is r times that of x_gates); for the others grad_gates serves
  char* grad_h0;           // backward: holds the gradient of h_n on entry, of h0 on return
  char* grad_c0;           // backward, LSTM: holds the gradient of c_n on entry, of c0 on return
  // Packed sequences (a PackedSequence's batch sizes): the rows each time index holds, [steps],
  // non-increasing, the first = batch. The per-step arrays above then hold only those rows,
  // time index after time index ([total rows, .] instead of [steps, batch, .]); a row that
  // starts a sequence's recurrence (where the previous time index has fewer rows) reads h0 / c0.
  // Null: every time index holds the whole batch.
  const int64_t* batch_sizes;
  DType dtype;
  int64_t steps, batch, hidden;
  bool reverse;  // process the sequence from its last step to its first
  bool backward;
};

// 2-D convolution (cross-correlation, torch's conv2d) over NCHW tensors, all contiguous, one
// dtype. The three passes share the geometry:
//   Forward:        out = conv(input, weight) + bias          [batch, out_channels, out_h, out_w]
//   BackwardInput:  out = grad of input from grad_output      [batch, in_channels, in_h, in_w]
//                   (also the forward of a transposed convolution)
//   BackwardWeight: out = grad of weight from grad_output and input
//                                                 [out_channels, in_channels / groups, kh, kw]
// out_h = (in_h + 2 pad_h - dilation_h (kernel_h - 1) - 1) / stride_h + 1 may leave input rows
// unread at the bottom (their gradient is zero); likewise for widths.
enum class ConvPass : int32_t { Forward, BackwardInput, BackwardWeight };
struct ConvParams {
  const char* input;        // Forward, BackwardWeight
  const char* weight;       // Forward, BackwardInput
  const char* grad_output;  // BackwardInput, BackwardWeight
  const char* bias;         // Forward: [out_channels] or null
  char* out;
  DType dtype;
  int64_t batch, in_channels, out_channels, groups;
  int64_t in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  ConvPass pass;
};

// Max pooling over the last two dims of `planes` contiguous H x W planes. The forward writes
// each window's maximum (NaN wins, as in torch) and its flat position in the plane; the
// backward adds each output gradient at its position (positions outside the plane are skipped).
// Padding cells never win. Output sizes come from the caller (ceil_mode is decided there).
struct MaxPoolParams {
  const char* x;
  char* y;
  int64_t* indices;
  const char* grad_y;
  const int64_t* saved_indices;
  char* grad_x;
  DType dtype;
  int64_t planes, in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  bool backward;
};

// Average pooling of contiguous [planes, in_h, in_w] into [planes, out_h, out_w] over separable
// windows: output (i, j) averages rows [row_start[i], row_end[i]) x columns [col_start[j],
// col_end[j]) (clipped to the input) and divides the sum by row_div[i] * col_div[j].
// avg_pool2d (padding, ceil_mode, count_include_pad, divisor_override) and adaptive_avg_pool2d
// both map onto it. The backward spreads each grad_y / divisor over its window.
struct AvgPoolParams {
  const char* x;
  char* y;
  const char* grad_y;
  char* grad_x;
  DType dtype;
  int64_t planes, in_h, in_w, out_h, out_w;
  const int64_t *row_start, *row_end, *col_start, *col_end;
  const double *row_div, *col_div;
  bool backward;
};

// Batch normalisation of contiguous [batch, channels, spatial] data per channel. Training: the
// forward computes each channel's mean and 1/sqrt(biased var + eps) (written to mean/invstd);
// otherwise it reads them (the running statistics). The backward writes grad_x (through the
// batch statistics in training, else as a fixed affine map) and, when asked, the weight and
// bias gradients. Sums run per channel in a fixed order, in double.
struct BatchNormParams {
  const char* x;
  const char* weight;  // [channels] or null
  const char* bias;    // [channels] or null
  char* y;
  char* mean;    // [channels]
  char* invstd;  // [channels]
  const char* grad_y;
  char* grad_x;
  char* grad_weight;  // null when not needed
  char* grad_bias;    // null when not needed
  DType dtype;
  int64_t batch, channels, spatial;
  double eps;
  bool training, backward;
};

// One parameter tensor's optimizer update, in place (all tensors contiguous, one dtype). The
// arithmetic follows torch's single-tensor implementations operation by operation.
struct AdamParams {
  char* param;
  const char* grad;
  char* exp_avg;
  char* exp_avg_sq;
  char* max_exp_avg_sq;  // null unless amsgrad
  DType dtype;
  int64_t numel;
  double lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
  bool amsgrad, maximize, decoupled_weight_decay;
};

struct SgdParams {
  char* param;
  const char* grad;
  char* momentum_buffer;  // null when momentum == 0
  DType dtype;
  int64_t numel;
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;  // first_step: the buffer starts as the gradient
};

struct MultinomialParams {
  const double* probs;  // contiguous [rows, categories], validated
  int64_t* out;         // [rows, samples]
  int64_t rows, categories, samples;
  bool replacement;
  PhiloxKey key;
};

using UnaryKernel = void (*)(UnaryOp, const StridedIter&, double, double);
using BinaryKernel = void (*)(BinaryOp, const StridedIter&);
using CopyKernel = void (*)(const StridedIter&);
using WhereKernel = void (*)(const StridedIter&);
using ReduceKernel = void (*)(ReduceOp, const ReduceParams&);
using SoftmaxKernel = void (*)(const SoftmaxParams&);
using ScanKernel = void (*)(const ScanParams&);
using IndexSelectKernel = void (*)(const IndexParams&);
using IndexAddKernel = void (*)(const IndexParams&);
using GatherKernel = void (*)(const StridedIter&, const GatherScatterParams&);
using ScatterKernel = void (*)(const StridedIter&, const GatherScatterParams&);
using SortKernel = void (*)(const SortParams&);
using TopkKernel = void (*)(const SortParams&);
using RandomKernel = void (*)(int kind, const RandomParams&);  // kind: RandomKind
using MatmulKernel = void (*)(const MatmulParams&);
using ConvKernel = void (*)(const ConvParams&);
using MaxPoolKernel = void (*)(const MaxPoolParams&);
using AvgPoolKernel = void (*)(const AvgPoolParams&);
using BatchNormKernel = void (*)(const BatchNormParams&);
using NonzeroKernel = int64_t (*)(const bool* data, const int64_t* shape, int ndim, int64_t numel, int64_t* out);
using MultinomialKernel = void (*)(const MultinomialParams&);
using CrossEntropyKernel = void (*)(const CrossEntropyParams&);
using AdamKernel = void (*)(const AdamParams&);
using NormKernel = void (*)(const NormParams&);
using SgdKernel = void (*)(const SgdParams&);
using AttentionKernel = void (*)(const AttentionParams&);
using RecurrentKernel = void (*)(const RecurrentParams&);
using PeakKernel = double (*)(int threads);  // machine-limit microbenchmarks

// kDropoutMask: 1 / (1 - a) where the dropout stream (cpu/philox.h) keeps an element, else 0;
// p.key is the stream's key as given (one counter block per 4 elements).
enum RandomKind : int { kUniform = 0, kNormal = 1, kRandint = 2, kBernoulli = 3, kDropoutMask = 4 };

}  // namespace heron
