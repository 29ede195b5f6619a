#include "core/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define HERON_X86 1
#endif

namespace heron {

DispatchStub<UnaryKernel> unary_stub("unary");
DispatchStub<BinaryKernel> binary_stub("binary");
DispatchStub<CopyKernel> copy_stub("copy");
DispatchStub<WhereKernel> where_stub("where");
DispatchStub<ReduceKernel> reduce_stub("reduce");
DispatchStub<SoftmaxKernel> softmax_stub("softmax");
DispatchStub<ScanKernel> scan_stub("cumsum");
DispatchStub<IndexSelectKernel> index_select_stub("index_select");
DispatchStub<IndexAddKernel> index_add_stub("index_add");
DispatchStub<GatherKernel> gather_stub("gather");
DispatchStub<ScatterKernel> scatter_stub("scatter");
DispatchStub<SortKernel> sort_stub("sort");
DispatchStub<TopkKernel> topk_stub("topk");
DispatchStub<RandomKernel> random_stub("random");
DispatchStub<MatmulKernel> matmul_stub("matmul");
DispatchStub<NonzeroKernel> nonzero_stub("nonzero");
DispatchStub<MultinomialKernel> multinomial_stub("multinomial");
DispatchStub<CrossEntropyKernel> cross_entropy_stub("cross_entropy");
DispatchStub<AdamKernel> adam_stub("adam");
DispatchStub<NormKernel> norm_stub("layer_norm");
DispatchStub<AttentionKernel> attention_stub("scaled_dot_product_attention");
DispatchStub<RecurrentKernel> recurrent_stub("recurrent");
DispatchStub<ConvKernel> conv_stub("conv2d");
DispatchStub<AvgPoolKernel> avg_pool_stub("avg_pool2d");
DispatchStub<MaxPoolKernel> max_pool_stub("max_pool2d");
DispatchStub<BatchNormKernel> batch_norm_stub("batch_norm");
DispatchStub<SgdKernel> sgd_stub("sgd");
DispatchStub<PeakKernel> peak_gflops_stub("peak_gflops");
DispatchStub<PeakKernel> peak_bandwidth_stub("peak_bandwidth");

#ifdef HERON_X86
static uint64_t read_xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

CpuCapability hardware_capability() {
#ifdef HERON_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return CpuCapability::Default;
  bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  if (!osxsave || !avx) return CpuCapability::Default;
  uint64_t xcr0 = read_xcr0();
  bool ymm_state = (xcr0 & 0x6) == 0x6;           // SSE and AVX state saved by the OS
  bool zmm_state = (xcr0 & 0xe6) == 0xe6;         // plus opmask and upper ZMM state
  if (!ymm_state || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return CpuCapability::Default;
  bool avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
  bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
       avx512vl = b & (1u << 31);
  if (avx512f && avx512dq && avx512bw && avx512vl && zmm_state && avx2 && fma && f16c)
    return CpuCapability::AVX512;
  if (avx2 && fma && f16c && bmi2) return CpuCapability::AVX2;
#endif
  return CpuCapability::Default;
}

static CpuCapability from_env() {
  CpuCapability hw = hardware_capability();
  const char* env = std::getenv("HERON_CPU_CAPABILITY");
  if (!env || !*env) return hw;
  CpuCapability want = hw;
  if (!std::strcmp(env, "default")) want = CpuCapability::Default;
  else if (!std::strcmp(env, "avx2")) want = CpuCapability::AVX2;
  else if (!std::strcmp(env, "avx512")) want = CpuCapability::AVX512;
  return int(want) < int(hw) ? want : hw;
}

static std::atomic<int>& capability_slot() {
  static std::atomic<int> slot{int(from_env())};
  return slot;
}

CpuCapability cpu_capability() { return CpuCapability(capability_slot().load(std::memory_order_relaxed)); }

CpuCapability set_cpu_capability(CpuCapability wanted) {
  CpuCapability hw = hardware_capability();
  CpuCapability got = int(wanted) < int(hw) ? wanted : hw;
  capability_slot().store(int(got));
  return got;
}

const char* capability_name(CpuCapability c) {
  switch (c) {
    case CpuCapability::Default: return "default";
    case CpuCapability::AVX2: return "avx2";
    case CpuCapability::AVX512: return "avx512";
  }
  return "?";
}

}  // namespace heron
