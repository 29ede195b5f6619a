// The GEMM family: matmul (torch's rank rules: 1-d operands are promoted and the added dim
// removed, batch dims broadcast), addmm / _addmm_activation, baddbmm and linear. All of them
// validate here and then hand strided views to one kernel: transposed and broadcast operands
// are never copied. float16/bfloat16 compute in float32.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

DType compute_dtype(DType t) { return is_reduced_float(t) ? DType::Float32 : t; }

void check_gemm_dtypes(const char* op, const Array& a, const Array& b) {
  HERON_CHECK(a.dtype() == b.dtype(), Runtime, "[", op, "] expected both operands to have the same dtype, but got ",
              dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  HERON_CHECK(is_floating(a.dtype()), NotImplemented, "[", op, "] \"", op, "\" not implemented for '", dtype_name(a.dtype()),
              "' (heron's GEMM supports floating-point types)");
}

void check_inner(const char* op, int64_t m, int64_t k, int64_t k2, int64_t n, const Array& a, const Array& b) {
  HERON_CHECK(k == k2, Shape, "[", op, "] mat1 and mat2 shapes cannot be multiplied (", m, "x", k, " and ", k2, "x", n,
              "): operand shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()));
}

// Batch dims of a [batch..., m, k] operand can join m when all its rows then lie one stride
// apart; sets that row stride. Dims of size 1 have arbitrary strides and are skipped (an m of
// 1 leaves the stride to the first batch dim that is not 1).
bool rows_run_on(const Array& x, int64_t& row_stride) {
  const int64_t nd = x.ndim();
  row_stride = x.strides()[nd - 2];
  bool fixed = x.size(nd - 2) != 1;
  int64_t rows = x.size(nd - 2);
  for (int64_t d = nd - 3; d >= 0; --d) {
    if (x.size(d) == 1) continue;
    if (!fixed) row_stride = x.strides()[d] / rows, fixed = true;  // rows == 1 here
    if (x.strides()[d] != row_stride * rows) return false;
    rows *= x.size(d);
  }
  return true;
}

// c = act(alpha * x @ y + beta * c + bias) for x [batch..., m, k], y [batch..., k, n] (same
// batch shape, broadcast dims with stride 0), c contiguous [batch..., m, n], all of one dtype.
void gemm_into(const Array& c, const Array& x, const Array& y, double alpha, double beta, const Array* bias,
               GemmActivation act) {
  if (c.numel() == 0) return;
  const int64_t nd = x.ndim();
  MatmulParams p{};
  p.a = x.data(), p.b = y.data(), p.c = c.data();
  p.dtype = c.dtype();
  p.m = x.size(nd - 2), p.k = x.size(nd - 1), p.n = y.size(nd - 1);
  p.a_rs = x.strides()[nd - 2], p.a_cs = x.strides()[nd - 1];
  p.b_rs = y.strides()[nd - 2], p.b_cs = y.strides()[nd - 1];
  p.c_rs = p.n;
  p.alpha = alpha, p.beta = beta, p.activation = act;
  if (bias) p.bias = bias->data(), p.bias_stride = bias->ndim() ? bias->strides()[0] : 0;
  // One B for the whole batch and A's rows running on across batch entries: a single taller
  // product (x @ W for a [batch, seq, features] input) packs B once and threads better.
  bool shared_b = true;
  for (int64_t d = 0; d + 2 < nd; ++d) shared_b = shared_b && (y.size(d) == 1 || y.strides()[d] == 0);
  int64_t row_stride = 0;
  if (nd > 2 && shared_b && rows_run_on(x, row_stride)) {
    p.m = c.numel() / p.n;
    p.a_rs = row_stride;
  } else {
    p.batch_ndim = int(nd - 2);
    for (int64_t d = 0; d + 2 < nd; ++d) {
      p.batch_shape[d] = c.size(d);
      p.a_batch_strides[d] = x.strides()[d], p.b_batch_strides[d] = y.strides()[d], p.c_batch_strides[d] = c.strides()[d];
    }
  }
  matmul_stub.get_cpu()(p);
}

GemmActivation parse_activation(const std::string& name, const char* op) {
  if (name.empty() || name == "none") return GemmActivation::None;
  if (name == "relu") return GemmActivation::Relu;
  if (name == "gelu") return GemmActivation::Gelu;
  if (name == "gelu_tanh") return GemmActivation::GeluTanh;
  fail(ErrorKind::Value, "[", op, "] unknown activation '", name, "' (expected none, relu, gelu or gelu_tanh)");
}

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

}  // namespace

Array matmul(const Array& a, const Array& b) {
  HERON_CHECK(a.ndim() > 0 && b.ndim() > 0, Runtime, "[matmul] both arguments to matmul need to be at least 1D, but they are ",
              a.ndim(), "D and ", b.ndim(), "D");
  check_gemm_dtypes("matmul", a, b);
  Array x = a.ndim() == 1 ? a.unsqueeze(0) : a;
  Array y = b.ndim() == 1 ? b.unsqueeze(1) : b;
  const int64_t m = x.size(x.ndim() - 2), k = x.size(x.ndim() - 1);
  const int64_t k2 = y.size(y.ndim() - 2), n = y.size(y.ndim() - 1);
  check_inner("matmul", m, k, k2, n, a, b);
  Shape xb(x.shape().begin(), x.shape().end() - 2), yb(y.shape().begin(), y.shape().end() - 2);
  Shape batch = broadcast_shapes(xb, yb, "matmul");
  shape_numel(batch, "matmul");
  const DType ct = compute_dtype(a.dtype());
  Array c = Array::empty(with_matrix(batch, m, n), ct);
  gemm_into(c, cast(x, ct).expand(with_matrix(batch, m, k)), cast(y, ct).expand(with_matrix(batch, k, n)), 1.0, 0.0,
            nullptr, GemmActivation::None);
  Array out = cast(c, a.dtype());
  if (a.ndim() == 1) out = out.squeeze({out.ndim() - 2});
  if (b.ndim() == 1) out = out.squeeze({out.ndim() - 1});
  return out;
}

Array addmm(const Array& input, const Array& mat1, const Array& mat2, double beta, double alpha,
            const std::string& activation) {
  const GemmActivation act = parse_activation(activation, "addmm");
  HERON_CHECK(mat1.ndim() == 2, Runtime, "[addmm] mat1 must be a matrix, got ", mat1.ndim(), "-D tensor");
  HERON_CHECK(mat2.ndim() == 2, Runtime, "[addmm] mat2 must be a matrix, got ", mat2.ndim(), "-D tensor");
  check_gemm_dtypes("addmm", mat1, mat2);
  check_gemm_dtypes("addmm", input, mat1);
  const int64_t m = mat1.size(0), k = mat1.size(1), n = mat2.size(1);
  check_inner("addmm", m, k, mat2.size(0), n, mat1, mat2);
  const Shape out_shape{m, n};
  HERON_CHECK(input.ndim() <= 2 && broadcast_shapes(input.shape(), out_shape, "addmm") == out_shape, Shape,
              "[addmm] the input of shape ", shape_str(input.shape()), " cannot be broadcast to the product's shape ",
              shape_str(out_shape));
  const DType ct = compute_dtype(mat1.dtype());
  Array c = Array::empty(out_shape, ct);
  Array bias;
  // A row vector added with beta == 1 (Linear's bias) goes into the epilogue; anything else
  // is copied into C first and scaled by beta in the kernel.
  const bool row_bias = beta == 1.0 && input.numel() == n && (input.ndim() == 1 || (input.ndim() == 2 && input.size(0) == 1));
  if (row_bias) {
    bias = cast(input, ct).view(Shape{n});
    beta = 0.0;
  } else if (beta != 0.0) {
    copy_(c, input, "addmm");
  }
  gemm_into(c, cast(mat1, ct), cast(mat2, ct), alpha, beta, row_bias ? &bias : nullptr, act);
  return cast(c, mat1.dtype());
}

Array baddbmm(const Array& input, const Array& batch1, const Array& batch2, double beta, double alpha) {
  HERON_CHECK(batch1.ndim() == 3, Runtime, "[baddbmm] batch1 must be a 3D tensor, got ", batch1.ndim(), "D");
  HERON_CHECK(batch2.ndim() == 3, Runtime, "[baddbmm] batch2 must be a 3D tensor, got ", batch2.ndim(), "D");
  check_gemm_dtypes("baddbmm", batch1, batch2);
  check_gemm_dtypes("baddbmm", input, batch1);
  const int64_t nb = batch1.size(0), m = batch1.size(1), k = batch1.size(2), n = batch2.size(2);
  HERON_CHECK(batch2.size(0) == nb, Runtime, "[baddbmm] batch1 and batch2 must have same number of batches, got ", nb,
              " and ", batch2.size(0));
  check_inner("baddbmm", m, k, batch2.size(1), n, batch1, batch2);
  const Shape out_shape{nb, m, n};
  HERON_CHECK(input.ndim() <= 3 && broadcast_shapes(input.shape(), out_shape, "baddbmm") == out_shape, Shape,
              "[baddbmm] the input of shape ", shape_str(input.shape()), " cannot be broadcast to the product's shape ",
              shape_str(out_shape));
  const DType ct = compute_dtype(batch1.dtype());
  Array c = Array::empty(out_shape, ct);
  if (beta != 0.0) copy_(c, input, "baddbmm");
  gemm_into(c, cast(batch1, ct), cast(batch2, ct), alpha, beta, nullptr, GemmActivation::None);
  return cast(c, batch1.dtype());
}

Array linear(const Array& input, const Array& weight, const Array* bias, const std::string& activation) {
  const GemmActivation act = parse_activation(activation, "linear");
  HERON_CHECK(input.ndim() >= 1, Runtime, "[linear] input must be at least 1D, got a 0D tensor");
  HERON_CHECK(weight.ndim() == 2, Runtime, "[linear] weight must be a matrix of shape (out_features, in_features), got ",
              shape_str(weight.shape()));
  check_gemm_dtypes("linear", input, weight);
  Array x = input.ndim() == 1 ? input.unsqueeze(0) : input;
  const int64_t nd = x.ndim(), m = x.size(nd - 2), k = x.size(nd - 1), n = weight.size(0);
  check_inner("linear", x.numel() / std::max<int64_t>(k, 1), k, weight.size(1), n, input, weight);
  if (bias) {
    check_gemm_dtypes("linear", input, *bias);
    HERON_CHECK(bias->ndim() <= 1 && bias->numel() == n, Shape, "[linear] bias of shape ", shape_str(bias->shape()),
                " does not match out_features=", n);
  }
  const DType ct = compute_dtype(input.dtype());
  Shape batch(x.shape().begin(), x.shape().end() - 2);
  Array c = Array::empty(with_matrix(batch, m, n), ct);
  Array b;
  if (bias) b = cast(*bias, ct).view(Shape{n});
  gemm_into(c, cast(x, ct), cast(weight, ct).transpose(0, 1).expand(with_matrix(batch, k, n)), 1.0, 0.0,
            bias ? &b : nullptr, act);
  Array out = cast(c, input.dtype());
  return input.ndim() == 1 ? out.squeeze({0}) : out;
}

}  // namespace heron
