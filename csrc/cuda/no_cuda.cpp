// The CUDA backend of a build without CUDA: nothing is available, nothing throws.
#include "core/cuda_api.h"

namespace heron::cuda {
bool compiled() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string version() { return ""; }
}  // namespace heron::cuda
