// Builds the StridedIter that elementwise kernels walk.
#pragma once
#include <vector>

#include "core/array.h"
#include "core/kernel_params.h"

namespace heron {

// operands[0] is the output and has `shape`; inputs must already broadcast to it (they are
// expanded here). Dims are ordered by the output's strides and coalesced.
StridedIter make_iter(const std::vector<Array>& operands, const char* op);

}  // namespace heron
