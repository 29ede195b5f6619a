// Device discovery for a build with CUDA. The runtime is linked statically, so the extension
// imports on a machine without a GPU or driver; every query then reports "no device".
#include <cuda_runtime.h>

#include <string>

#include "core/cuda_api.h"

namespace heron::cuda {
bool compiled() { return true; }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

bool is_available() { return device_count() > 0; }

std::string version() {
  int v = CUDART_VERSION;
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
}  // namespace heron::cuda
