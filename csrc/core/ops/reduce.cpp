// Reductions, softmax and scans.
#include <algorithm>

#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {

static const char* reduce_name(ReduceOp op) {
  static const char* names[] = {"sum", "prod", "amax", "amin", "argmax", "argmin", "all", "any"};
  return names[int(op)];
}

static std::vector<bool> reduced_mask(const Array& a, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> mask(size_t(a.ndim()), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, a.ndim(), op);
    if (a.ndim() == 0) continue;
    HERON_CHECK(!mask[w], Runtime, "[", op, "] dim ", w, " appears multiple times in the list of dims");
    mask[w] = true;
  }
  return mask;
}

static Shape reduced_shape(const Array& a, const std::vector<bool>& mask, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < a.ndim(); ++d) {
    if (!mask[d]) out.push_back(a.shape()[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Lays `x` out as [outer, reduce, inner] for the kernel, copying only when the reduced dims
// are not one block of a contiguous array.
static ReduceParams layout(Array& x, const std::vector<bool>& mask) {
  ReduceParams p{};
  int64_t nd = x.ndim();
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < nd; ++d)
    if (mask[d]) {
      if (first < 0) first = d;
      last = d;
    }
  bool block = first >= 0;
  for (int64_t d = first; block && d <= last; ++d) block = mask[d];
  if (!(block && x.is_contiguous())) {
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < nd; ++d) if (!mask[d]) perm.push_back(d);
    for (int64_t d = 0; d < nd; ++d) if (mask[d]) perm.push_back(d);
    x = contiguous(x.permute(perm));
    first = nd - int64_t(std::count(mask.begin(), mask.end(), true));
    last = nd - 1;
  }
  p.outer = p.reduce = p.inner = 1;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t s = x.shape()[d];
    if (d < first) p.outer *= s;
    else if (d <= last) p.reduce *= s;
    else p.inner *= s;
  }
  if (first < 0) p.reduce = 1;  // 0-d input
  p.stride_inner = 1;
  p.stride_reduce = p.inner;
  p.stride_outer = p.reduce * p.inner;
  p.in = x.data();
  p.in_dtype = x.dtype();
  return p;
}

Array reduce(ReduceOp op, const Array& a, std::vector<int64_t> dims, bool keepdim, std::optional<DType> dtype) {
  const char* name = reduce_name(op);
  std::vector<bool> mask = reduced_mask(a, dims, name);
  Shape out_shape = reduced_shape(a, mask, keepdim);
  DType out_dtype = a.dtype(), in_ct = a.dtype();
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Prod:
      out_dtype = dtype ? *dtype : (is_floating(a.dtype()) ? a.dtype() : DType::Int64);
      in_ct = is_reduced_float(out_dtype) ? DType::Float32 : out_dtype;
      break;
    case ReduceOp::All:
    case ReduceOp::Any:
      out_dtype = a.dtype() == DType::UInt8 ? DType::UInt8 : DType::Bool;  // torch keeps uint8
      in_ct = DType::Bool;
      break;
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin:
      HERON_CHECK(a.dtype() != DType::Bool, Runtime, "[", name, "] ", name, "(): does not support bool input");
      out_dtype = DType::Int64;
      in_ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
      break;
    default:
      in_ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
      break;
  }
  bool needs_elements = op != ReduceOp::Sum && op != ReduceOp::Prod && op != ReduceOp::All && op != ReduceOp::Any;
  if (needs_elements && a.numel() == 0) {
    bool empty_reduction = dims.empty();
    for (int64_t d = 0; d < a.ndim(); ++d) if (mask[d] && a.shape()[d] == 0) empty_reduction = true;
    if (empty_reduction)  // torch: RuntimeError without dims, IndexError for an empty reduced dim
      fail(dims.empty() ? ErrorKind::Runtime : ErrorKind::Index, "[", name,
           "] Expected reduction dim to be specified for input.numel() == 0, or the reduced dims to have "
           "non-zero size (input shape ", shape_str(a.shape()), ")");
  }
  Array x = cast(a, in_ct);
  Array out = Array::empty(out_shape, op == ReduceOp::ArgMax || op == ReduceOp::ArgMin ? DType::Int64 : in_ct, a.device());
  if (out.numel() > 0) {
    ReduceParams p = layout(x, mask);
    p.out = out.data();
    p.out_index = nullptr;
    p.out_dtype = out.dtype();
    reduce_stub.get_cpu()(op, p);
  }
  return cast(out, out_dtype);
}

std::pair<Array, Array> reduce_with_index(ReduceOp op, const Array& a, int64_t dim, bool keepdim) {
  const char* name = op == ReduceOp::Max ? "max" : "min";
  int64_t d = wrap_dim(dim, a.ndim(), name);
  if (a.ndim() > 0)
    HERON_CHECK(a.shape()[d] > 0, Index, "[", name, "] Expected reduction dim ", d,
                " to have non-zero size (input shape ", shape_str(a.shape()), ")");
  std::vector<bool> mask(size_t(a.ndim()), false);
  if (a.ndim() > 0) mask[d] = true;
  Shape out_shape = reduced_shape(a, mask, keepdim);
  DType ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
  Array x = cast(a, ct);
  Array values = Array::empty(out_shape, ct), indices = Array::empty(out_shape, DType::Int64);
  if (values.numel() > 0) {
    ReduceParams p = layout(x, mask);
    p.out = values.data();
    p.out_index = indices.data();
    p.out_dtype = ct;
    reduce_stub.get_cpu()(op, p);
  }
  return {cast(values, a.dtype()), indices};
}

static void split_dim(const Array& x, int64_t d, int64_t* outer, int64_t* dim, int64_t* inner) {
  *outer = *inner = 1;
  *dim = x.ndim() == 0 ? 1 : x.shape()[d];
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i < d) *outer *= x.shape()[i];
    else if (i > d) *inner *= x.shape()[i];
  }
}

Array softmax(const Array& a, int64_t dim, bool log, std::optional<DType> dtype) {
  const char* name = log ? "log_softmax" : "softmax";
  int64_t d = wrap_dim(dim, a.ndim(), name);
  DType out_dtype = dtype ? *dtype : a.dtype();
  HERON_CHECK(is_floating(out_dtype), NotImplemented, "[", name, "] \"", name, "\" not implemented for '",
              dtype_name(out_dtype), "': expected a floating-point tensor");
  DType ct = is_reduced_float(out_dtype) ? DType::Float32 : out_dtype;
  Array x = contiguous(cast(a, ct));
  Array out = Array::empty(a.shape(), ct, a.device());
  if (out.numel() > 0) {
    SoftmaxParams p{};
    p.in = x.data();
    p.out = out.data();
    p.dtype = ct;
    p.log = log;
    split_dim(x, d, &p.outer, &p.dim, &p.inner);
    softmax_stub.get_cpu()(p);
  }
  return cast(out, out_dtype);
}

Array cumulative(const Array& a, int64_t dim, bool product, std::optional<DType> dtype) {
  const char* name = product ? "cumprod" : "cumsum";
  int64_t d = wrap_dim(dim, a.ndim(), name);
  DType out_dtype = dtype ? *dtype : (is_floating(a.dtype()) ? a.dtype() : DType::Int64);
  DType ct = is_floating(out_dtype) ? (out_dtype == DType::Float64 ? DType::Float64 : DType::Float32) : DType::Int64;
  Array x = contiguous(cast(a, ct));
  Array out = Array::empty(a.shape(), ct, a.device());
  if (out.numel() > 0) {
    ScanParams p{};
    p.in = x.data();
    p.out = out.data();
    p.dtype = ct;
    p.product = product;
    split_dim(x, d, &p.outer, &p.dim, &p.inner);
    scan_stub.get_cpu()(p);
  }
  return cast(out, out_dtype);
}

}  // namespace heron
