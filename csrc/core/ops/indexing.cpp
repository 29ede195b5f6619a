// Joins and index ops: cat, index_select, index_add_, gather, scatter, nonzero, sort, topk.
#include <algorithm>
#include <cstring>

#include "core/dispatch.h"
#include "core/dtype_dispatch.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops/iter.h"

namespace heron {

Array cat(const std::vector<Array>& arrays, int64_t dim) {
  HERON_CHECK(!arrays.empty(), Runtime, "[cat] expected a non-empty list of Tensors");
  // Legacy rule kept by torch: 1-d empty tensors are skipped.
  const Array* ref = nullptr;
  for (const Array& a : arrays)
    if (!(a.ndim() == 1 && a.numel() == 0)) { ref = &a; break; }
  if (!ref) ref = &arrays[0];
  HERON_CHECK(ref->ndim() > 0, Runtime, "[cat] zero-dimensional tensor (at position 0) cannot be concatenated");
  int64_t d = wrap_dim(dim, ref->ndim(), "cat");
  DType dtype = arrays[0].dtype();
  for (const Array& a : arrays) dtype = promote_types(dtype, a.dtype());
  Shape shape = ref->shape();
  int64_t total = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const Array& a = arrays[i];
    if (a.ndim() == 1 && a.numel() == 0) continue;
    HERON_CHECK(a.ndim() == ref->ndim(), Runtime, "[cat] Tensors must have same number of dimensions: got ",
                ref->ndim(), " and ", a.ndim());
    for (int64_t k = 0; k < a.ndim(); ++k)
      HERON_CHECK(k == d || a.shape()[k] == shape[k], Shape, "[cat] Sizes of tensors must match except in dimension ",
                  d, ". Expected size ", shape[k], " but got size ", a.shape()[k], " for tensor number ", i,
                  " in the list (shapes ", shape_str(ref->shape()), " and ", shape_str(a.shape()), ")");
    total += a.shape()[d];
  }
  shape[d] = total;
  Array out = Array::empty(shape, dtype);
  int64_t pos = 0;
  for (const Array& a : arrays) {
    if (a.ndim() == 1 && a.numel() == 0) continue;
    int64_t len = a.shape()[d];
    if (len > 0) copy_(out.narrow(d, pos, len), a, "cat");
    pos += len;
  }
  return out;
}

static void check_index_dtype(const Array& index, const char* op) {
  HERON_CHECK(index.dtype() == DType::Int64 || index.dtype() == DType::Int32, Runtime, "[", op,
              "] Expected dtype int32/int64 for index, got ", dtype_name(index.dtype()));
}

// Range check of every index (negative ones are not wrapped, as in torch's index kernels).
// torch reports a bad index as IndexError in index_select and as RuntimeError in gather,
// scatter and index_add_.
static Array checked_index(const Array& index, int64_t size, const char* op, bool allow_negative, int64_t dim,
                           ErrorKind kind = ErrorKind::Runtime) {
  check_index_dtype(index, op);
  Array idx = contiguous(cast(index, DType::Int64));
  const int64_t* p = idx.data_as<int64_t>();
  bool wrapped = false;
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int64_t v = p[i];
    bool ok = allow_negative ? (v >= -size && v < size) : (v >= 0 && v < size);
    if (!ok) fail(kind, "[", op, "] index ", v, " is out of bounds for dimension ", dim, " with size ", size);
    wrapped |= v < 0;
  }
  if (wrapped) {
    idx = clone(idx);
    int64_t* q = idx.data_as<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i) if (q[i] < 0) q[i] += size;
  }
  return idx;
}

static void outer_inner(const Shape& s, int64_t d, int64_t* outer, int64_t* inner) {
  *outer = *inner = 1;
  for (int64_t i = 0; i < int64_t(s.size()); ++i) {
    if (i < d) *outer *= s[i];
    else if (i > d) *inner *= s[i];
  }
}

Array index_select(const Array& a, int64_t dim, const Array& index) {
  HERON_CHECK(index.ndim() <= 1, Index, "[index_select] Index is supposed to be a vector, got shape ",
              shape_str(index.shape()));
  int64_t d = wrap_dim(dim, a.ndim(), "index_select");
  int64_t size = a.ndim() == 0 ? 1 : a.shape()[d];
  Array idx = checked_index(index, size, "index_select", false, d, ErrorKind::Index);
  Shape shape = a.shape();
  if (a.ndim() > 0) shape[d] = idx.numel();
  Array src = contiguous(a);
  Array out = Array::empty(shape, a.dtype());
  if (out.numel() > 0) {
    IndexParams p{};
    p.self = src.data();
    p.other = out.data();
    p.index = idx.data_as<int64_t>();
    p.dtype = a.dtype();
    outer_inner(a.shape(), d, &p.outer, &p.inner);
    p.self_size = size;
    p.index_size = idx.numel();
    index_select_stub.get_cpu()(p);
  }
  return out;
}

void index_add_(const Array& self, int64_t dim, const Array& index, const Array& src, double alpha) {
  HERON_CHECK(index.ndim() <= 1, Index, "[index_add_] Index is supposed to be a vector");
  int64_t d = wrap_dim(dim, self.ndim(), "index_add_");
  int64_t size = self.ndim() == 0 ? 1 : self.shape()[d];
  Array idx = checked_index(index, size, "index_add_", false, d);
  Shape expect = self.shape();
  if (self.ndim() > 0) expect[d] = idx.numel();
  HERON_CHECK(src.shape() == expect || (self.ndim() == 0 && src.numel() == idx.numel()), Shape,
              "[index_add_] source of shape ", shape_str(src.shape()), " does not match self of shape ",
              shape_str(self.shape()), " with ", idx.numel(), " indices along dim ", d);
  HERON_CHECK(self.dtype() != DType::Bool, Runtime, "[index_add_] not implemented for bool tensors");
  DType ct = is_reduced_float(self.dtype()) ? DType::Float32 : self.dtype();
  Array work = (self.is_contiguous() && ct == self.dtype()) ? self : contiguous(cast(self, ct));
  Array s = contiguous(cast(src, ct));
  self.bump_version();
  if (s.numel() > 0) {
    IndexParams p{};
    p.self = work.data();
    p.other = s.data();
    p.index = idx.data_as<int64_t>();
    p.dtype = ct;
    p.alpha = alpha;
    outer_inner(self.shape(), d, &p.outer, &p.inner);
    p.self_size = size;
    p.index_size = idx.numel();
    index_add_stub.get_cpu()(p);
  }
  if (work.data() != self.data()) copy_(self, work, "index_add_");
}

// Validates gather/scatter index shapes: index.size(d) <= other.size(d) for d != dim.
static void check_gather_shapes(const Array& self, const Array& index, int64_t d, const Array* other, const char* op) {
  HERON_CHECK(index.ndim() == self.ndim() || (index.ndim() <= 1 && self.ndim() <= 1), Runtime, "[", op,
              "] Index tensor must have the same number of dimensions as input tensor (got ", index.ndim(),
              " and ", self.ndim(), ")");
  for (int64_t k = 0; k < index.ndim(); ++k) {
    if (k != d)
      HERON_CHECK(self.ndim() == 0 || index.shape()[k] <= self.shape()[k], Runtime, "[", op, "] Size does not match at dimension ", k,
                  " expected index ", shape_str(index.shape()), " to be no larger than self ",
                  shape_str(self.shape()), " apart from dimension ", d);
    if (other)
      HERON_CHECK(index.shape()[k] <= other->shape()[k], Runtime, "[", op, "] Expected index ",
                  shape_str(index.shape()), " to be no larger than src ", shape_str(other->shape()));
  }
}

// A view of `a` with the index's shape whose `dim` stride is zero: the kernel adds index * stride.
static Array restride_for_index(const Array& a, const Shape& index_shape, int64_t d) {
  Strides st = a.strides();
  if (st.empty()) st = Strides(index_shape.size(), 0);
  if (!st.empty()) st[d] = 0;
  return Array(a.storage(), index_shape, st, a.offset(), a.dtype());
}

Array gather(const Array& a, int64_t dim, const Array& index) {
  int64_t d = wrap_dim(dim, a.ndim(), "gather");
  check_index_dtype(index, "gather");
  HERON_CHECK(index.dtype() == DType::Int64, Runtime, "[gather] gather(): Expected dtype int64 for index");
  check_gather_shapes(a, index, d, nullptr, "gather");
  int64_t size = a.ndim() == 0 ? 1 : a.shape()[d];
  Array idx = checked_index(index, size, "gather", false, d);
  Array out = Array::empty(index.shape(), a.dtype());
  if (out.numel() == 0) return out;
  Array src = restride_for_index(a, index.shape(), d);
  GatherScatterParams p{};
  p.dim_stride = (a.ndim() == 0 ? 0 : a.strides()[d]) * a.itemsize();
  gather_stub.get_cpu()(make_iter({out, idx, src}, "gather"), p);
  return out;
}

void scatter_(const Array& self, int64_t dim, const Array& index, const Operand& src, int reduce) {
  const char* op = reduce == 1 ? "scatter_add_" : "scatter_";
  int64_t d = wrap_dim(dim, self.ndim(), op);
  HERON_CHECK(index.dtype() == DType::Int64, Runtime, "[", op, "] Expected dtype int64 for index");
  check_gather_shapes(self, index, d, src.wrapped ? nullptr : &src.array, op);
  if (!src.wrapped)
    HERON_CHECK(src.array.dtype() == self.dtype(), Runtime, "[", op, "] Expected self.dtype to be equal to src.dtype (got ",
                dtype_name(self.dtype()), " and ", dtype_name(src.array.dtype()), ")");
  int64_t size = self.ndim() == 0 ? 1 : self.shape()[d];
  Array idx = checked_index(index, size, op, false, d);
  self.bump_version();
  if (idx.numel() == 0) return;
  DType ct = is_reduced_float(self.dtype()) ? DType::Float32 : self.dtype();
  Array work = ct == self.dtype() ? self : cast(self, ct);
  GatherScatterParams p{};
  p.dim_stride = (work.ndim() == 0 ? 0 : work.strides()[d]) * work.itemsize();
  p.reduce = reduce;
  Array dst = restride_for_index(work, index.shape(), d);
  if (src.wrapped) {
    p.src_is_scalar = true;
    p.scalar = item(src.array).to_double();
    scatter_stub.get_cpu()(make_iter({dst, idx}, op), p);
  } else {
    Array s = cast(src.array, ct);
    Array sv = Array(s.storage(), index.shape(), s.ndim() ? s.strides() : Strides(index.ndim(), 0), s.offset(), s.dtype());
    scatter_stub.get_cpu()(make_iter({dst, idx, sv}, op), p);
  }
  if (work.data() != self.data()) copy_(self, work, op);
}

Array nonzero(const Array& a) {
  Array b = contiguous(cast(a, DType::Bool));
  int64_t nd = b.ndim();
  auto kernel = nonzero_stub.get_cpu();
  int64_t count = kernel(b.data_as<bool>(), b.shape().data(), int(nd), b.numel(), nullptr);
  Array out = Array::empty({count, nd}, DType::Int64);
  if (count > 0 && nd > 0) kernel(b.data_as<bool>(), b.shape().data(), int(nd), b.numel(), out.data_as<int64_t>());
  return out;
}

static SortParams sort_params(const Array& x, int64_t d) {
  SortParams p{};
  p.in = x.data();
  p.dtype = x.dtype();
  p.outer = p.inner = 1;
  p.dim = x.ndim() == 0 ? 1 : x.shape()[d];
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i < d) p.outer *= x.shape()[i];
    else if (i > d) p.inner *= x.shape()[i];
  }
  return p;
}

std::pair<Array, Array> sort(const Array& a, int64_t dim, bool descending, bool stable) {
  int64_t d = wrap_dim(dim, a.ndim(), "sort");
  DType ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
  Array x = contiguous(cast(a, ct));
  Array values = Array::empty(a.shape(), ct), indices = Array::empty(a.shape(), DType::Int64);
  if (x.numel() > 0) {
    SortParams p = sort_params(x, d);
    p.values = values.data();
    p.indices = indices.data_as<int64_t>();
    p.descending = descending;
    p.stable = stable;
    p.k = p.dim;
    sort_stub.get_cpu()(p);
  }
  return {cast(values, a.dtype()), indices};
}

std::pair<Array, Array> topk(const Array& a, int64_t k, int64_t dim, bool largest, bool sorted) {
  int64_t d = wrap_dim(dim, a.ndim(), "topk");
  int64_t size = a.ndim() == 0 ? 1 : a.shape()[d];
  HERON_CHECK(a.dtype() != DType::Bool, Runtime, "[topk] topk does not support bool dtypes on CPU");
  HERON_CHECK(k >= 0 && k <= size, Runtime, "[topk] selected index k out of range: k = ", k, " but dim ", d,
              " has size ", size);
  (void)sorted;  // results are always sorted, which torch allows for sorted=False
  DType ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
  Array x = contiguous(cast(a, ct));
  Shape shape = a.shape();
  if (a.ndim() > 0) shape[d] = k;
  Array values = Array::empty(shape, ct), indices = Array::empty(shape, DType::Int64);
  if (values.numel() > 0) {
    SortParams p = sort_params(x, d);
    p.values = values.data();
    p.indices = indices.data_as<int64_t>();
    p.descending = largest;
    p.k = k;
    topk_stub.get_cpu()(p);
  }
  return {cast(values, a.dtype()), indices};
}

Array take_flat(const Array& a, const Array& flat_index) {
  Array flat = reshape(a, {a.numel()});
  Array idx = reshape(flat_index, {flat_index.numel()});
  return reshape(index_select(flat, 0, idx), flat_index.shape());
}

}  // namespace heron
