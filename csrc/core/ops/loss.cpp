// Fused cross-entropy over rows of logits with class-index targets: one pass for the loss
// and the row's log-sum-exp, one for the gradient. The composite twin is
// heron.nn.functional._cross_entropy_composite (log_softmax then NLL).
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

void check_rows(const Array& logits, const Array& target, int64_t ignore_index, double label_smoothing) {
  HERON_CHECK(logits.ndim() == 2, Shape, "[cross_entropy] expected logits of shape (N, C), got ", shape_str(logits.shape()));
  HERON_CHECK(logits.dtype() == DType::Float32 || logits.dtype() == DType::Float64, NotImplemented,
              "[cross_entropy] the fused kernel takes float32 or float64 logits, got ", dtype_name(logits.dtype()));
  HERON_CHECK(target.dtype() == DType::Int64, Runtime, "[cross_entropy] expected class indices of dtype int64, got ",
              dtype_name(target.dtype()));
  HERON_CHECK(target.ndim() == 1 && target.size(0) == logits.size(0), Value, "[cross_entropy] Expected input batch_size (",
              logits.size(0), ") to match target batch_size (", target.numel(), ").");
  HERON_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, Runtime,
              "[cross_entropy] label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  const int64_t classes = logits.size(1);
  const Array t = contiguous(target);
  const int64_t* idx = t.data_as<int64_t>();
  for (int64_t r = 0; r < t.numel(); ++r)
    HERON_CHECK(idx[r] == ignore_index || (idx[r] >= 0 && idx[r] < classes), Index, "[cross_entropy] Target ", idx[r],
                " is out of bounds.");
}

}  // namespace

std::pair<Array, Array> cross_entropy_rows(const Array& logits, const Array& target, int64_t ignore_index,
                                           double label_smoothing) {
  check_rows(logits, target, ignore_index, label_smoothing);
  const Array x = contiguous(logits), t = contiguous(target);
  Array loss = Array::empty({x.size(0)}, x.dtype()), lse = Array::empty({x.size(0)}, x.dtype());
  if (x.size(0) == 0) return {loss, lse};
  HERON_CHECK(x.size(1) > 0, Runtime, "[cross_entropy] logits have no classes: shape ", shape_str(x.shape()));
  CrossEntropyParams p{};
  p.logits = x.data(), p.target = t.data_as<int64_t>(), p.out = loss.data(), p.lse = lse.data();
  p.dtype = x.dtype(), p.rows = x.size(0), p.classes = x.size(1), p.ignore_index = ignore_index;
  p.label_smoothing = label_smoothing;
  cross_entropy_stub.get_cpu()(p);
  return {loss, lse};
}

Array cross_entropy_rows_backward(const Array& logits, const Array& target, const Array& lse, const Array& grad_rows,
                                  int64_t ignore_index, double label_smoothing) {
  check_rows(logits, target, ignore_index, label_smoothing);
  const int64_t rows = logits.size(0);
  HERON_CHECK(lse.numel() == rows && grad_rows.numel() == rows && lse.dtype() == logits.dtype() &&
                  grad_rows.dtype() == logits.dtype(),
              Runtime, "[cross_entropy] backward expects one log-sum-exp and one gradient per row");
  const Array x = contiguous(logits), t = contiguous(target), l = contiguous(lse), g = contiguous(grad_rows);
  Array dx = Array::empty(x.shape(), x.dtype());
  if (rows == 0) return dx;
  CrossEntropyParams p{};
  p.logits = x.data(), p.target = t.data_as<int64_t>(), p.grad_rows = g.data(), p.out = dx.data();
  p.lse = const_cast<char*>(l.data());
  p.dtype = x.dtype(), p.rows = rows, p.classes = x.size(1), p.ignore_index = ignore_index;
  p.label_smoothing = label_smoothing, p.backward = true;
  cross_entropy_stub.get_cpu()(p);
  return dx;
}

}  // namespace heron
