// Max and average pooling (2-D) and batch normalisation entry points, float32/float64. heron.nn.functional
// normalises the arguments, computes the output size and raises torch's errors first; these
// checks guard the kernels. The composite twins are in heron.nn._pooling (pooling) and
// heron.nn.functional._batch_norm_composite.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

void check_float(const char* op, const Array& t) {
  HERON_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, NotImplemented, "[", op,
              "] the kernel takes float32 or float64, got ", dtype_name(t.dtype()));
}

void check_like(const char* op, const char* what, const Array& t, const Shape& shape, DType dtype) {
  HERON_CHECK(t.shape() == shape && t.dtype() == dtype, Runtime, "[", op, "] expected ", what, " of shape ",
              shape_str(shape), " in ", dtype_name(dtype), ", got ", shape_str(t.shape()), " in ",
              dtype_name(t.dtype()));
}

MaxPoolParams pool_params(const Shape& input, const MaxPoolOptions& o) {
  constexpr const char* op = "max_pool2d";
  HERON_CHECK(input.size() == 4, Shape, "[", op, "] expected a 4-D input, got ", shape_str(input));
  for (int i = 0; i < 2; ++i) {
    HERON_CHECK(o.kernel[i] > 0 && o.stride[i] > 0 && o.dilation[i] > 0 && o.padding[i] >= 0 &&
                    o.padding[i] * 2 <= o.kernel[i] && o.out_size[i] >= 0,
                Value, "[", op, "] invalid pooling options");
    // Every window must start inside the padded plane so that it sees at least one value.
    HERON_CHECK(o.out_size[i] == 0 || (o.out_size[i] - 1) * o.stride[i] - o.padding[i] < input[2 + i], Value, "[",
                op, "] output size ", o.out_size[i], " has windows starting past the input");
  }
  HERON_CHECK(input[2] * input[3] < (int64_t(1) << 31), NotImplemented, "[", op,
              "] planes of 2^31 elements or more are not supported, got ", shape_str(input));
  MaxPoolParams p{};
  p.planes = input[0] * input[1], p.in_h = input[2], p.in_w = input[3];
  p.out_h = o.out_size[0], p.out_w = o.out_size[1];
  p.kernel_h = o.kernel[0], p.kernel_w = o.kernel[1], p.stride_h = o.stride[0], p.stride_w = o.stride[1];
  p.pad_h = o.padding[0], p.pad_w = o.padding[1], p.dilation_h = o.dilation[0], p.dilation_w = o.dilation[1];
  return p;
}

// The separable windows of average pooling over [planes, in_h, in_w]: the kernel's parameters.
AvgPoolParams avg_pool_params(const Shape& planes, const AvgPoolWindows& w) {
  constexpr const char* op = "[avg_pool2d]";
  HERON_CHECK(planes.size() == 3, Shape, op, " expected [planes, height, width], got ", shape_str(planes));
  auto check_axis = [&](const std::vector<int64_t>& start, const std::vector<int64_t>& end, const std::vector<double>& div,
                        int64_t size, const char* axis) {
    HERON_CHECK(end.size() == start.size() && div.size() == start.size(), Value, op, " the ", axis,
                " windows need as many ends and divisors as starts");
    for (size_t i = 0; i < start.size(); ++i)
      HERON_CHECK(0 <= start[i] && start[i] <= end[i] && end[i] <= size, Value, op, " ", axis, " window ", i, " [",
                  start[i], ", ", end[i], ") is not within [0, ", size, ")");
  };
  check_axis(w.row_start, w.row_end, w.row_div, planes[1], "row");
  check_axis(w.col_start, w.col_end, w.col_div, planes[2], "column");
  AvgPoolParams p{};
  p.planes = planes[0], p.in_h = planes[1], p.in_w = planes[2];
  p.out_h = int64_t(w.row_start.size()), p.out_w = int64_t(w.col_start.size());
  p.row_start = w.row_start.data(), p.row_end = w.row_end.data(), p.row_div = w.row_div.data();
  p.col_start = w.col_start.data(), p.col_end = w.col_end.data(), p.col_div = w.col_div.data();
  return p;
}

}  // namespace

Array avg_pool2d_forward(const Array& planes, const AvgPoolWindows& windows) {
  check_float("avg_pool2d", planes);
  AvgPoolParams p = avg_pool_params(planes.shape(), windows);
  const Array x = contiguous(planes);
  Array y = Array::empty({p.planes, p.out_h, p.out_w}, x.dtype());
  if (y.numel() == 0) return y;
  p.dtype = x.dtype(), p.x = x.data(), p.y = y.data();
  avg_pool_stub.get_cpu()(p);
  return y;
}

Array avg_pool2d_backward(const Array& grad_output, const Shape& planes_shape, const AvgPoolWindows& windows) {
  check_float("avg_pool2d", grad_output);
  AvgPoolParams p = avg_pool_params(planes_shape, windows);
  check_like("avg_pool2d", "grad_output", grad_output, {p.planes, p.out_h, p.out_w}, grad_output.dtype());
  const Array g = contiguous(grad_output);
  Array grad_input = Array::empty(planes_shape, g.dtype());
  if (grad_input.numel() == 0) return grad_input;
  p.dtype = g.dtype(), p.grad_y = g.data(), p.grad_x = grad_input.data(), p.backward = true;
  avg_pool_stub.get_cpu()(p);
  return grad_input;
}

std::pair<Array, Array> max_pool2d_forward(const Array& input, const MaxPoolOptions& options) {
  check_float("max_pool2d", input);
  MaxPoolParams p = pool_params(input.shape(), options);
  HERON_CHECK((p.in_h > 0 && p.in_w > 0) || p.planes == 0, Value, "[max_pool2d] empty planes have no maximum");
  const Array x = contiguous(input);
  const Shape out_shape{input.size(0), input.size(1), p.out_h, p.out_w};
  Array y = Array::empty(out_shape, x.dtype()), indices = Array::empty(out_shape, DType::Int64);
  if (y.numel() == 0) return {y, indices};
  p.dtype = x.dtype(), p.x = x.data(), p.y = y.data(), p.indices = reinterpret_cast<int64_t*>(indices.data());
  max_pool_stub.get_cpu()(p);
  return {y, indices};
}

Array max_pool2d_backward(const Array& grad_output, const Array& indices, const Shape& input_shape,
                          const MaxPoolOptions& options) {
  check_float("max_pool2d", grad_output);
  MaxPoolParams p = pool_params(input_shape, options);
  const Shape out_shape{input_shape[0], input_shape[1], p.out_h, p.out_w};
  check_like("max_pool2d", "grad_output", grad_output, out_shape, grad_output.dtype());
  check_like("max_pool2d", "indices", indices, out_shape, DType::Int64);
  const Array g = contiguous(grad_output), idx = contiguous(indices);
  Array grad_input = Array::empty(input_shape, g.dtype());
  if (grad_input.numel() == 0) return grad_input;
  p.dtype = g.dtype(), p.grad_y = g.data(), p.saved_indices = reinterpret_cast<const int64_t*>(idx.data());
  p.grad_x = grad_input.data(), p.backward = true;
  max_pool_stub.get_cpu()(p);
  return grad_input;
}

std::tuple<Array, Array, Array> batch_norm_forward(const Array& input, const Array* weight, const Array* bias,
                                                   const Array* running_mean, const Array* running_invstd,
                                                   double eps, bool training) {
  constexpr const char* op = "batch_norm";
  check_float(op, input);
  HERON_CHECK(input.ndim() >= 2, Shape, "[batch_norm] expected an input with a channel dim, got ",
              shape_str(input.shape()));
  const int64_t channels = input.size(1);
  const Shape per_channel{channels};
  for (const Array* t : {weight, bias, running_mean, running_invstd})
    if (t) check_like(op, "per-channel values", *t, per_channel, input.dtype());
  HERON_CHECK(training || (running_mean && running_invstd), Runtime,
              "[batch_norm] evaluation needs the running mean and 1/std");
  const Array x = contiguous(input);
  const Array w = weight ? contiguous(*weight) : Array(), b = bias ? contiguous(*bias) : Array();
  Array y = Array::empty(x.shape(), x.dtype());
  Array mean = training ? Array::empty(per_channel, x.dtype()) : clone(*running_mean);
  Array invstd = training ? Array::empty(per_channel, x.dtype()) : clone(*running_invstd);
  if (x.numel() == 0) return {y, mean, invstd};
  BatchNormParams p{};
  p.x = x.data(), p.weight = weight ? w.data() : nullptr, p.bias = bias ? b.data() : nullptr;
  p.y = y.data(), p.mean = mean.data(), p.invstd = invstd.data();
  p.dtype = x.dtype(), p.batch = x.size(0), p.channels = channels, p.spatial = x.numel() / (p.batch * channels);
  p.eps = eps, p.training = training;
  batch_norm_stub.get_cpu()(p);
  return {y, mean, invstd};
}

std::tuple<Array, Array, Array> batch_norm_backward(const Array& grad_output, const Array& input, const Array& mean,
                                                    const Array& invstd, const Array* weight, bool training,
                                                    bool need_input_grad, bool need_weight_grad, bool need_bias_grad) {
  constexpr const char* op = "batch_norm";
  check_float(op, input);
  HERON_CHECK(input.ndim() >= 2, Shape, "[batch_norm] expected an input with a channel dim, got ",
              shape_str(input.shape()));
  const Shape per_channel{input.size(1)};
  check_like(op, "grad_output", grad_output, input.shape(), input.dtype());
  check_like(op, "mean", mean, per_channel, input.dtype());
  check_like(op, "invstd", invstd, per_channel, input.dtype());
  if (weight) check_like(op, "weight", *weight, per_channel, input.dtype());
  const Array x = contiguous(input), g = contiguous(grad_output), m = contiguous(mean), r = contiguous(invstd);
  const Array w = weight ? contiguous(*weight) : Array();
  Array dx = Array::empty(need_input_grad ? x.shape() : Shape{0}, x.dtype());
  Array dw = Array::empty({need_weight_grad ? per_channel[0] : 0}, x.dtype());
  Array db = Array::empty({need_bias_grad ? per_channel[0] : 0}, x.dtype());
  if (x.numel() == 0) {
    for (Array* t : {&dw, &db}) fill_(*t, Scalar::from_double(0));
    return {dx, dw, db};
  }
  BatchNormParams p{};
  p.x = x.data(), p.weight = weight ? w.data() : nullptr, p.mean = const_cast<char*>(m.data());
  p.invstd = const_cast<char*>(r.data()), p.grad_y = g.data();
  p.grad_x = need_input_grad ? dx.data() : nullptr;
  p.grad_weight = need_weight_grad ? dw.data() : nullptr, p.grad_bias = need_bias_grad ? db.data() : nullptr;
  p.dtype = x.dtype(), p.batch = x.size(0), p.channels = per_channel[0], p.spatial = x.numel() / (p.batch * p.channels);
  p.training = training, p.backward = true;
  batch_norm_stub.get_cpu()(p);
  return {dx, dw, db};
}

}  // namespace heron
