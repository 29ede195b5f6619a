#include "core/ops/iter.h"

#include <algorithm>

#include "core/errors.h"

namespace heron {

StridedIter make_iter(const std::vector<Array>& operands, const char* op) {
  StridedIter it;
  it.nops = int(operands.size());
  const Shape& shape = operands[0].shape();
  int nd = int(shape.size());
  HERON_CHECK(nd <= kMaxDims, NotImplemented, "[", op, "] tensors of more than ", kMaxDims, " dims");
  it.numel = operands[0].numel();

  std::vector<Array> ops;
  ops.reserve(operands.size());
  for (int k = 0; k < it.nops; ++k) {
    Array a = operands[k].shape() == shape ? operands[k] : operands[k].expand(shape);
    it.data[k] = a.data();
    it.dtype[k] = a.dtype();
    ops.push_back(std::move(a));
  }

  // Innermost-first dim order, sorted so the output's smallest stride comes first
  // (an in-place op on a transposed view then walks memory in order).
  std::vector<int> order;
  for (int d = nd - 1; d >= 0; --d)
    if (shape[d] != 1) order.push_back(d);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    for (int k = 0; k < it.nops; ++k) {
      int64_t sx = ops[k].strides()[x], sy = ops[k].strides()[y];
      if (sx == 0 || sy == 0) continue;
      if (sx != sy) return sx < sy;
    }
    return false;
  });

  it.ndim = 0;
  for (int d : order) {
    bool merged = false;
    if (it.ndim > 0) {
      int prev = it.ndim - 1;
      merged = true;
      for (int k = 0; k < it.nops; ++k) {
        int64_t bytes = ops[k].itemsize();
        if (it.strides[k][prev] * it.shape[prev] != ops[k].strides()[d] * bytes) {
          merged = false;
          break;
        }
      }
      if (merged) it.shape[prev] *= shape[d];
    }
    if (!merged) {
      for (int k = 0; k < it.nops; ++k) it.strides[k][it.ndim] = ops[k].strides()[d] * ops[k].itemsize();
      it.shape[it.ndim] = shape[d];
      ++it.ndim;
    }
  }
  if (it.ndim == 0) {  // 0-d or all size-1 dims: one element
    it.ndim = 1;
    it.shape[0] = 1;
    for (int k = 0; k < it.nops; ++k) it.strides[k][0] = ops[k].itemsize();
  }
  return it;
}

}  // namespace heron
