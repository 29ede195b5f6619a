// Fills the dispatch stubs with the CPU kernels of every ISA level that was compiled.
// This file is built for the baseline ISA: its static initialiser only stores pointers.
#include "core/dispatch.h"

#define HERON_DECLARE_ISA_KERNELS(ISA)                                                   \
  namespace heron::cpu::ISA {                                                            \
  void unary_kernel(UnaryOp, const StridedIter&, double, double);                        \
  void binary_kernel(BinaryOp, const StridedIter&);                                      \
  void copy_kernel(const StridedIter&);                                                  \
  void where_kernel(const StridedIter&);                                                 \
  void reduce_kernel(ReduceOp, const ReduceParams&);                                     \
  void softmax_kernel(const SoftmaxParams&);                                             \
  void matmul_kernel(const MatmulParams&);                                               \
  void cross_entropy_kernel(const CrossEntropyParams&);                                  \
  void adam_kernel(const AdamParams&);                                                   \
  void norm_kernel(const NormParams&);                                                   \
  void sgd_kernel(const SgdParams&);                                                     \
  void attention_kernel(const AttentionParams&);                                         \
  void recurrent_kernel(const RecurrentParams&);                                         \
  void conv_kernel(const ConvParams&);                                                   \
  void max_pool_kernel(const MaxPoolParams&);                                            \
  void avg_pool_kernel(const AvgPoolParams&);                                            \
  void batch_norm_kernel(const BatchNormParams&);                                        \
  double peak_gflops(int);                                                               \
  double peak_bandwidth_gbs(int);                                                        \
  }

HERON_DECLARE_ISA_KERNELS(DEFAULT)
#ifdef HERON_HAVE_AVX2
HERON_DECLARE_ISA_KERNELS(AVX2)
#endif
#ifdef HERON_HAVE_AVX512
HERON_DECLARE_ISA_KERNELS(AVX512)
#endif

namespace heron::cpu::DEFAULT {
void index_select_kernel(const IndexParams&);
void index_add_kernel(const IndexParams&);
void gather_kernel(const StridedIter&, const GatherScatterParams&);
void scatter_kernel(const StridedIter&, const GatherScatterParams&);
int64_t nonzero_kernel(const bool*, const int64_t*, int, int64_t, int64_t*);
void scan_kernel(const ScanParams&);
void sort_kernel(const SortParams&);
void topk_kernel(const SortParams&);
void random_kernel(int, const RandomParams&);
void multinomial_kernel(const MultinomialParams&);
}  // namespace heron::cpu::DEFAULT

namespace heron {
namespace {

#define HERON_REGISTER_ISA_KERNELS(ISA, LEVEL)                          \
  do {                                                                  \
    int l = int(CpuCapability::LEVEL);                                  \
    unary_stub.cpu[l] = &cpu::ISA::unary_kernel;                        \
    binary_stub.cpu[l] = &cpu::ISA::binary_kernel;                      \
    copy_stub.cpu[l] = &cpu::ISA::copy_kernel;                          \
    where_stub.cpu[l] = &cpu::ISA::where_kernel;                        \
    reduce_stub.cpu[l] = &cpu::ISA::reduce_kernel;                      \
    softmax_stub.cpu[l] = &cpu::ISA::softmax_kernel;                    \
    matmul_stub.cpu[l] = &cpu::ISA::matmul_kernel;                      \
    cross_entropy_stub.cpu[l] = &cpu::ISA::cross_entropy_kernel;        \
    adam_stub.cpu[l] = &cpu::ISA::adam_kernel;                          \
    norm_stub.cpu[l] = &cpu::ISA::norm_kernel;                          \
    sgd_stub.cpu[l] = &cpu::ISA::sgd_kernel;                            \
    attention_stub.cpu[l] = &cpu::ISA::attention_kernel;                \
    recurrent_stub.cpu[l] = &cpu::ISA::recurrent_kernel;              \
    conv_stub.cpu[l] = &cpu::ISA::conv_kernel;                          \
    max_pool_stub.cpu[l] = &cpu::ISA::max_pool_kernel;                  \
    avg_pool_stub.cpu[l] = &cpu::ISA::avg_pool_kernel;                  \
    batch_norm_stub.cpu[l] = &cpu::ISA::batch_norm_kernel;              \
    peak_gflops_stub.cpu[l] = &cpu::ISA::peak_gflops;                   \
    peak_bandwidth_stub.cpu[l] = &cpu::ISA::peak_bandwidth_gbs;         \
  } while (0)

struct Registrar {
  Registrar() {
    HERON_REGISTER_ISA_KERNELS(DEFAULT, Default);
#ifdef HERON_HAVE_AVX2
    HERON_REGISTER_ISA_KERNELS(AVX2, AVX2);
#endif
#ifdef HERON_HAVE_AVX512
    HERON_REGISTER_ISA_KERNELS(AVX512, AVX512);
#endif
    int d = int(CpuCapability::Default);
    index_select_stub.cpu[d] = &cpu::DEFAULT::index_select_kernel;
    index_add_stub.cpu[d] = &cpu::DEFAULT::index_add_kernel;
    gather_stub.cpu[d] = &cpu::DEFAULT::gather_kernel;
    scatter_stub.cpu[d] = &cpu::DEFAULT::scatter_kernel;
    nonzero_stub.cpu[d] = &cpu::DEFAULT::nonzero_kernel;
    scan_stub.cpu[d] = &cpu::DEFAULT::scan_kernel;
    sort_stub.cpu[d] = &cpu::DEFAULT::sort_kernel;
    topk_stub.cpu[d] = &cpu::DEFAULT::topk_kernel;
    random_stub.cpu[d] = &cpu::DEFAULT::random_kernel;
    multinomial_stub.cpu[d] = &cpu::DEFAULT::multinomial_kernel;
  }
};
Registrar registrar;

}  // namespace
}  // namespace heron
