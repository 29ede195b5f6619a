// Random number entry points over the counter-based Philox stream.
#include <cmath>

#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {

PhiloxKey Generator::take(int64_t draws) {
  PhiloxKey key{seed, offset};
  offset += uint64_t((draws + 1) / 2);  // each counter block serves two draws
  return key;
}

Generator& default_generator() {
  static Generator gen{67280421310721ull, 0};
  return gen;
}

void random_(int kind, const Array& out, Generator& gen, double a, double b) {
  static const char* names[] = {"uniform_", "normal_", "random_", "bernoulli_"};
  const char* name = names[kind];
  if (kind == kUniform)
    HERON_CHECK(a <= b, Runtime, "[", name, "] uniform_ expects to return a [from, to) range, but found from=", a,
                " > to=", b);
  if (kind == kNormal) HERON_CHECK(b >= 0, Runtime, "[", name, "] normal expects std >= 0.0, but found std ", b);
  if (kind == kRandint) HERON_CHECK(a < b, Runtime, "[", name, "] random_ expects 'from' to be less than 'to', but got from=", a, " >= to=", b);
  if (kind == kBernoulli) HERON_CHECK(a >= 0 && a <= 1, Runtime, "[", name, "] bernoulli_ expects p to be in [0, 1], but got p=", a);
  if ((kind == kUniform || kind == kNormal))
    HERON_CHECK(is_floating(out.dtype()), Runtime, "[", name, "] \"", name, "\" not implemented for '", dtype_name(out.dtype()), "'");
  out.bump_version();
  if (out.numel() == 0) return;
  Array work = out.is_contiguous() ? out : Array::empty(out.shape(), out.dtype());
  RandomParams p{};
  p.out = work.data();
  p.dtype = work.dtype();
  p.numel = work.numel();
  p.key = gen.take(p.numel);
  p.a = a;
  p.b = b;
  random_stub.get_cpu()(kind, p);
  if (work.data() != out.data()) copy_(out, work, name);
}

Array dropout_mask(const Shape& shape, DType dtype, double p, uint64_t seed, uint64_t offset) {
  HERON_CHECK(p >= 0 && p <= 1, Value, "dropout probability has to be between 0 and 1, but got ", p);
  HERON_CHECK(dtype == DType::Float32 || dtype == DType::Float64, Type, "[dropout_mask] expects float32 or float64, got ",
              dtype_name(dtype));
  Array out = Array::empty(shape, dtype);
  if (out.numel() == 0) return out;
  RandomParams params{};
  params.out = out.data();
  params.dtype = dtype;
  params.numel = out.numel();
  params.key = PhiloxKey{seed, offset};
  params.a = p;
  random_stub.get_cpu()(kDropoutMask, params);
  return out;
}

Array randperm(int64_t n, Generator& gen, DType dtype) {
  HERON_CHECK(n >= 0, Runtime, "[randperm] n must be non-negative, got", n);
  Array keys = Array::empty({n}, DType::Int64);
  random_(kRandint, keys, gen, 0.0, 4611686018427387904.0);  // 2^62: ties are vanishingly rare, and stable
  return cast(sort(keys, 0, false, true).second, dtype);
}

Array multinomial(const Array& probs, int64_t num_samples, bool replacement, Generator& gen) {
  HERON_CHECK(probs.ndim() == 1 || probs.ndim() == 2, Runtime, "[multinomial] prob_dist must be 1 or 2 dim, got ",
              probs.ndim());
  HERON_CHECK(is_floating(probs.dtype()), Runtime, "[multinomial] multinomial only supports floating-point dtypes for input, got: ",
              dtype_name(probs.dtype()));
  HERON_CHECK(num_samples > 0, Runtime, "[multinomial] cannot sample n_sample <= 0 samples");
  Array p2 = contiguous(cast(probs.ndim() == 1 ? probs.unsqueeze(0) : probs, DType::Float64));
  int64_t rows = p2.shape()[0], cats = p2.shape()[1];
  HERON_CHECK(cats > 0, Runtime, "[multinomial] number of categories cannot be zero");
  HERON_CHECK(replacement || num_samples <= cats, Runtime,
              "[multinomial] cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  const double* w = p2.data_as<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    int64_t positive = 0;
    for (int64_t c = 0; c < cats; ++c) {
      double v = w[r * cats + c];
      HERON_CHECK(std::isfinite(v) && v >= 0, Runtime, "[multinomial] probability tensor contains either `inf`, `nan` or element < 0");
      sum += v;
      positive += v > 0;
    }
    HERON_CHECK(sum > 0, Runtime, "[multinomial] invalid multinomial distribution (sum of probabilities <= 0)");
    HERON_CHECK(replacement || positive >= num_samples, Runtime,
                "[multinomial] invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)");
  }
  Array out = Array::empty({rows, num_samples}, DType::Int64);
  MultinomialParams p{};
  p.probs = w;
  p.out = out.data_as<int64_t>();
  p.rows = rows;
  p.categories = cats;
  p.samples = num_samples;
  p.replacement = replacement;
  p.key = gen.take(rows * std::max(cats, num_samples));
  multinomial_stub.get_cpu()(p);
  return probs.ndim() == 1 ? out.squeeze({0}) : out;
}

}  // namespace heron
