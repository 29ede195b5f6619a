// What core knows of CUDA: whether the build has it and whether a device is usable.
// Implemented by csrc/cuda/device.cu, or by csrc/cuda/no_cuda.cpp in a build without CUDA.
#pragma once
#include <string>

namespace heron::cuda {
bool compiled();          // built with CUDA
bool is_available();      // compiled, a driver is loaded and at least one device is visible
int device_count();       // 0 when unavailable (never throws)
std::string version();    // CUDA runtime version the build used, "" without CUDA
}  // namespace heron::cuda
