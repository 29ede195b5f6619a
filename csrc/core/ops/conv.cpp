// 2-D convolution entry points (NCHW, float32/float64): the forward and the two gradients,
// which also serve 1-D convolutions (height 1) and transposed convolutions (whose forward is
// a convolution's input gradient). heron.nn.functional normalises the arguments and raises
// torch's errors first; these checks guard the kernel. The composite twins are
// heron.nn._conv._conv2d_composite and _conv_transpose2d_composite.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

constexpr const char* kOp = "[conv2d]";

void check_operand(const char* what, const Array& t, DType dtype) {
  HERON_CHECK(t.ndim() == 4, Shape, kOp, " expected a 4-D ", what, ", got shape ", shape_str(t.shape()));
  HERON_CHECK(t.dtype() == dtype, Runtime, kOp, " expected ", what, " in ", dtype_name(dtype), ", got ",
              dtype_name(t.dtype()));
}

// Fills the geometry from the input and weight shapes and checks the options; out_h/out_w
// are the forward's output size.
ConvParams make_params(const Shape& input, const Shape& weight, DType dtype, const ConvOptions& o) {
  HERON_CHECK(dtype == DType::Float32 || dtype == DType::Float64, NotImplemented, kOp,
              " the kernel takes float32 or float64, got ", dtype_name(dtype));
  HERON_CHECK(input.size() == 4 && weight.size() == 4, Shape, kOp, " expected 4-D input and weight, got ",
              shape_str(input), " and ", shape_str(weight));
  HERON_CHECK(o.groups > 0, Value, kOp, " groups must be positive, got ", o.groups);
  for (int i = 0; i < 2; ++i) {
    HERON_CHECK(o.stride[i] > 0 && o.dilation[i] > 0, Runtime, kOp, " stride and dilation must be positive, got (",
                o.stride[0], ", ", o.stride[1], ") and (", o.dilation[0], ", ", o.dilation[1], ")");
    HERON_CHECK(o.padding[i] >= 0, Runtime, kOp, " negative padding is not supported, got (", o.padding[0], ", ",
                o.padding[1], ")");
  }
  HERON_CHECK(weight[0] % o.groups == 0 && weight[1] * o.groups == input[1] && weight[1] > 0, Shape, kOp,
              " weight ", shape_str(weight), " with groups=", o.groups, " does not fit input ", shape_str(input));
  ConvParams p{};
  p.dtype = dtype;
  p.batch = input[0], p.in_channels = input[1], p.in_h = input[2], p.in_w = input[3];
  p.out_channels = weight[0], p.groups = o.groups, p.kernel_h = weight[2], p.kernel_w = weight[3];
  p.stride_h = o.stride[0], p.stride_w = o.stride[1];
  p.pad_h = o.padding[0], p.pad_w = o.padding[1];
  p.dilation_h = o.dilation[0], p.dilation_w = o.dilation[1];
  const int64_t span_h = o.dilation[0] * (p.kernel_h - 1) + 1, span_w = o.dilation[1] * (p.kernel_w - 1) + 1;
  HERON_CHECK(p.in_h + 2 * p.pad_h >= span_h && p.in_w + 2 * p.pad_w >= span_w, Runtime, kOp,
              " the padded input (", p.in_h + 2 * p.pad_h, " x ", p.in_w + 2 * p.pad_w,
              ") is smaller than the dilated kernel (", span_h, " x ", span_w, ")");
  p.out_h = (p.in_h + 2 * p.pad_h - span_h) / p.stride_h + 1;
  p.out_w = (p.in_w + 2 * p.pad_w - span_w) / p.stride_w + 1;
  return p;
}

void check_grad_output(const Array& grad_output, const ConvParams& p) {
  check_operand("grad_output", grad_output, p.dtype);
  HERON_CHECK(grad_output.size(0) == p.batch && grad_output.size(1) == p.out_channels &&
                  grad_output.size(2) <= p.out_h && grad_output.size(3) <= p.out_w,
              Shape, kOp, " grad_output ", shape_str(grad_output.shape()), " does not fit the convolution's output [",
              p.batch, ", ", p.out_channels, ", ", p.out_h, ", ", p.out_w, "]");
}

Shape to_shape(const std::array<int64_t, 4>& s) { return Shape{s[0], s[1], s[2], s[3]}; }

}  // namespace

Array conv2d_forward(const Array& input, const Array& weight, const Array* bias, const ConvOptions& options) {
  check_operand("input", input, input.dtype());
  check_operand("weight", weight, input.dtype());
  ConvParams p = make_params(input.shape(), weight.shape(), input.dtype(), options);
  if (bias)
    HERON_CHECK(bias->ndim() == 1 && bias->size(0) == p.out_channels && bias->dtype() == p.dtype, Runtime, kOp,
                " expected a bias of ", p.out_channels, " ", dtype_name(p.dtype), " values, got ",
                shape_str(bias->shape()), " ", dtype_name(bias->dtype()));
  const Array x = contiguous(input), w = contiguous(weight), b = bias ? contiguous(*bias) : Array();
  Array out = Array::empty({p.batch, p.out_channels, p.out_h, p.out_w}, p.dtype);
  if (out.numel() == 0) return out;
  p.input = x.data(), p.weight = w.data(), p.bias = bias ? b.data() : nullptr, p.out = out.data();
  p.pass = ConvPass::Forward;
  conv_stub.get_cpu()(p);
  return out;
}

Array conv2d_backward_input(const Array& grad_output, const Array& weight, const std::array<int64_t, 4>& input_size,
                            const ConvOptions& options) {
  check_operand("weight", weight, grad_output.dtype());
  ConvParams p = make_params(to_shape(input_size), weight.shape(), grad_output.dtype(), options);
  check_grad_output(grad_output, p);
  p.out_h = grad_output.size(2), p.out_w = grad_output.size(3);  // rows past these get no gradient
  const Array dy = contiguous(grad_output), w = contiguous(weight);
  Array grad_input = Array::empty(to_shape(input_size), p.dtype);
  if (grad_input.numel() == 0) return grad_input;
  if (dy.numel() == 0) {
    fill_(grad_input, Scalar::from_double(0));
    return grad_input;
  }
  p.grad_output = dy.data(), p.weight = w.data(), p.out = grad_input.data();
  p.pass = ConvPass::BackwardInput;
  conv_stub.get_cpu()(p);
  return grad_input;
}

Array conv2d_backward_weight(const Array& grad_output, const Array& input, const std::array<int64_t, 4>& weight_size,
                             const ConvOptions& options) {
  check_operand("input", input, grad_output.dtype());
  ConvParams p = make_params(input.shape(), to_shape(weight_size), grad_output.dtype(), options);
  check_grad_output(grad_output, p);
  p.out_h = grad_output.size(2), p.out_w = grad_output.size(3);
  const Array dy = contiguous(grad_output), x = contiguous(input);
  Array grad_weight = Array::empty(to_shape(weight_size), p.dtype);
  if (grad_weight.numel() == 0) return grad_weight;
  p.grad_output = dy.data(), p.input = x.data(), p.out = grad_weight.data();
  p.pass = ConvPass::BackwardWeight;
  conv_stub.get_cpu()(p);
  return grad_weight;
}

}  // namespace heron
