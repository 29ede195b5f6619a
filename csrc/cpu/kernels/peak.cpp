// Microkernels that measure the machine's limits, so benchmarks can report fractions of peak:
// float32 FMA throughput with enough independent accumulators to hide FMA latency, and
// streaming bandwidth of an in-place update (every byte read once and written once, with no
// hidden read-for-ownership of a separate destination).
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cpu/simd/isa.h"

namespace HERON_ISA_NAMESPACE {

#if defined(__AVX512F__)
constexpr int kAccumulators = 256;  // 16 zmm
#elif defined(__AVX2__)
constexpr int kAccumulators = 80;   // 10 ymm
#else
constexpr int kAccumulators = 32;   // 8 xmm
#endif

__attribute__((noinline)) static float fma_loop(int64_t iters, float a, float b) {
  float acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = float(i) * 1e-3f;
  for (int64_t t = 0; t < iters; ++t)
    for (int i = 0; i < kAccumulators; ++i) acc[i] = acc[i] * a + b;
  float s = 0;
  for (int i = 0; i < kAccumulators; ++i) s += acc[i];
  return s;
}

double peak_gflops(int threads) {
  const int64_t iters = 2000000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    volatile float sink = 0;
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      float r = fma_loop(iters, 0.999999f, 1e-7f);
#pragma omp atomic
      sink += r;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double gflops = 2.0 * kAccumulators * double(iters) * threads / secs * 1e-9;
    if (gflops > best) best = gflops;
  }
  return best;
}

double peak_bandwidth_gbs(int threads) {
  const int64_t n = int64_t(1) << 26;  // 256 MiB: far beyond the caches
  float* data = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  if (!data) return 0.0;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) data[i] = float(i & 1023);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) data[i] = data[i] * 0.999f + 0.001f;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double gbs = 2.0 * double(n) * sizeof(float) / secs * 1e-9;
    if (gbs > best) best = gbs;
  }
  std::free(data);
  return best;
}

}  // namespace HERON_ISA_NAMESPACE
