// Run-time choice of a kernel: one stub per kernel family, holding one function pointer per
// CPU ISA level (filled by csrc/cpu/register.cpp) and one for CUDA (filled by csrc/cuda).
#pragma once
#include "core/errors.h"
#include "core/kernel_params.h"

namespace heron {

enum class CpuCapability : int { Default = 0, AVX2 = 1, AVX512 = 2 };
constexpr int kNumCapabilities = 3;

CpuCapability hardware_capability();  // cpuid + XGETBV (OS saves the vector state)
CpuCapability cpu_capability();       // what kernels use now
// Forces a level (capped at what the hardware runs). Read from HERON_CPU_CAPABILITY at start.
CpuCapability set_cpu_capability(CpuCapability wanted);
const char* capability_name(CpuCapability c);

template <typename Fn>
struct DispatchStub {
  const char* name;
  Fn cpu[kNumCapabilities] = {nullptr, nullptr, nullptr};
  Fn cuda = nullptr;

  constexpr explicit DispatchStub(const char* n) : name(n) {}  // constant-initialised: set before any registrar runs
  Fn get_cpu() const {
    for (int c = int(cpu_capability()); c >= 0; --c)
      if (cpu[c]) return cpu[c];
    fail(ErrorKind::Runtime, "[", name, "] no CPU kernel registered");
  }
  Fn get_cuda() const {
    if (!cuda) fail(ErrorKind::Runtime, "[", name, "] no CUDA kernel registered (heron was built without CUDA or without this kernel)");
    return cuda;
  }
};

extern DispatchStub<UnaryKernel> unary_stub;
extern DispatchStub<BinaryKernel> binary_stub;
extern DispatchStub<CopyKernel> copy_stub;
extern DispatchStub<WhereKernel> where_stub;
extern DispatchStub<ReduceKernel> reduce_stub;
extern DispatchStub<SoftmaxKernel> softmax_stub;
extern DispatchStub<ScanKernel> scan_stub;
extern DispatchStub<IndexSelectKernel> index_select_stub;
extern DispatchStub<IndexAddKernel> index_add_stub;
extern DispatchStub<GatherKernel> gather_stub;
extern DispatchStub<ScatterKernel> scatter_stub;
extern DispatchStub<SortKernel> sort_stub;
extern DispatchStub<TopkKernel> topk_stub;
extern DispatchStub<RandomKernel> random_stub;
extern DispatchStub<MatmulKernel> matmul_stub;
extern DispatchStub<NonzeroKernel> nonzero_stub;
extern DispatchStub<MultinomialKernel> multinomial_stub;
extern DispatchStub<CrossEntropyKernel> cross_entropy_stub;
extern DispatchStub<AdamKernel> adam_stub;
extern DispatchStub<NormKernel> norm_stub;
extern DispatchStub<SgdKernel> sgd_stub;
extern DispatchStub<AttentionKernel> attention_stub;
extern DispatchStub<RecurrentKernel> recurrent_stub;
extern DispatchStub<ConvKernel> conv_stub;
extern DispatchStub<MaxPoolKernel> max_pool_stub;
extern DispatchStub<AvgPoolKernel> avg_pool_stub;
extern DispatchStub<BatchNormKernel> batch_norm_stub;
extern DispatchStub<PeakKernel> peak_gflops_stub;
extern DispatchStub<PeakKernel> peak_bandwidth_stub;

}  // namespace heron
