// Creation, copies and casts, and the elementwise op entry points.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dispatch.h"
#include "core/dtype_dispatch.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops/iter.h"

namespace heron {

static DType g_default_float = DType::Float32;
DType default_float_dtype() { return g_default_float; }
void set_default_float_dtype(DType t) {
  HERON_CHECK(t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16,
              Type, "[set_default_dtype] only floating-point types are supported as the default type");
  g_default_float = t;
}

Array scalar_array(const Scalar& s, DType dtype) {
  Array out = Array::empty({}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Integers keep their exact value (int64 beyond 2^53); floats are truncated as C++ does.
      v = s.kind == Scalar::Float ? (std::isfinite(s.d) ? T(int64_t(s.d)) : T(0)) : T(s.i);
    } else {
      v = from_double<T>(s.kind == Scalar::Float ? s.d : double(s.i));
    }
    std::memcpy(out.data(), &v, sizeof(T));
  });
  return out;
}

Scalar item(const Array& a) {
  HERON_CHECK(a.numel() == 1, Runtime, "[item] a Tensor with ", a.numel(),
              " elements cannot be converted to Scalar");
  Scalar s;
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, a.data(), sizeof(T));
    if constexpr (std::is_same_v<T, bool>) s = Scalar::from_bool(v);
    else if constexpr (std::is_integral_v<T>) s = Scalar::from_int(int64_t(v));
    else s = Scalar::from_double(to_double(v));
  });
  return s;
}

void copy_(const Array& dst, const Array& src, const char* op) {
  HERON_CHECK(dst.device() == src.device(), Runtime, "[", op, "] expected both tensors on the same device");
  if (src.shape() != dst.shape()) {
    Shape b = broadcast_shapes(dst.shape(), src.shape(), op);
    HERON_CHECK(b == dst.shape(), Shape, "[", op, "] source of shape ", shape_str(src.shape()),
                " cannot be broadcast to destination of shape ", shape_str(dst.shape()));
  }
  dst.bump_version();
  if (dst.numel() == 0) return;
  if (src.dtype() == dst.dtype() && src.shape() == dst.shape() && src.is_contiguous() &&
      dst.is_contiguous()) {
    if (src.data() != dst.data()) std::memmove(dst.data(), src.data(), size_t(dst.numel() * dst.itemsize()));
    return;
  }
  copy_stub.get_cpu()(make_iter({dst, src}, op));
}

Array operand_as(const Operand& o, DType dtype) {
  if (o.wrapped && o.array.dtype() != dtype) return scalar_array(o.scalar, dtype);
  return cast(o.array, dtype);
}

Array cast(const Array& a, DType dtype) {
  if (a.dtype() == dtype) return a;
  Array out = Array::empty(a.shape(), dtype, a.device());
  copy_(out, a, "to");
  return out;
}

Array contiguous(const Array& a) { return a.is_contiguous() ? a : clone(a); }

Array clone(const Array& a) {
  Array out = Array::empty(a.shape(), a.dtype(), a.device());
  copy_(out, a, "clone");
  return out;
}

Array reshape(const Array& a, const Shape& shape) {
  Shape target = infer_size(shape, a.numel(), "reshape");
  Strides st;
  if (compute_view_strides(a.shape(), a.strides(), target, &st))
    return Array(a.storage(), target, st, a.offset(), a.dtype());
  return clone(a).view(target);
}

void fill_(const Array& dst, const Scalar& value) { copy_(dst, scalar_array(value, dst.dtype()), "fill_"); }

Array full(const Shape& shape, const Scalar& value, DType dtype) {
  Array out = Array::empty(shape, dtype);
  fill_(out, value);
  return out;
}

Array arange(double start, double end, double step, DType dtype) {
  HERON_CHECK(step != 0, Runtime, "[arange] step must be nonzero");
  HERON_CHECK(std::isfinite(start) && std::isfinite(end), Runtime, "[arange] unsupported range: ", start, " -> ", end);
  HERON_CHECK((step > 0 && end >= start) || (step < 0 && end <= start), Runtime,
              "[arange] upper bound and larger bound inconsistent with step sign");
  double len = std::ceil((end - start) / step);
  HERON_CHECK(len < double(std::numeric_limits<int64_t>::max() / 16), Memory, "[arange] too many elements: ", len);
  int64_t n = int64_t(len);
  Array out = Array::empty({n}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data_as<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = from_double<T>(start + double(i) * step);
  });
  return out;
}

Array linspace(double start, double end, int64_t steps, DType dtype) {
  HERON_CHECK(steps >= 0, Runtime, "[linspace] number of steps must be non-negative");
  Array out = Array::empty({steps}, dtype);
  double step = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
  int64_t half = steps / 2;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data_as<T>();
    // Same symmetric formula as torch so both ends are exact.
    for (int64_t i = 0; i < steps; ++i)
      p[i] = from_double<T>(steps == 1 ? start
                                       : (i < half ? start + step * double(i) : end - step * double(steps - i - 1)));
  });
  return out;
}

// ---------------------------------------------------------------- unary

enum class UnaryKind { IntToFloat, FloatOnly, Same, SameNoBool, BoolOut, IntegralOnly };

static UnaryKind unary_kind(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Exp2: case UnaryOp::Log: case UnaryOp::Log2: case UnaryOp::Log10:
    case UnaryOp::Log1p: case UnaryOp::Expm1: case UnaryOp::Sqrt: case UnaryOp::Rsqrt: case UnaryOp::Sin:
    case UnaryOp::Cos: case UnaryOp::Tan: case UnaryOp::Asin: case UnaryOp::Acos: case UnaryOp::Atan:
    case UnaryOp::Sinh: case UnaryOp::Cosh: case UnaryOp::Tanh: case UnaryOp::Asinh: case UnaryOp::Acosh:
    case UnaryOp::Atanh: case UnaryOp::Erf: case UnaryOp::Erfc: case UnaryOp::Sigmoid:
    case UnaryOp::Reciprocal:
      return UnaryKind::IntToFloat;
    case UnaryOp::LogSigmoid: case UnaryOp::Gelu: case UnaryOp::GeluTanh: case UnaryOp::Silu:
    case UnaryOp::Mish: case UnaryOp::Softplus: case UnaryOp::LeakyRelu: case UnaryOp::Elu:
    case UnaryOp::Selu: case UnaryOp::Hardsigmoid: case UnaryOp::Hardswish: case UnaryOp::Frac:
      return UnaryKind::FloatOnly;
    case UnaryOp::Sign: case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round: case UnaryOp::Trunc:
    case UnaryOp::NanToNum:
      return UnaryKind::Same;
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Square: case UnaryOp::Relu: case UnaryOp::Relu6:
    case UnaryOp::Hardtanh: case UnaryOp::Clamp:
      return UnaryKind::SameNoBool;
    case UnaryOp::LogicalNot: case UnaryOp::IsNan: case UnaryOp::IsInf: case UnaryOp::IsFinite:
    case UnaryOp::Signbit:
      return UnaryKind::BoolOut;
    case UnaryOp::BitwiseNot:
      return UnaryKind::IntegralOnly;
    case UnaryOp::Count: break;
  }
  return UnaryKind::Same;
}

static const char* unary_name(UnaryOp op) {
  static const char* names[] = {
      "neg", "abs", "sign", "square", "reciprocal", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1",
      "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
      "atanh", "erf", "erfc", "sigmoid", "logsigmoid", "relu", "relu6", "gelu", "gelu", "silu", "mish",
      "softplus", "leaky_relu", "elu", "selu", "hardtanh", "hardsigmoid", "hardswish", "clamp", "floor",
      "ceil", "round", "trunc", "frac", "logical_not", "bitwise_not", "isnan", "isinf", "isfinite",
      "signbit", "nan_to_num"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(UnaryOp::Count), "unary names");
  return names[int(op)];
}

DType unary_result_dtype(UnaryOp op, DType in) {
  const char* name = unary_name(op);
  switch (unary_kind(op)) {
    case UnaryKind::IntToFloat: return is_floating(in) ? in : default_float_dtype();
    case UnaryKind::FloatOnly:
      HERON_CHECK(is_floating(in), NotImplemented, "[", name, "] \"", name, "\" not implemented for '", dtype_name(in),
                  "': expected a floating-point tensor");
      return in;
    case UnaryKind::SameNoBool:
      if (op == UnaryOp::Square && in == DType::Bool) return DType::Int64;
      if (op == UnaryOp::Relu)
        HERON_CHECK(in != DType::Bool, Runtime, "[relu] Boolean inputs not supported for relu");
      if (op == UnaryOp::Neg)
        HERON_CHECK(in != DType::Bool, Runtime, "[neg] Negation, the `-` operator, on a bool tensor is not supported. "
                    "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
      HERON_CHECK(in != DType::Bool, NotImplemented, "[", name, "] \"", name, "\" not implemented for 'bool'");
      return in;
    case UnaryKind::BoolOut: return DType::Bool;
    case UnaryKind::IntegralOnly:
      HERON_CHECK(!is_floating(in), NotImplemented, "[", name, "] \"", name, "\" not implemented for '", dtype_name(in),
                  "': expected an integer or bool tensor");
      return in;
    case UnaryKind::Same: return in;
  }
  return in;
}

static DType compute_dtype(DType t) { return is_reduced_float(t) ? DType::Float32 : t; }

Array unary(UnaryOp op, const Array& a, double p0, double p1) {
  DType out_dtype = unary_result_dtype(op, a.dtype());
  bool bool_out = unary_kind(op) == UnaryKind::BoolOut;
  DType in_ct = compute_dtype(bool_out ? a.dtype() : out_dtype);
  DType out_ct = bool_out ? DType::Bool : in_ct;
  Array x = cast(a, in_ct);
  Array out = Array::empty(a.shape(), out_ct, a.device());
  if (out.numel() > 0) unary_stub.get_cpu()(op, make_iter({out, x}, unary_name(op)), p0, p1);
  return cast(out, out_dtype);
}

void unary_(UnaryOp op, const Array& a, double p0, double p1) {
  DType out_dtype = unary_result_dtype(op, a.dtype());
  HERON_CHECK(out_dtype == a.dtype(), Runtime, "[", unary_name(op), "_] result type ", dtype_name(out_dtype),
              " can't be cast to the desired output type ", dtype_name(a.dtype()));
  a.bump_version();
  if (a.numel() == 0) return;
  if (compute_dtype(a.dtype()) == a.dtype() && unary_kind(op) != UnaryKind::BoolOut) {
    unary_stub.get_cpu()(op, make_iter({a, a}, unary_name(op)), p0, p1);
  } else {
    copy_(a, unary(op, a, p0, p1), unary_name(op));
  }
}

// ---------------------------------------------------------------- binary

static const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow",
                                "maximum", "minimum", "fmax", "fmin", "atan2", "eq", "ne", "lt", "le", "gt",
                                "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and",
                                "bitwise_or", "bitwise_xor", "hypot", "copysign", "xlogy"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(BinaryOp::Count), "binary names");
  return names[int(op)];
}

static bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }
static bool is_logical(BinaryOp op) { return op >= BinaryOp::LogicalAnd && op <= BinaryOp::LogicalXor; }
static bool is_bitwise(BinaryOp op) { return op >= BinaryOp::BitwiseAnd && op <= BinaryOp::BitwiseXor; }
static bool float_result(BinaryOp op) {
  return op == BinaryOp::Div || op == BinaryOp::Atan2 || op == BinaryOp::Hypot || op == BinaryOp::Copysign ||
         op == BinaryOp::Xlogy;
}

static OperandKind kind_of(const Operand& o) {
  if (o.wrapped) return OperandKind::WrappedNumber;
  return o.array.ndim() == 0 ? OperandKind::ZeroDim : OperandKind::Dimensioned;
}

static DType common_dtype(const Operand& a, const Operand& b) {
  ResultTypeState st;
  st.add(a.array.dtype(), kind_of(a));
  st.add(b.array.dtype(), kind_of(b));
  return st.result(default_float_dtype());
}

DType binary_result_dtype(BinaryOp op, const Operand& a, const Operand& b) {
  if (is_comparison(op) || is_logical(op)) return DType::Bool;
  DType common = common_dtype(a, b);
  const char* name = binary_name(op);
  if (float_result(op)) return is_floating(common) ? common : default_float_dtype();
  if (is_bitwise(op))
    HERON_CHECK(!is_floating(common), NotImplemented, "[", name, "] \"", name, "\" not implemented for '",
                dtype_name(common), "'");
  if (op == BinaryOp::Sub) {
    HERON_CHECK(common != DType::Bool, Runtime,
                "[sub] Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                "`logical_xor()` operator instead.");
    bool any_bool = a.array.dtype() == DType::Bool || b.array.dtype() == DType::Bool;  // Python True counts too
    HERON_CHECK(!any_bool, Runtime,
                "[sub] Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                "invert a mask, use the `~` or `logical_not()` operator instead.");
  }
  return common;
}

// Dtype the kernel computes in, and the dtype its output buffer has.
static void binary_kernel_dtypes(BinaryOp op, const Operand& a, const Operand& b, DType result, DType* in_ct,
                                 DType* out_ct) {
  if (is_logical(op)) {
    *in_ct = DType::Bool;
    *out_ct = DType::Bool;
  } else if (is_comparison(op)) {
    *in_ct = compute_dtype(common_dtype(a, b));
    *out_ct = DType::Bool;
  } else {
    *in_ct = compute_dtype(result);
    *out_ct = *in_ct;
  }
}

// Integer division by zero would raise SIGFPE inside the kernel: refuse it here, as torch does.
static void check_integer_division(BinaryOp op, DType ct, const Array& divisor) {
  if (is_floating(ct) || !(op == BinaryOp::FloorDivide || op == BinaryOp::Remainder || op == BinaryOp::Fmod))
    return;
  Array zero = binary(BinaryOp::Eq, Operand::tensor(divisor), Operand::number(Scalar::from_int(0)));
  Array any = reduce(ReduceOp::Any, zero, {}, false);
  HERON_CHECK(!item(any).i, Runtime, "[", binary_name(op), "] ZeroDivisionError: integer division by zero");
}

static void check_devices(const Array& a, const Array& b, const char* op) {
  HERON_CHECK(a.device() == b.device(), Runtime, "[", op,
              "] Expected all tensors to be on the same device, but found at least two devices");
}

Array binary(BinaryOp op, const Operand& a, const Operand& b) {
  const char* name = binary_name(op);
  check_devices(a.array, b.array, name);
  DType result = binary_result_dtype(op, a, b);
  DType in_ct, out_ct;
  binary_kernel_dtypes(op, a, b, result, &in_ct, &out_ct);
  Shape shape = broadcast_shapes(a.array.shape(), b.array.shape(), name);
  Array x = operand_as(a, in_ct), y = operand_as(b, in_ct);
  check_integer_division(op, in_ct, y);
  Array out = Array::empty(shape, out_ct, a.array.device());
  if (out.numel() > 0) binary_stub.get_cpu()(op, make_iter({out, x, y}, name));
  return cast(out, result);
}

void binary_(BinaryOp op, const Array& self, const Operand& other) {
  const char* name = binary_name(op);
  check_devices(self, other.array, name);
  Operand me = Operand::tensor(self);
  DType result = binary_result_dtype(op, me, other);
  HERON_CHECK(promote_types(result, self.dtype()) == self.dtype() || is_comparison(op) || is_logical(op), Runtime,
              "[", name, "_] result type ", dtype_name(result), " can't be cast to the desired output type ",
              dtype_name(self.dtype()));
  Shape shape = broadcast_shapes(self.shape(), other.array.shape(), name);
  HERON_CHECK(shape == self.shape(), Shape, "[", name, "_] output with shape ", shape_str(self.shape()),
              " doesn't match the broadcast shape ", shape_str(shape));
  DType in_ct, out_ct;
  binary_kernel_dtypes(op, me, other, result, &in_ct, &out_ct);
  if (in_ct == self.dtype() && out_ct == self.dtype()) {
    Array y = operand_as(other, in_ct);
    check_integer_division(op, in_ct, y);
    self.bump_version();
    if (self.numel() > 0) binary_stub.get_cpu()(op, make_iter({self, self, y}, name));
  } else {
    copy_(self, binary(op, me, other), name);
  }
}

Array where(const Array& cond, const Operand& a, const Operand& b) {
  HERON_CHECK(cond.dtype() == DType::Bool, Runtime,
              "[where] where expected condition to be a boolean tensor, but got a tensor with dtype ",
              dtype_name(cond.dtype()));
  check_devices(cond, a.array, "where");
  check_devices(cond, b.array, "where");
  DType result = common_dtype(a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.array.shape(), "where"), b.array.shape(), "where");
  Array out = Array::empty(shape, result, cond.device());
  Array x = operand_as(a, result), y = operand_as(b, result);
  if (out.numel() > 0) where_stub.get_cpu()(make_iter({out, cond, x, y}, "where"));
  return out;
}

}  // namespace heron
