// Fused scaled-dot-product attention: the entry points check the 4-D operands the Python layer
// prepares ([batch, heads, len, dim], the additive mask broadcastable to [batch, heads, L, S])
// and hand the kernel contiguous data. The composite twin is
// heron.nn.functional._sdpa_reference.
#include "core/dispatch.h"
#include "core/errors.h"
#include "core/ops.h"

namespace heron {
namespace {

constexpr const char* kOp = "[scaled_dot_product_attention]";

struct Dims {
  int64_t batch, heads, kv_heads, q_len, kv_len, head_dim, value_dim;
};

Dims check_attention(const Array& q, const Array& k, const Array& v, const Array* mask) {
  HERON_CHECK(q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4, Shape, kOp,
              " the fused kernel takes 4-D [batch, heads, len, dim] operands, got query ", shape_str(q.shape()),
              ", key ", shape_str(k.shape()), ", value ", shape_str(v.shape()));
  HERON_CHECK(q.dtype() == DType::Float32 || q.dtype() == DType::Float64, NotImplemented, kOp,
              " the fused kernel takes float32 or float64, got ", dtype_name(q.dtype()));
  HERON_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), Runtime, kOp,
              " expected query, key and value to have the same dtype, got ", dtype_name(q.dtype()), ", ",
              dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  const Dims d{q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
  HERON_CHECK(k.size(0) == d.batch && v.size(0) == d.batch && v.size(1) == d.kv_heads && v.size(2) == d.kv_len &&
                  k.size(3) == d.head_dim,
              Shape, kOp, " mismatched shapes: query ", shape_str(q.shape()), ", key ", shape_str(k.shape()),
              ", value ", shape_str(v.shape()));
  HERON_CHECK(d.kv_heads > 0 ? d.heads % d.kv_heads == 0 : d.heads == 0, Shape, kOp, " the number of query heads (",
              d.heads, ") must be a multiple of the number of key/value heads (", d.kv_heads, ")");
  if (mask) {
    HERON_CHECK(mask->dtype() == q.dtype(), Runtime, kOp, " the additive mask must have the query's dtype ",
                dtype_name(q.dtype()), ", got ", dtype_name(mask->dtype()));
    HERON_CHECK(mask->ndim() <= 4, Shape, kOp, " a mask of shape ", shape_str(mask->shape()),
                " does not broadcast to [batch, heads, L, S]");
    const int64_t full[4] = {d.batch, d.heads, d.q_len, d.kv_len};
    const int64_t lead = 4 - mask->ndim();
    for (int64_t i = 0; i < mask->ndim(); ++i)
      HERON_CHECK(mask->size(i) == 1 || mask->size(i) == full[lead + i], Shape, kOp, " a mask of shape ",
                  shape_str(mask->shape()), " does not broadcast to [", d.batch, ", ", d.heads, ", ", d.q_len, ", ",
                  d.kv_len, "]");
  }
  return d;
}

AttentionParams base_params(const Dims& d, DType dtype, double scale, bool causal, const AttentionDropout& dropout) {
  HERON_CHECK(dropout.p >= 0 && dropout.p <= 1, Value, kOp, " dropout probability has to be between 0 and 1, but got ",
              dropout.p);
  AttentionParams p{};
  p.dropout_p = dropout.p, p.dropout_seed = dropout.seed, p.dropout_offset = dropout.offset;
  p.dtype = dtype;
  p.batch = d.batch, p.heads = d.heads, p.kv_heads = d.kv_heads;
  p.q_len = d.q_len, p.kv_len = d.kv_len, p.head_dim = d.head_dim, p.value_dim = d.value_dim;
  p.scale = scale, p.causal = causal;
  return p;
}

// The mask's element strides as seen from [batch, heads, L, S], 0 where it broadcasts.
void set_mask(AttentionParams& p, const Array* mask, Array& keep_alive) {
  if (!mask) return;
  keep_alive = *mask;
  p.mask = keep_alive.data();
  const int64_t lead = 4 - mask->ndim();
  for (int i = 0; i < 4; ++i) {
    const int64_t md = i - lead;
    p.mask_strides[i] = (md < 0 || mask->size(md) == 1) ? 0 : mask->strides()[md];
  }
}

}  // namespace

std::pair<Array, Array> attention_forward(const Array& query, const Array& key, const Array& value, const Array* mask,
                                          double scale, bool causal, const AttentionDropout& dropout) {
  const Dims d = check_attention(query, key, value, mask);
  const Array q = contiguous(query), k = contiguous(key), v = contiguous(value);
  Array out = Array::empty({d.batch, d.heads, d.q_len, d.value_dim}, q.dtype());
  Array lse = Array::empty({d.batch, d.heads, d.q_len}, q.dtype());
  if (out.numel() == 0 && lse.numel() == 0) return {out, lse};
  AttentionParams p = base_params(d, q.dtype(), scale, causal, dropout);
  Array mask_ref;
  set_mask(p, mask, mask_ref);
  p.q = q.data(), p.k = k.data(), p.v = v.data();
  p.out = out.data(), p.lse = lse.data();
  attention_stub.get_cpu()(p);
  return {out, lse};
}

std::tuple<Array, Array, Array> attention_backward(const Array& grad_out, const Array& query, const Array& key,
                                                   const Array& value, const Array& out, const Array& lse,
                                                   const Array* mask, double scale, bool causal,
                                                   const AttentionDropout& dropout) {
  const Dims d = check_attention(query, key, value, mask);
  const Shape out_shape{d.batch, d.heads, d.q_len, d.value_dim};
  HERON_CHECK(grad_out.shape() == out_shape && out.shape() == out_shape && grad_out.dtype() == query.dtype() &&
                  out.dtype() == query.dtype(),
              Runtime, kOp, " backward expects the gradient and output of shape ", shape_str(out_shape));
  HERON_CHECK(lse.shape() == Shape({d.batch, d.heads, d.q_len}) && lse.dtype() == query.dtype(), Runtime, kOp,
              " backward needs the forward's per-row log-sum-exp");
  const Array q = contiguous(query), k = contiguous(key), v = contiguous(value);
  const Array g = contiguous(grad_out), o = contiguous(out), l = contiguous(lse);
  Array dq = Array::empty(q.shape(), q.dtype()), dk = Array::empty(k.shape(), q.dtype()),
        dv = Array::empty(v.shape(), q.dtype());
  AttentionParams p = base_params(d, q.dtype(), scale, causal, dropout);
  Array mask_ref;
  set_mask(p, mask, mask_ref);
  p.q = q.data(), p.k = k.data(), p.v = v.data(), p.out = const_cast<char*>(o.data()), p.lse = const_cast<char*>(l.data());
  p.grad_out = g.data(), p.grad_q = dq.data(), p.grad_k = dk.data(), p.grad_v = dv.data();
  p.backward = true;
  if (d.q_len == 0 || d.kv_len == 0) {  // nothing attends: every gradient is zero
    for (Array* t : {&dq, &dk, &dv}) fill_(*t, Scalar::from_double(0));
    return {dq, dk, dv};
  }
  attention_stub.get_cpu()(p);
  return {dq, dk, dv};
}

}  // namespace heron
