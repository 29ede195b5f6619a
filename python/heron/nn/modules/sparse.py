"""Embedding and EmbeddingBag."""
from __future__ import annotations

import heron

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


def _embedding_weight(num_embeddings, embedding_dim, _weight, device, dtype):
    """A new (num_embeddings, embedding_dim) weight, or the given one after a shape check."""
    if _weight is None:
        return heron.empty(num_embeddings, embedding_dim, device=device, dtype=dtype), True
    if list(_weight.shape) != [num_embeddings, embedding_dim]:
        raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
    return _weight, False


def _check_pretrained(embeddings):
    if embeddings.ndim != 2:
        raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
    return embeddings.shape


class _EmbeddingBase(Module):
    """What Embedding and EmbeddingBag share: the weight, padding_idx and their initialisation
    (N(0, 1), with the padding row zeroed)."""

    def _setup(self, num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
               _weight, device, dtype, padding_name):
        F._unsupported(type(self).__name__, max_norm=(max_norm, None), scale_grad_by_freq=(scale_grad_by_freq, False),
                       sparse=(sparse, False))
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = F._normalize_padding_idx(padding_idx, num_embeddings, padding_name)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        weight, fresh = _embedding_weight(num_embeddings, embedding_dim, _weight, device, dtype)
        self.weight = Parameter(weight)
        if fresh:
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with heron.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def _norm_type_repr(self):
        # max_norm, scale_grad_by_freq and sparse keep their defaults (the others are refused),
        # so of torch's optional repr fields only norm_type can show.
        return f", norm_type={self.norm_type}" if self.norm_type != 2 else ""


class Embedding(_EmbeddingBase):
    """A lookup table: maps integer indices to rows of ``weight`` (num_embeddings, embedding_dim).

    The ``padding_idx`` row starts at zero and gets no gradient. ``max_norm``,
    ``scale_grad_by_freq`` and ``sparse`` are not supported (NotImplementedError).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self._setup(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                    _weight, device, dtype, "Padding_idx")
        self.weight.requires_grad_(not _freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}{self._norm_type_repr()}"

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (shared, frozen unless ``freeze=False``)."""
        rows, cols = _check_pretrained(embeddings)
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)


class EmbeddingBag(_EmbeddingBase):
    """Sums or means of bags of embeddings, without materialising the per-index rows' output.

    ``mode`` is 'sum' or 'mean' ('max' raises NotImplementedError). Bags are the rows of a
    2-D input, or cut from a 1-D input at ``offsets``; ``padding_idx`` entries are skipped.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ValueError("mode has to be one of sum, mean or max")
        if mode == "max":
            raise NotImplementedError("EmbeddingBag: mode='max' is not supported by heron (only 'sum' and 'mean')")
        self._setup(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                    _weight, device, dtype, "padding_idx")
        self.mode = mode
        self.include_last_offset = include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{self._norm_type_repr()}, mode={self.mode!r}{padding}"

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is ``embeddings`` (frozen unless ``freeze=False``)."""
        rows, cols = _check_pretrained(embeddings)
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings, include_last_offset,
                  padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag
