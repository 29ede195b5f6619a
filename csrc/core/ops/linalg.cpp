// matmul with torch's rank rules: 1-d operands are promoted and the added dim removed,
// batch dims broadcast.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {

Array matmul(const Array& a, const Array& b) {
  HERON_CHECK(a.ndim() > 0 && b.ndim() > 0, Runtime, "[matmul] both arguments to matmul need to be at least 1D, but they are ",
              a.ndim(), "D and ", b.ndim(), "D");
  HERON_CHECK(a.dtype() == b.dtype(), Runtime, "[matmul] expected both operands to have the same dtype, but got ",
              dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  HERON_CHECK(is_floating(a.dtype()), NotImplemented, "[matmul] \"matmul\" not implemented for '", dtype_name(a.dtype()),
              "' (heron's GEMM supports floating-point types)");
  Array x = a.ndim() == 1 ? a.unsqueeze(0) : a;
  Array y = b.ndim() == 1 ? b.unsqueeze(1) : b;
  int64_t m = x.shape()[x.ndim() - 2], k = x.shape()[x.ndim() - 1];
  int64_t k2 = y.shape()[y.ndim() - 2], n = y.shape()[y.ndim() - 1];
  HERON_CHECK(k == k2, Shape, "[matmul] mat1 and mat2 shapes cannot be multiplied (", m, "x", k, " and ", k2, "x", n,
              "): operand shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  Shape xb(x.shape().begin(), x.shape().end() - 2), yb(y.shape().begin(), y.shape().end() - 2);
  Shape batch = broadcast_shapes(xb, yb, "matmul");
  int64_t nbatch = shape_numel(batch, "matmul");
  DType ct = is_reduced_float(a.dtype()) ? DType::Float32 : a.dtype();
  Shape xs = batch, ys = batch;
  xs.push_back(m); xs.push_back(k);
  ys.push_back(k); ys.push_back(n);
  // Kernel wants B's rows contiguous and each operand addressable by one batch stride.
  Array xa = contiguous(cast(x, ct).expand(xs));
  Array ya = contiguous(cast(y, ct).expand(ys));
  Shape cs = batch;
  cs.push_back(m); cs.push_back(n);
  Array c = Array::empty(cs, ct);
  if (c.numel() > 0) {
    if (k == 0) {
      fill_(c, Scalar::from_double(0));
    } else {
      MatmulParams p{};
      p.a = xa.data(); p.b = ya.data(); p.c = c.data();
      p.dtype = ct;
      p.batch = nbatch; p.m = m; p.n = n; p.k = k;
      p.a_batch = m * k; p.a_rs = k; p.a_cs = 1;
      p.b_batch = k * n; p.b_rs = n; p.b_cs = 1;
      p.c_batch = m * n; p.c_rs = n;
      matmul_stub.get_cpu()(p);
    }
  }
  Array out = cast(c, a.dtype());
  if (a.ndim() == 1) out = out.squeeze({out.ndim() - 2});
  if (b.ndim() == 1) out = out.squeeze({out.ndim() - 1});
  return out;
}

}  // namespace heron
