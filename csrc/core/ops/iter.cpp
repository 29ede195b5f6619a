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

  // Byte strides of every operand over the output's shape (0 where an input broadcasts).
  int64_t strides[kMaxOperands][kMaxDims];
  for (int k = 0; k < it.nops; ++k) {
    const Array& a = operands[k];
    int lead = nd - int(a.ndim());
    for (int d = 0; d < nd; ++d) {
      int64_t s = 0;
      if (d >= lead && a.shape()[d - lead] == shape[d]) s = a.strides()[d - lead] * a.itemsize();
      strides[k][d] = s;
    }
    it.data[k] = a.data();
    it.dtype[k] = a.dtype();
  }

  // Innermost-first dim order, stably sorted so the output's smallest stride comes first
  // (an in-place op on a transposed view then walks memory in order). Insertion sort: nd is small.
  int order[kMaxDims];
  int n = 0;
  for (int d = nd - 1; d >= 0; --d)
    if (shape[d] != 1) order[n++] = d;
  auto before = [&](int x, int y) {
    for (int k = 0; k < it.nops; ++k) {
      int64_t sx = strides[k][x], sy = strides[k][y];
      if (sx == 0 || sy == 0) continue;
      if (sx != sy) return sx < sy;
    }
    return false;
  };
  for (int i = 1; i < n; ++i)
    for (int j = i; j > 0 && before(order[j], order[j - 1]); --j) std::swap(order[j], order[j - 1]);

  it.ndim = 0;
  for (int i = 0; i < n; ++i) {
    int d = order[i];
    bool merged = false;
    if (it.ndim > 0) {
      int prev = it.ndim - 1;
      merged = true;
      for (int k = 0; k < it.nops && merged; ++k)
        merged = it.strides[k][prev] * it.shape[prev] == strides[k][d];
      if (merged) it.shape[prev] *= shape[d];
    }
    if (!merged) {
      for (int k = 0; k < it.nops; ++k) it.strides[k][it.ndim] = strides[k][d];
      it.shape[it.ndim] = shape[d];
      ++it.ndim;
    }
  }
  if (it.ndim == 0) {  // 0-d or all size-1 dims: one element
    it.ndim = 1;
    it.shape[0] = 1;
    for (int k = 0; k < it.nops; ++k) it.strides[k][0] = operands[k].itemsize();
  }
  return it;
}

}  // namespace heron
