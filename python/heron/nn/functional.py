"""heron.nn.functional: activations, softmax, linear and embedding layers, dropout (element and
channel-wise), attention, normalisation (layer, RMS, batch, instance, group, local response),
distances and losses, with torch's keyword arguments, defaults and errors. Convolutions
(``_conv``), padding and pooling (``_pooling``) and resampling (``_resample``) live in their own
files and are re-exported here.

Layer norm, RMS norm and cross-entropy are written as composites of heron ops in private
``_*_composite`` functions, and scaled-dot-product attention in ``_sdpa_reference``: they are
the specification (and test reference) for the fused kernels placed in front of them.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

import heron

from ..autograd import Function
from ..ops import attention as _attention
from ..ops import elementwise as _ew
from ..ops import reduce as _red
from ..ops.creation import dropout_stream_key, dropout_stream_mask
from ..ops.loss import cross_entropy_rows
from ..ops.normalization import fused_batch_norm, fused_norm


def _act(name, input, inplace, p0=0.0, p1=0.0):
    if inplace:
        return _ew.unary_(name, input, p0, p1)
    return _ew.unary(name, input, p0, p1)


def relu(input, inplace=False):
    return _act("relu", input, inplace)


def relu_(input):
    return relu(input, True)


def relu6(input, inplace=False):
    return _act("relu6", input, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _act("leaky_relu", input, inplace, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def elu(input, alpha=1.0, inplace=False):
    return _act("elu", input, inplace, alpha, 1.0)


def celu(input, alpha=1.0, inplace=False):
    return elu(input / alpha, 1.0) * alpha if not inplace else _ew._copy_into(input, elu(input / alpha, 1.0) * alpha)


def selu(input, inplace=False):
    return _act("selu", input, inplace)


def gelu(input, approximate="none"):
    if approximate == "none":
        return _ew.unary("gelu", input)
    if approximate == "tanh":
        return _ew.unary("gelu_tanh", input)
    raise RuntimeError(f"approximate argument must be either none or tanh, got '{approximate}'")


def silu(input, inplace=False):
    return _act("silu", input, inplace)


def mish(input, inplace=False):
    return _act("mish", input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    return _ew.unary("softplus", input, beta, threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act("hardtanh", input, inplace, min_val, max_val)


def hardsigmoid(input, inplace=False):
    return _act("hardsigmoid", input, inplace)


def hardswish(input, inplace=False):
    return _act("hardswish", input, inplace)


def logsigmoid(input):
    return _ew.unary("logsigmoid", input)


def sigmoid(input):
    return _ew.sigmoid(input)


def tanh(input):
    return _ew.tanh(input)


def softsign(input):
    return input / (_ew.abs(input) + 1.0)


def tanhshrink(input):
    return input - _ew.tanh(input)


def threshold(input, threshold, value, inplace=False):
    out = _ew.where(input > threshold, input, value)
    return _ew._copy_into(input, out) if inplace else out


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.log_softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(-input, dim, dtype)


def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.size(dim)
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}")
    half = size // 2
    return input.narrow(dim, 0, half) * _ew.sigmoid(input.narrow(dim, half, half))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denom = _ew.clamp_min(_red.norm(input, p, dim, keepdim=True), eps)
    return input / denom


def one_hot(tensor, num_classes=-1):
    from ..ops.indexing import one_hot as _one_hot

    return _one_hot(tensor, num_classes)


# ---------------------------------------------------------------------------- shared checks
def _unsupported(op, **options):
    """NotImplementedError naming the first torch option given a value heron does not support.
    ``options`` maps each option name to (value given, the only value heron supports)."""
    for name, (value, supported) in options.items():
        if value != supported:
            raise NotImplementedError(f"{op}: {name}={value!r} is not supported by heron (only {name}={supported!r})")


def _require_floating(op, dtype, error=RuntimeError):
    """Raises ``error`` (the type torch raises, which varies by op) for an integer or bool
    ``dtype`` given to a float-only op."""
    if not dtype.is_floating_point:
        raise error(f"{op}: expected a floating-point input, got {dtype}")


def _check_index_dtype(indices, op):
    if indices.dtype not in (heron.int64, heron.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.type()} instead (while checking arguments for {op})")


def _class_shape(ndim, class_dim, size):
    """Shape that broadcasts a per-class vector along ``class_dim`` of an ndim-D tensor."""
    shape = [1] * ndim
    shape[class_dim] = size
    return shape


# ---------------------------------------------------------------------------- linear layers
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, as torch.nn.functional.linear: one GEMM with the bias
    added in its epilogue (heron.ops.linalg.linear)."""
    return heron.ops.linalg.linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = input1 @ weight[o] @ input2 + bias[o]``, as torch.nn.functional.bilinear."""
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for d in range(input1.ndim - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{input1.shape[d]} and {input2.shape[d]}")
    if weight.ndim != 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{weight.ndim}, {weight.ndim - 1}], but got 2)")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but expected {in2}")
    if bias is not None and bias.numel() != out_features:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.numel()} but expected {out_features}")
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # One GEMM gives x1 @ weight[o] for every o; the contraction with x2 is elementwise.
    left = heron.matmul(x1, weight.permute(1, 0, 2).reshape(in1, out_features * in2)).reshape(-1, out_features, in2)
    out = (left * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*batch, out_features)


# ---------------------------------------------------------------------------- embeddings
def _normalize_padding_idx(padding_idx, num_embeddings, what="Padding_idx"):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(f"{what} must be within num_embeddings")
    return padding_idx % num_embeddings


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``; output shape ``input.shape + (dim,)``.
    The ``padding_idx`` row gets no gradient."""
    _unsupported("embedding", max_norm=(max_norm, None), scale_grad_by_freq=(scale_grad_by_freq, False),
                 sparse=(sparse, False))
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    _check_index_dtype(input, "embedding")
    padding_idx = _normalize_padding_idx(padding_idx, weight.shape[0])
    flat = input.reshape(-1)
    rows = heron.index_select(weight, 0, flat)
    if padding_idx is not None and rows.requires_grad:
        # The padding row's value is returned but its gradient is cut, as in torch.
        rows = heron.where((flat == padding_idx).unsqueeze(1), rows.detach(), rows)
    return rows.reshape(*input.shape, weight.shape[1])


def _bag_of_each_index(offsets, num_indices, include_last_offset):
    """(bag id of each index, number of bags) from torch's ``offsets`` (bag starts). The last
    bag runs to the end of the input; with include_last_offset the final offset only closes
    the list (torch ignores its value too)."""
    starts = np.asarray(offsets.detach().numpy(), dtype=np.int64)
    if starts.size and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {starts[0]}")
    if starts.size and starts[-1] > num_indices:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {num_indices} but got offsets[-1] of "
                           f"{starts[-1]}")
    if np.any(np.diff(starts) < 0):
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {starts.tolist()}")
    if include_last_offset:
        starts = starts[:-1]
    return np.searchsorted(starts, np.arange(num_indices), side="right") - 1, len(starts)


def _flat_bags(input, offsets, per_sample_weights, include_last_offset):
    """The 1-D indices, offsets, per-sample weights and include_last_offset of either form of
    embedding_bag's input: a 2-D batch of equal bags, or 1-D indices with offsets."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                             f"length sequences. However, found offsets of type {type(offsets)}")
        offsets = heron.arange(0, input.numel(), max(input.shape[1], 1))[:input.shape[0]]
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
        return input.reshape(-1), offsets, per_sample_weights, False
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    return input, offsets, per_sample_weights, include_last_offset


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums or means of bags of embedding rows, as torch.nn.functional.embedding_bag.

    A 2-D ``input`` is a batch of fixed-length bags; a 1-D one is cut into bags at
    ``offsets``. Indices equal to ``padding_idx`` are left out (and not counted by 'mean');
    an empty bag gives zeros.
    """
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it must "
                         f"have the same shape as the input ({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    input, offsets, per_sample_weights, include_last_offset = _flat_bags(input, offsets, per_sample_weights,
                                                                         include_last_offset)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max":
        raise NotImplementedError("embedding_bag: mode='max' is not supported by heron (only 'sum' and 'mean')")
    _unsupported("embedding_bag", max_norm=(max_norm, None), scale_grad_by_freq=(scale_grad_by_freq, False),
                 sparse=(sparse, False))
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only supported "
                                  f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    _check_index_dtype(input, "embedding_bag")
    _check_index_dtype(offsets, "embedding_bag")
    padding_idx = _normalize_padding_idx(padding_idx, weight.shape[0], "padding_idx")
    bag, num_bags = _bag_of_each_index(offsets, input.numel(), include_last_offset)
    keep = bag >= 0  # -1: no bag at all (empty offsets)
    if padding_idx is not None:
        keep &= input.numpy() != padding_idx
    kept = heron.tensor(np.flatnonzero(keep), dtype=heron.int64)
    rows = heron.index_select(weight, 0, heron.index_select(input, 0, kept))
    if per_sample_weights is not None:
        rows = rows * heron.index_select(per_sample_weights, 0, kept).unsqueeze(1)
    bag_ids = heron.tensor(bag[keep], dtype=heron.int64)
    out = heron.index_add(heron.zeros(num_bags, weight.shape[1], dtype=rows.dtype), 0, bag_ids, rows)
    if mode == "mean":
        counts = np.maximum(np.bincount(bag[keep], minlength=num_bags), 1)
        out = out / heron.tensor(counts, dtype=out.dtype).unsqueeze(1)
    return out


# ---------------------------------------------------------------------------- dropout
_SELU_ALPHA = 1.7580993408473766  # alpha dropout's alpha: -SELU's saturation value / its scale, as torch


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability ``p`` and scales the rest by 1 / (1 - p) (only
    when ``training``). Draws come from heron's generator: ``heron.manual_seed`` reproduces them."""
    _check_dropout_probability(p)
    return _dropout(input, p, training, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation value, then
    an affine map keeps the mean and variance (only when ``training``)."""
    _check_dropout_probability(p)
    return _dropout(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels: one draw per (sample, channel) of (N, C, ...)."""
    _check_dropout_probability(p)
    return _dropout(input, p, training, inplace, drawn_dims=2, alpha=True)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, L) or (C, L) with probability ``p`` (one draw per
    channel), scaling the others by 1 / (1 - p)."""
    _check_dropout_probability(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, drawn_dims=input.ndim - 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, H, W) with probability ``p``. As torch, a 3-D input is
    read as (N, C, L) (with a warning), not as an unbatched (C, H, W)."""
    _check_dropout_probability(p)
    _warn_if_not_channels(input, 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    return _dropout(input, p, training, inplace, drawn_dims=2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    _check_dropout_probability(p)
    _warn_if_not_channels(input, 3)
    return _dropout(input, p, training, inplace, drawn_dims=2 if input.ndim == 5 else 1)


def _warn_if_not_channels(input, spatial_dims):
    """torch's deprecation warning for a dropout{2,3}d input of another rank (still run)."""
    if input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        op = f"dropout{spatial_dims}d"
        warnings.warn(f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use dropout "
                      f"instead. Note that {op} exists to provide channel-wise dropout on inputs with {spatial_dims} "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial_dims + 1}D or {spatial_dims + 2}D inputs).", stacklevel=3)


def _check_dropout_probability(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, training, inplace, drawn_dims=None, alpha=False):
    """torch's _dropout_impl. One Bernoulli(1 - p) draw per element, or per index of the
    first ``drawn_dims`` dims (feature dropout: whole channels), broadcast over the rest.
    Plain dropout scales the kept elements by 1 / (1 - p); alpha dropout sets the dropped
    ones to -alpha' and applies the affine map that keeps the mean and variance."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return input.mul_(0) if inplace else input * 0
    if drawn_dims is not None and input.ndim < drawn_dims:  # (N, C) at least; (C,) for an unbatched input
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if not input.is_floating_point():
        raise RuntimeError(f"result type Float can't be cast to the desired output type {input.dtype}")
    shape = tuple(input.shape)
    if drawn_dims is not None:
        shape = shape[:drawn_dims] + (1,) * (input.ndim - drawn_dims)
    keep = heron.empty(shape, dtype=input.dtype).bernoulli_(1.0 - p)
    if not alpha:
        scaled_keep = keep.mul_(1.0 / (1.0 - p))
        return input.mul_(scaled_keep) if inplace else input * scaled_keep
    a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1) * (1 - p))
    shift = (keep - 1.0) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
    return input.mul_(keep * a).add_(shift) if inplace else input * (keep * a) + shift


# ---------------------------------------------------------------------------- attention
def _require_tensor(op, name, position, value, optional=False):
    if not isinstance(value, heron.Tensor) and not (optional and value is None):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not {type(value).__name__}")


def _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa):
    """torch's checks for scaled_dot_product_attention, with its exception types."""
    op = "scaled_dot_product_attention"
    for position, (name, t) in enumerate((("query", query), ("key", key), ("value", value)), start=1):
        _require_tensor(op, name, position, t)
    _require_tensor(op, "attn_mask", 4, attn_mask, optional=True)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{op}: expected query, key, and value to all be at least 2 dimensional, but got "
                           f"query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if not query.dtype is key.dtype is value.dtype:
        raise RuntimeError(f"{op}: expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead.")
    _require_floating(op, query.dtype)
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(f"{op}: Explicit attn_mask should not be set when is_causal=True")
        if attn_mask.dtype not in (heron.bool, heron.float32, query.dtype):
            raise RuntimeError(f"{op}: expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {attn_mask.dtype} and query.dtype: {query.dtype} instead.")
        if attn_mask.ndim < 2:
            raise IndexError(f"{op}: Dimension out of range (attn_mask must have at least 2 dims (L, S), got "
                             f"{attn_mask.ndim})")
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{op}: query and key must have the same embedding size, got query {list(query.shape)} and "
                           f"key {list(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: key and value must have the same sequence length, got key {list(key.shape)} and "
                           f"value {list(value.shape)}")
    if enable_gqa:
        if min(query.ndim, key.ndim, value.ndim) < 3:
            raise IndexError(f"{op}: enable_gqa needs a heads dim (-3) in query, key and value, got query.dim: "
                             f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim}")
        heads = (query.shape[-3], key.shape[-3], value.shape[-3])
        if heads[0] % heads[1] or heads[0] % heads[2]:
            raise RuntimeError(f"{op}: Number of heads in key and value must divide the number of heads in query, got "
                               f"{heads[0]} query heads, {heads[1]} key heads and {heads[2]} value heads")
    key_batch, value_batch = tuple(key.shape[:-2]), tuple(value.shape[:-2])
    if enable_gqa:  # the heads dims after repeating
        key_batch, value_batch = key_batch[:-1] + query.shape[-3:-2], value_batch[:-1] + query.shape[-3:-2]
    batch = heron.broadcast_shapes(tuple(query.shape[:-2]), key_batch)
    heron.broadcast_shapes(batch, value_batch)
    scores_shape = tuple(batch) + (query.shape[-2], key.shape[-2])
    if attn_mask is not None and tuple(heron.broadcast_shapes(tuple(attn_mask.shape), scores_shape)) != scores_shape:
        raise RuntimeError(f"{op}: attn_mask of shape {list(attn_mask.shape)} does not broadcast to the attention "
                           f"scores' shape {list(scores_shape)}")


def _repeat_kv_heads(query, key, value, enable_gqa):
    """Grouped-query attention: each key/value head repeated for its group of query heads (dim
    -3), as torch's repeat_interleave; key and value as they are without ``enable_gqa``."""
    if not enable_gqa:
        return key, value

    def repeat(t):
        heads, groups = t.shape[-3], query.shape[-3] // t.shape[-3]
        if groups == 1:
            return t
        lead = tuple(t.shape[:-3])
        expanded = t.unsqueeze(-3).expand(*lead, heads, groups, *t.shape[-2:])
        return expanded.reshape(*lead, heads * groups, *t.shape[-2:])

    return repeat(key), repeat(value)


def _sdpa_scale(head_dim, scale):
    """The factor applied to q @ k^T: ``scale``, or 1 / sqrt(E) by default."""
    if scale is not None:
        return float(scale)
    return 1.0 / math.sqrt(head_dim) if head_dim else math.inf


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(q @ k^T * scale + mask) @ v over the last two dims of query (..., L, E), key
    (..., S, E) and value (..., S, Ev), as torch.nn.functional.scaled_dot_product_attention.

    ``attn_mask`` broadcasts to (..., L, S): a bool mask marks the pairs that take part
    (True), a float mask is added to the scores. ``is_causal`` lets query i see keys
    0..i (torch's top-left alignment when L != S). ``scale`` defaults to 1/sqrt(E).
    ``enable_gqa`` repeats each key/value head for its group of query heads (dim -3).
    Dropout (when ``dropout_p`` > 0, whatever the training mode) draws from heron's
    generator. A query row with no key to attend to returns zeros, as torch does.
    The fused kernel runs the calls it covers; the others run the composite twin
    ``_sdpa_reference``.
    """
    _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    if _attention.fused_sdpa_applies(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
        return _attention.fused_sdpa(query, key, value, attn_mask, is_causal, scale, enable_gqa, dropout_p)
    return _sdpa_reference(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


def _sdpa_reference(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
                    _dropout_key=None):
    """Reference attention from heron ops (the composite twin of the fused kernel; arguments
    already validated): matmul, mask, softmax, dropout, matmul. float16/bfloat16 are
    computed in float32. Rows whose scores are all -inf give zeros (torch's safe softmax),
    with zero gradients. Dropout draws its mask from the dropout stream as the fused kernel
    does (``_dropout_key``: a key already drawn, e.g. by the fused forward)."""
    L, S = query.shape[-2], key.shape[-2]
    key, value = _repeat_kv_heads(query, key, value, enable_gqa)
    q, k, v = _upcast(query), _upcast(key), _upcast(value)
    scores = heron.matmul(q * _sdpa_scale(query.shape[-1], scale), k.transpose(-2, -1))
    if is_causal:
        scores = scores.masked_fill(~heron.ones(L, S, dtype=heron.bool).tril(), -math.inf)
        probs = heron.softmax(scores, -1)  # top-left aligned: every row keeps key 0
    elif attn_mask is not None:
        if attn_mask.dtype is heron.bool:
            scores = scores.masked_fill(~attn_mask, -math.inf)
        else:
            scores = scores + attn_mask
        probs = _safe_softmax(scores)
    else:
        probs = heron.softmax(scores, -1)
    if dropout_p > 0.0:
        key = _dropout_key if _dropout_key is not None else dropout_stream_key(probs.numel())
        probs = probs * dropout_stream_mask(probs.shape, probs.dtype, dropout_p, key)
    return heron.matmul(probs, v).to(query.dtype)


def _safe_softmax(scores):
    """Softmax over the last dim that gives 0 (and a zero gradient) on rows that are all
    -inf, where the plain softmax gives nan."""
    dead = (scores == -math.inf).all(-1, keepdim=True)
    if not bool(dead.any()):
        return heron.softmax(scores, -1)
    probs = heron.softmax(scores.masked_fill(dead, 0.0), -1)
    return probs.masked_fill(dead, 0.0)


# ---------------------------------------------------------------------------- multi-head attention
def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, heron.Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or heron.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked out) as an additive float mask of ``target_type`` (0 or
    -inf); a float mask as it is, as torch's helper of the same name."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype is not heron.bool and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=2)
    if not is_float:
        mask = heron.zeros(mask.shape, dtype=target_type).masked_fill(mask, -math.inf)
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True for batched (3-D) inputs, False for unbatched (2-D) ones; AssertionError (as
    torch) for any other combination of dims."""
    if query.ndim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
                             f"{key.ndim}-D and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or {query.ndim - 1}-D but "
                             f"found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.ndim}-D tensor instead")
        if not batched and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
    return batched


def _in_projection_packed(q, k, v, w, b=None):
    """q, k and v projected by the three row blocks of the packed ``w`` (and ``b``); one GEMM
    for self-attention, two when key is value."""
    E = q.shape[-1]
    if k is v:
        if q is k:
            return linear(q, w, b).chunk(3, -1)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        return (linear(q, w_q, b_q),) + tuple(linear(k, w_kv, b_kv).chunk(2, -1))
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """q, k and v projected by their own weights (MultiheadAttention with kdim/vdim)."""
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for what, t, shape in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                           ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)), ("key bias", b_k, (Eq,)),
                           ("value bias", b_v, (Eq,))):
        if t is not None and tuple(t.shape) != shape:
            raise AssertionError(f"expecting {what} shape of {shape}, but got {t.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _pad_last_dim(t):
    """``t`` with one zero appended along its last dim (torch's pad(t, (0, 1)))."""
    return heron.cat([t, heron.zeros(*t.shape[:-1], 1, dtype=t.dtype)], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k,
                                 bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention on (L, N, E) query and (S, N, E) key/value (or unbatched (L, E)
    and (S, E)), as torch.nn.functional.multi_head_attention_forward: returns the output
    and, with ``need_weights``, the attention weights (N, L, S), averaged over heads unless
    ``average_attn_weights`` is False ((N, num_heads, L, S)). Without ``need_weights`` the
    heads run through scaled_dot_product_attention."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
                           "`generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint is trusted: sdpa applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}")
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)

    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if attn_mask.ndim not in (2, 3):
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the {attn_mask.ndim}D attn_mask is {attn_mask.shape}, but should be "
                               f"{expected}.")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k = heron.cat([k, bias_k.repeat(1, bsz, 1)])
        v = heron.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else _pad_last_dim(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last_dim(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else "bias_v is set but bias_k is None")

    # (length, batch, embed) -> (batch * heads, length, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads_first(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads_first(v, static_v, "static_v", bsz * num_heads, head_dim)
    if add_zero_attn:
        zeros = heron.zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype)
        k, v = heron.cat([k, zeros], 1), heron.cat([v, zeros.to(v.dtype)], 1)
        attn_mask = None if attn_mask is None else _pad_last_dim(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last_dim(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = (key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        if attn_mask is not None:
            weights = heron.baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            weights = heron.bmm(q_scaled, k.transpose(-2, -1))
        weights = softmax(weights, dim=-1)  # a fully masked row gives nan here, as in torch
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = heron.bmm(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if is_batched else out.squeeze(1)), None


def _heads_first(t, static, name, batch_heads, head_dim):
    """(length, batch, embed) -> (batch * heads, length, head_dim), or the given ``static``
    key/value (already in that layout) after checking its shape."""
    if static is None:
        return t.reshape(t.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting {name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static


# ---------------------------------------------------------------------------- normalisation
_REDUCED_PRECISION = ("float16", "bfloat16")
_MACHINE_EPSILON = {"float16": 0.0009765625, "bfloat16": 0.0078125, "float32": 1.1920928955078125e-07,
                    "float64": 2.220446049250313e-16}


def _as_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized_shape(input, normalized_shape, expected_input, affine):
    """torch's checks for layer_norm/rms_norm: trailing input dims and affine tensors match."""
    if not normalized_shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    shape = list(normalized_shape)
    for name, tensor in affine.items():
        if tensor is not None and tuple(tensor.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(tensor.shape)} and normalized_shape = {shape}")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape {expected_input(shape)}, but got "
                           f"input of size{list(input.shape)}")


def _upcast(x):
    """float16/bfloat16 are normalised in float32, as torch does."""
    return x.float() if x.dtype._name in _REDUCED_PRECISION else x


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises over the trailing ``normalized_shape`` dims (biased variance), then applies
    the elementwise ``weight`` and ``bias``."""
    normalized_shape = _as_shape(normalized_shape)
    _check_normalized_shape(input, normalized_shape, lambda s: "[*, " + str(s)[1:], {"weight": weight, "bias": bias})
    _require_floating("layer_norm", input.dtype, NotImplementedError)
    if _fused_norm_applies(input, weight, bias):
        return fused_norm(input, weight, bias, _prod(normalized_shape), eps, False,
                          lambda x, w, b: _layer_norm_composite(x, normalized_shape, w, b, eps))
    return _layer_norm_composite(input, normalized_shape, weight, bias, eps)


def _fused_norm_applies(input, *affine):
    return input.dtype in (heron.float32, heron.float64) and input.numel() > 0 and all(
        t is None or t.dtype is input.dtype for t in affine)


def _prod(values):
    out = 1
    for v in values:
        out *= v
    return out


def _layer_norm_composite(input, normalized_shape, weight, bias, eps):
    """Reference layer norm from heron ops: (x - mean) / sqrt(var + eps) * weight + bias."""
    dims = tuple(range(-len(normalized_shape), 0))
    x = _upcast(input)
    centered = x - x.mean(dims, keepdim=True)
    out = centered * heron.rsqrt((centered * centered).mean(dims, keepdim=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.to(input.dtype)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Divides by the root mean square over the trailing ``normalized_shape`` dims, then
    multiplies by ``weight``. ``eps`` defaults to the machine epsilon of the input's dtype."""
    normalized_shape = _as_shape(normalized_shape)
    if input.ndim < len(normalized_shape):
        raise ValueError(f"Input tensor must have at least {len(normalized_shape)} dimensions, but got {input.ndim}")
    _check_normalized_shape(input, normalized_shape, lambda s: "[*" + str(s)[1:], {"weight": weight})
    _require_floating("rms_norm", input.dtype, NotImplementedError)
    if eps is None:
        eps = _MACHINE_EPSILON[input.dtype._name]
    if _fused_norm_applies(input, weight):
        return fused_norm(input, weight, None, _prod(normalized_shape), eps, True,
                          lambda x, w, b: _rms_norm_composite(x, normalized_shape, w, eps))
    return _rms_norm_composite(input, normalized_shape, weight, eps)


def _rms_norm_composite(input, normalized_shape, weight, eps):
    """Reference RMS norm from heron ops: x / sqrt(mean(x^2) + eps) * weight."""
    dims = tuple(range(-len(normalized_shape), 0))
    x = _upcast(input)
    out = x * heron.rsqrt((x * x).mean(dims, keepdim=True) + eps)
    if weight is not None:
        out = out * weight
    return out.to(input.dtype)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalises each channel (dim 1) over the batch and any trailing dims.

    In training the batch statistics are used and, when given, ``running_mean``/``running_var``
    are updated in place: ``(1 - momentum) * running + momentum * batch`` with the unbiased
    batch variance. Otherwise the running statistics are used.
    """
    if training and input.ndim:
        _verify_batch_size(input.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = input.shape[1] if input.ndim > 1 else 0
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if tensor is not None and tensor.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")
    if input.ndim < 2:  # no channel dim
        n = max(input.ndim, 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got 1)")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _require_floating("batch_norm", input.dtype, NotImplementedError)
    # Gradients reaching the running statistics (eval mode) need the composite.
    stats_need_grad = not training and any(t is not None and t.requires_grad for t in (running_mean, running_var))
    if not stats_need_grad and _fused_batch_norm_applies(input, running_mean, running_var, weight, bias):
        return _fused_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return _batch_norm_composite(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _fused_batch_norm_applies(input, *tensors):
    if input.dtype not in (heron.float32, heron.float64) or input.device.type != "cpu":
        return False
    return all(t is None or (t.dtype == input.dtype and t.device.type == "cpu") for t in tensors)


def _fused_batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm on the fused kernel; the running statistics are updated here from the batch
    mean and 1/std it returns (var = 1/invstd^2 - eps, in float64)."""
    update = training and running_mean is not None and running_var is not None
    # The twin normalises only (batch statistics in training): the running ones are updated once, below.
    stats = (None, None) if training else (running_mean, running_var)

    def twin(x, w, b):
        return _batch_norm_composite(x, *stats, w, b, training, momentum, eps)

    mean, invstd = (None, None) if training else (running_mean, heron.rsqrt(running_var + eps))
    out, mean, invstd = fused_batch_norm(input, weight, bias, mean, invstd, eps, training, twin)
    if update:
        var = (1.0 / invstd.double().square() - eps).to(input.dtype)
        _update_running_stats(running_mean, running_var, mean, var, input.numel() // input.shape[1], momentum)
    return out


def _batch_norm_composite(input, running_mean, running_var, weight, bias, training, momentum, eps):
    """Reference batch norm from heron ops (the fused kernel's twin)."""
    channels = input.shape[1]
    shape = _class_shape(input.ndim, 1, channels)
    dims = [0] + list(range(2, input.ndim))
    if training:
        mean = input.mean(dims)
        centered = input - mean.reshape(shape)
        var = (centered * centered).mean(dims)
        if running_mean is not None and running_var is not None:
            _update_running_stats(running_mean, running_var, mean, var, input.numel() // channels, momentum)
    else:
        mean, var = running_mean, running_var
        centered = input - mean.reshape(shape)
    out = centered * heron.rsqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _verify_batch_size(size):
    values_per_channel = size[0]
    for s in size[2:]:
        values_per_channel *= s
    if values_per_channel == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _update_running_stats(running_mean, running_var, mean, var, count, momentum):
    with heron.no_grad():
        unbiased_var = var * (count / (count - 1))
        running_mean.mul_(1.0 - momentum).add_(mean.to(running_mean.dtype) * momentum)
        running_var.mul_(1.0 - momentum).add_(unbiased_var.to(running_var.dtype) * momentum)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalises each channel of each sample over its spatial dims, as torch: batch_norm of
    the input seen as one sample of N * C channels. ``use_input_stats`` normalises with the
    sample's statistics and updates the running ones (their mean over the batch); otherwise
    the running statistics are used."""
    if use_input_stats:
        _verify_spatial_size(input.shape)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    batch, channels = input.shape[0], input.shape[1]

    def per_sample(t):  # a per-channel tensor repeated for each sample's channels
        return None if t is None else t.repeat(batch)

    running = per_sample(running_mean), per_sample(running_var)
    out = batch_norm(input.reshape(1, batch * channels, *input.shape[2:]), *running, per_sample(weight),
                     per_sample(bias), use_input_stats, momentum, eps)
    with heron.no_grad():
        for stats, repeated in zip((running_mean, running_var), running):
            if stats is not None and use_input_stats:
                stats.copy_(repeated.reshape(batch, channels).mean(0))
    return out.reshape(input.shape)


def _verify_spatial_size(size):
    if _prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {size}")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalises each sample's channels in ``num_groups`` groups (over the group's channels
    and all spatial dims: a layer norm of each group), then applies the per-channel
    ``weight`` and ``bias``."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    batch, channels = input.shape[0], input.shape[1]
    _verify_batch_size([batch * channels // num_groups, num_groups] + list(input.shape[2:]))
    if channels % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and (tensor.ndim != 1 or tensor.numel() != channels):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, but "
                               f"got {name} of shape {list(tensor.shape)} and input of shape {list(input.shape)}")
    _require_floating("group_norm", input.dtype, NotImplementedError)
    group_size = input.numel() // max(batch * num_groups, 1)
    groups = input.reshape(batch, num_groups, group_size)
    out = layer_norm(groups, (group_size,), eps=eps).reshape(input.shape)
    shape = _class_shape(input.ndim, 1, channels)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta, the window
    centred on each channel and zero-padded at the ends (size // 2 before, (size - 1) // 2
    after), as torch."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {input.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    squares = pad(input * input, [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2])
    window_sum = squares.narrow(1, 0, channels)
    for offset in range(1, size):
        window_sum = window_sum + squares.narrow(1, offset, channels)
    return input / ((window_sum / size) * alpha + k) ** beta


# ---------------------------------------------------------------------------- distances
def _clamped_norm(x, dim, eps):
    """||x|| along ``dim`` (kept), at least ``eps``, with the gradient of the unclamped norm
    (torch clamps it in place under no_grad)."""
    norm = heron.norm(x, 2, dim, keepdim=True)
    return norm + (_ew.clamp_min(norm, eps) - norm).detach()


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (after broadcasting); each norm is
    clamped at ``eps``."""
    common = heron.promote_types(x1.dtype, x2.dtype)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {common}")
    x1, x2 = heron.broadcast_tensors(x1.to(common), x2.to(common))
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


# ---------------------------------------------------------------------------- losses: shared
def _legacy_reduction(size_average, reduce, reduction):
    """The reduction named by torch's deprecated size_average/reduce pair (with its warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' instead.",
                  stacklevel=3)
    return legacy


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_if_sizes_differ(input, target):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _elementwise_loss(op, input, target, reduction, weight, loss_fn, *, size_average=None, reduce=None,
                      int_error=None, weighted_mean_by_weight=True):
    """Shared frame of the regression losses: broadcast, per-element ``loss_fn(input -
    target)``, optional per-element ``weight`` (same size as input), reduction.

    ``int_error`` is the exception torch raises for integer inputs (None: integers pass).
    torch's weighted 'mean' divides by the sum of the weights for mse and l1, and by the
    element count for huber (``weighted_mean_by_weight=False``).
    """
    if int_error is not None:
        _require_floating(op, heron.promote_types(input.dtype, target.dtype), int_error)
    _warn_if_sizes_differ(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        _check_reduction(reduction)
    elif weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    input, target = heron.broadcast_tensors(input, target)
    loss = loss_fn(input - target)
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    if reduction == "mean" and weighted_mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)




# ---------------------------------------------------------------------------- losses: regression
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error, optionally weighted per element."""
    return _elementwise_loss("mse_loss", input, target, reduction, weight, lambda d: d * d, size_average=size_average,
                             reduce=reduce, int_error=NotImplementedError)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error, optionally weighted per element."""
    return _elementwise_loss("l1_loss", input, target, reduction, weight, heron.abs, size_average=size_average,
                             reduce=reduce)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic (0.5 d^2 / beta) below ``beta``, linear (|d| - 0.5 beta) above; L1 when beta is 0."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")

    def smooth_l1(diff):
        z = heron.abs(diff)
        return z if beta == 0 else heron.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)

    return _elementwise_loss("smooth_l1_loss", input, target, reduction, None, smooth_l1, size_average=size_average,
                             reduce=reduce, int_error=NotImplementedError)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic (0.5 d^2) below ``delta``, linear (delta (|d| - 0.5 delta)) above; optionally
    weighted per element."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def huber(diff):
        z = heron.abs(diff)
        return heron.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))

    return _elementwise_loss("huber_loss", input, target, reduction, weight, huber, int_error=NotImplementedError,
                             weighted_mean_by_weight=False)


# ---------------------------------------------------------------------------- losses: classification
def _class_index_target(input, target, weight, ignore_index):
    """Checks a class-index target against ``input`` (N, C, d1, ...) or (C,), as torch does, and
    returns it as int64 (a (1,) target of a 1-D input becomes 0-d)."""
    if input.ndim == 0:
        raise RuntimeError("Expected an input of at least 1 dimension (classes), got a 0-d tensor")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim == 1:
        if target.ndim == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        target = target.reshape(())
    else:
        target_batch = target.shape[0] if target.ndim else 0
        if target_batch != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target_batch}).")
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    if target.dtype not in (heron.int64, heron.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_torch_type_name(target.dtype)}")
    _check_class_weight(input, weight)
    num_classes = input.shape[0 if input.ndim == 1 else 1]
    target = target.long()
    values = target.numpy()  # checked on the host: no kernel launches for a small index tensor
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        out_of_range = values[((values < 0) | (values >= num_classes)) & (values != ignore_index)]
        if out_of_range.size:
            raise IndexError(f"Target {out_of_range[0]} is out of bounds.")
    return target


def _torch_type_name(dtype):
    """torch's scalar-type name of a dtype, as its error messages print it."""
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "float32": "Float",
            "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "bool": "Bool"}[dtype._name]


def _check_class_weight(input, weight, op=""):
    """A class weight must be a vector with one entry per class, of the input's dtype."""
    if weight is None:
        return
    num_classes = input.shape[0 if input.ndim == 1 else 1]
    if weight.ndim != 1 or weight.numel() != num_classes:
        raise RuntimeError(f"{op}weight tensor should be defined either for all {num_classes} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_torch_type_name(input.dtype)} but found "
                           f"{_torch_type_name(weight.dtype)}")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities ``input`` (N, C, ...).
    'mean' divides by the summed weights of the targets that are not ``ignore_index``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _class_index_target(input, target, weight, ignore_index)
    _require_floating("nll_loss", input.dtype, NotImplementedError)
    return _nll_loss_composite(input, target, weight, ignore_index, reduction)


def _nll_terms(log_probs, target, weight, ignore_index):
    """(per-target loss, per-target weight), both 0 where target == ignore_index. The weight
    is None when every target counts once (no class weights, nothing ignored)."""
    class_dim = 0 if log_probs.ndim == 1 else 1
    counted = None
    ignored = target.numpy() == ignore_index
    if ignored.any():
        kept = heron.tensor(~ignored)
        target = heron.where(kept, target, 0)
        counted = kept.to(log_probs.dtype)
    picked = heron.gather(log_probs, class_dim, target.unsqueeze(class_dim)).squeeze(class_dim)
    if weight is not None:
        class_weight = heron.index_select(weight, 0, target.reshape(-1)).reshape(target.shape)
        counted = class_weight if counted is None else class_weight * counted
    return (-picked if counted is None else -picked * counted), counted


def _reduce_by_counted(loss, counted, reduction):
    """``reduction`` of per-target losses, where 'mean' is sum(loss) / sum(counted). With
    nothing counted (every target ignored) the mean is nan, as in torch, but its gradient is
    zero rather than 0 * inf."""
    if reduction != "mean" or counted is None:
        return _reduce(loss, reduction)
    total = counted.sum()
    nothing_counted = total == 0
    return loss.sum() / heron.where(nothing_counted, 1.0, total) + heron.where(nothing_counted, math.nan, 0.0)


def _nll_loss_composite(log_probs, target, weight, ignore_index, reduction):
    """Reference NLL loss from heron ops (``target``: validated int64 class indices)."""
    loss, counted = _nll_terms(log_probs, target, weight, ignore_index)
    return _reduce_by_counted(loss, counted, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, d1, ...) or (C,) and either class indices
    (with ``ignore_index``) or class probabilities of input's shape; ``label_smoothing``
    mixes the target with the uniform distribution."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.is_floating_point() and target.shape == input.shape and input.ndim:
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        _check_class_weight(input, weight, "cross_entropy: ")
    else:
        target = _class_index_target(input, target, weight, ignore_index)
    _require_floating("cross_entropy", input.dtype, NotImplementedError)
    if (input.ndim == 2 and weight is None and not target.is_floating_point()
            and input.dtype in (heron.float32, heron.float64)):
        return cross_entropy_rows(input, target, ignore_index, label_smoothing, reduction)  # the fused kernel
    return _cross_entropy_composite(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_composite(input, target, weight, ignore_index, reduction, label_smoothing):
    """Reference cross-entropy from heron ops: log_softmax over the class dim, then NLL of the
    class indices (int64 ``target``) or the expected log-probability under the class
    probabilities (floating ``target``), each with label smoothing."""
    class_dim = 0 if input.ndim == 1 else 1
    num_classes = input.shape[class_dim]
    log_probs = heron.log_softmax(input, class_dim)
    class_weight = None if weight is None else weight.reshape(_class_shape(input.ndim, class_dim, num_classes))
    if target.is_floating_point():
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / num_classes
        weighted = log_probs * target if class_weight is None else log_probs * target * class_weight
        loss = -weighted.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // num_classes) if input.numel() else loss.sum() * math.nan
        return _reduce(loss, reduction)
    loss, counted = _nll_terms(log_probs, target, weight, ignore_index)
    if label_smoothing > 0:
        # Each ignored target contributes nothing; the others add the uniform-target term.
        per_class = log_probs if class_weight is None else log_probs * class_weight
        smooth = heron.where(target == ignore_index, 0.0, -per_class.sum(class_dim))
        loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / num_classes)
    return _reduce_by_counted(loss, counted, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-weight * (target log(input) + (1 - target) log(1 - input)) for probabilities ``input``
    in [0, 1]; each log is clamped at -100, as torch does."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_torch_type_name(target.dtype)} but expected {_torch_type_name(input.dtype)}")
    _require_floating("binary_cross_entropy", input.dtype)
    for name, values in (("input", input), ("target", target)):
        if values.numel() and not bool(((values >= 0) & (values <= 1)).all()):
            raise RuntimeError(f"all elements of {name} should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight.expand(heron.broadcast_shapes(target.shape, weight.shape))
    return _reduce(loss, reduction)


def _clamped_logs(x):
    """(log x, log(1 - x)), each at least -100."""
    return _ew.clamp_min(heron.log(x), -100.0), _ew.clamp_min(heron.log1p(-x), -100.0)


class _BinaryCrossEntropy(Function):
    """Elementwise BCE with torch's gradients: (x - t) / max(x (1 - x), 1e-12) for the input
    (finite at x = 0 or 1, where the clamped logs' own gradients are not)."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        log_x, log_1mx = _clamped_logs(input)
        return (target - 1.0) * log_1mx - target * log_x

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_input = grad * (input - target) / _ew.clamp_min((1.0 - input) * input, 1e-12)
        if ctx.needs_input_grad[1]:
            log_x, log_1mx = _clamped_logs(input)
            grad_target = grad * (log_1mx - log_x)
        return grad_input, grad_target


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """BCE of sigmoid(input), computed stably from the logits as
    (1 - t) x - (1 + (pos_weight - 1) t) log sigmoid(x), times ``weight``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _require_floating("binary_cross_entropy_with_logits", input.dtype, NotImplementedError)
    if not target.is_floating_point():
        raise RuntimeError(f"result type Float can't be cast to the desired output type {_torch_type_name(target.dtype)}")
    log_sigmoid = logsigmoid(input)
    if pos_weight is not None:
        log_sigmoid = log_sigmoid * ((pos_weight - 1.0) * target + 1.0)
    loss = (1.0 - target) * input - log_sigmoid
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence target * (log target - input) for log-probabilities ``input`` (and
    log-probabilities ``target`` with ``log_target``). 'batchmean' divides the sum by the
    batch size (the mathematically right mean); 'mean' divides by the element count."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction != "batchmean":
        _check_reduction(reduction)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = heron.exp(target) * (target - input)
    else:
        loss = heron.xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- losses: embeddings and ranking
_COSINE_EMBEDDING_EPS = 1e-12  # torch's EPSILON, added to each squared magnitude


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (0 for
    any other target value)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected_ndim = target.ndim + 1
    if input1.ndim != expected_ndim or input2.ndim != expected_ndim:
        raise RuntimeError(f"{target.ndim}D target tensor expects {expected_ndim}D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    dim = target.ndim
    dot = (input1 * input2).sum(dim)
    magnitudes = ((input1 * input1).sum(dim) + _COSINE_EMBEDDING_EPS) * ((input2 * input2).sum(dim) + _COSINE_EMBEDDING_EPS)
    cos = dot / heron.sqrt(magnitudes)
    zeros = heron.zeros_like(cos)
    loss = heron.where(target == 1, 1.0 - cos, zeros) + heron.where(target == -1, _ew.clamp_min(cos - margin, 0.0), zeros)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin): target 1 asks input1 to rank higher."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce(_ew.clamp_min(-target * (input1 - input2) + margin, 0.0), reduction)


from ._conv import *  # noqa: E402,F401,F403  (conv1d/2d, conv_transpose1d/2d, unfold, fold)
from ._pooling import *  # noqa: E402,F401,F403  (pad, pooling)
from ._resample import *  # noqa: E402,F401,F403  (interpolate, pixel_shuffle)
