// Multi-tensor optimizer steps: one call updates every parameter of a group, each through the
// fused per-tensor kernel. The composite twins are in python/heron/optim/_functional.py.
#include <cmath>

#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

// Every state tensor must match its parameter exactly: the kernel walks them as flat arrays.
void check_like(const char* op, const char* what, size_t i, const Array& param, const Array& t) {
  HERON_CHECK(t.shape() == param.shape(), Shape, "[", op, "] ", what, " ", i, " has shape ", shape_str(t.shape()),
              " but its parameter has shape ", shape_str(param.shape()));
  HERON_CHECK(t.dtype() == param.dtype(), Runtime, "[", op, "] ", what, " ", i, " has dtype ", dtype_name(t.dtype()),
              " but its parameter has dtype ", dtype_name(param.dtype()));
  HERON_CHECK(t.is_contiguous(), Value, "[", op, "] ", what, " ", i, " must be contiguous");
}

void check_param(const char* op, size_t i, const Array& param) {
  HERON_CHECK(param.dtype() == DType::Float32 || param.dtype() == DType::Float64, NotImplemented, "[", op,
              "] the fused update takes float32 or float64 parameters, parameter ", i, " is ", dtype_name(param.dtype()));
  HERON_CHECK(param.is_contiguous(), Value, "[", op, "] parameter ", i, " must be contiguous");
}

void check_count(const char* op, const char* what, size_t got, size_t want) {
  HERON_CHECK(got == want, Value, "[", op, "] expected ", want, " ", what, ", got ", got);
}

}  // namespace

void adam_step_(const std::vector<Array>& params, const std::vector<Array>& grads, const std::vector<Array>& exp_avgs,
                const std::vector<Array>& exp_avg_sqs, const std::vector<Array>& max_exp_avg_sqs,
                const std::vector<double>& steps, const AdamOptions& o) {
  const char* op = "adam";
  const size_t n = params.size();
  check_count(op, "gradients", grads.size(), n);
  check_count(op, "exp_avgs", exp_avgs.size(), n);
  check_count(op, "exp_avg_sqs", exp_avg_sqs.size(), n);
  check_count(op, "max_exp_avg_sqs", max_exp_avg_sqs.size(), o.amsgrad ? n : 0);
  check_count(op, "step counts", steps.size(), n);
  for (size_t i = 0; i < n; ++i) {
    check_param(op, i, params[i]);
    check_like(op, "gradient", i, params[i], grads[i]);
    check_like(op, "exp_avg", i, params[i], exp_avgs[i]);
    check_like(op, "exp_avg_sq", i, params[i], exp_avg_sqs[i]);
    if (o.amsgrad) check_like(op, "max_exp_avg_sq", i, params[i], max_exp_avg_sqs[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    AdamParams p{};
    p.param = params[i].data(), p.grad = grads[i].data();
    p.exp_avg = exp_avgs[i].data(), p.exp_avg_sq = exp_avg_sqs[i].data();
    p.max_exp_avg_sq = o.amsgrad ? max_exp_avg_sqs[i].data() : nullptr;
    p.dtype = params[i].dtype(), p.numel = params[i].numel();
    p.lr = o.lr, p.beta1 = o.beta1, p.beta2 = o.beta2, p.eps = o.eps, p.weight_decay = o.weight_decay;
    p.step_size = o.lr / (1.0 - std::pow(o.beta1, steps[i]));
    p.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, steps[i]));
    p.amsgrad = o.amsgrad, p.maximize = o.maximize, p.decoupled_weight_decay = o.decoupled_weight_decay;
    adam_stub.get_cpu()(p);
    for (const Array* a : {&params[i], &exp_avgs[i], &exp_avg_sqs[i]}) a->bump_version();
    if (o.amsgrad) max_exp_avg_sqs[i].bump_version();
  }
}

void sgd_step_(const std::vector<Array>& params, const std::vector<Array>& grads,
               const std::vector<Array>& momentum_buffers, const SgdOptions& o) {
  const char* op = "sgd";
  const size_t n = params.size();
  check_count(op, "gradients", grads.size(), n);
  check_count(op, "momentum buffers", momentum_buffers.size(), o.momentum != 0.0 ? n : 0);
  for (size_t i = 0; i < n; ++i) {
    check_param(op, i, params[i]);
    check_like(op, "gradient", i, params[i], grads[i]);
    if (o.momentum != 0.0) check_like(op, "momentum buffer", i, params[i], momentum_buffers[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    SgdParams p{};
    p.param = params[i].data(), p.grad = grads[i].data();
    p.momentum_buffer = o.momentum != 0.0 ? momentum_buffers[i].data() : nullptr;
    p.dtype = params[i].dtype(), p.numel = params[i].numel();
    p.lr = o.lr, p.momentum = o.momentum, p.dampening = o.dampening, p.weight_decay = o.weight_decay;
    p.nesterov = o.nesterov, p.maximize = o.maximize, p.first_step = o.first_step;
    sgd_stub.get_cpu()(p);
    params[i].bump_version();
    if (o.momentum != 0.0) momentum_buffers[i].bump_version();
  }
}

}  // namespace heron
