"""heron.nn.utils.rnn: PackedSequence and the packing and padding of variable-length sequences,
as torch.nn.utils.rnn.

A PackedSequence holds a batch of sequences sorted by decreasing length, step by step: ``data``
is step 0 of every sequence, then step 1 of the sequences that are that long, and so on;
``batch_sizes`` (an int64 CPU tensor) counts the sequences at each step. ``sorted_indices``
maps that order to the caller's batch order (None when the caller's batch was already sorted)
and ``unsorted_indices`` is its inverse. nn.RNN, nn.LSTM and nn.GRU take and return them.

Packing and padding are each one differentiable row gather (``index_select``) whose indices
are worked out in NumPy, so gradients flow through them as in torch.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

import numpy as np

import heron

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _converter(dtype_name):
    """A PackedSequence method converting its data to heron.<dtype_name>."""
    def convert(self):
        return self.to(dtype=getattr(heron, dtype_name))

    return convert


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), a namedtuple as in torch. Built
    by ``pack_padded_sequence`` and ``pack_sequence``; ``PackedSequence(data, batch_sizes,
    sorted_indices)`` fills in ``unsorted_indices``, and ``PackedSequence((data,
    batch_sizes))`` is accepted too."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be created "
                             "manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)``; the index tensors follow data's device, batch_sizes stays on the CPU.
        Returns ``self`` when data is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (None if t is None else t.to(data.device)
                                            for t in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs):
        return self.to(*args, **{**kwargs, "device": kwargs.get("device", "cuda")})

    def cpu(self, *args, **kwargs):
        return self.to(*args, **{**kwargs, "device": "cpu"})

    # data.to(dtype) under Tensor's names: double(), float(), half(), long(), int(), short(), char(), byte()
    double, float, half = (_converter(name) for name in ("float64", "float32", "float16"))
    long, int, short, char, byte = (_converter(name) for name in ("int64", "int32", "int16", "int8", "uint8"))

    @property
    def is_cuda(self):
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of an index permutation (None for None)."""
    if permutation is None:
        return None
    order = _numpy_ints(permutation)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return heron.tensor(inverse).to(permutation.device)


def _numpy_ints(t):
    return np.asarray(t.detach().numpy(), dtype=np.int64)


def _gather_rows(rows, index, shape, padding_value=None):
    """``rows[index].reshape(shape)`` as one differentiable gather, where index ``len(rows)``
    (when ``padding_value`` is given) picks a row filled with padding_value."""
    if padding_value is not None:
        rows = heron.cat([rows, heron.full((1,) + tuple(rows.shape[1:]), padding_value, dtype=rows.dtype)])
    return rows.index_select(0, heron.tensor(index.reshape(-1))).reshape(shape)


def _occupancy(lengths, steps):
    """(steps, B) bool: step t of sequence b exists."""
    return np.arange(steps)[:, None] < lengths[None, :]


def _check_lengths(lengths, batch_size, steps, enforce_sorted):
    """Raises torch's errors for bad ``lengths`` (int64 NumPy, sorted unless not enforce_sorted)."""
    if lengths.size != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
                           f"(batch_size={batch_size})")
    if lengths.size and lengths[-1] <= 0:  # torch checks the last (the shortest, if sorted)
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    if enforce_sorted and np.any(np.diff(lengths) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                           "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lengths.size and lengths.max() > steps:
        # torch reads past the input here; heron refuses.
        raise RuntimeError(f"pack_padded_sequence: a sequence length of {lengths.max()} exceeds the {steps} steps of "
                           "the padded input")


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch ``(T, B, *)`` (``(B, T, *)`` with batch_first) of sequences of the
    given ``lengths`` (a list or a 1-D tensor). With ``enforce_sorted=False`` the sequences may
    come in any order: they are sorted by decreasing length (ties keep their order) and the
    permutation is recorded in ``sorted_indices``."""
    if isinstance(lengths, heron.Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D cpu Long "
                               "tensor")
        lengths = _numpy_ints(lengths.to(heron.int64))
    else:
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if input.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(input.ndim, 1)}, "
                         f"{max(input.ndim, 1) - 1}], but got 1)")
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    batch_size, steps = input.shape[batch_dim], input.shape[time_dim]
    sorted_indices = None
    order = np.arange(lengths.size)
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = heron.tensor(order).to(input.device)
    _check_lengths(lengths, batch_size, steps, enforce_sorted)
    max_length = int(lengths[0]) if lengths.size else 0
    present = _occupancy(lengths, max_length)
    t, j = np.nonzero(present)  # step-major, sorted sequence order within a step: the packed row order
    b = order[j]
    flat = b * steps + t if batch_first else t * batch_size + b
    data = _gather_rows(input.flatten(0, 1), flat, (flat.size,) + tuple(input.shape[2:]))
    batch_sizes = heron.tensor(present.sum(1).astype(np.int64))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded ``(T, B, *)`` or ``(B, T, *)``, int64
    lengths), in the caller's original batch order. ``total_length`` pads to that many steps."""
    batch_sizes = _numpy_ints(sequence.batch_sizes)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    batch_size = int(batch_sizes[0]) if batch_sizes.size else 0
    lengths = (batch_sizes[None, :] > np.arange(batch_size)[:, None]).sum(1)  # of the sorted sequences
    present = _occupancy(lengths, steps)
    data = sequence.data
    row_of = np.full((steps, batch_size), data.shape[0], dtype=np.int64)  # the padding row by default
    row_of[present] = np.arange(data.shape[0])
    if sequence.unsorted_indices is not None:
        unsorted = _numpy_ints(sequence.unsorted_indices)
        row_of, lengths = row_of[:, unsorted], lengths[unsorted]
    if batch_first:
        row_of = row_of.T
    padded = _gather_rows(data, row_of, row_of.shape + tuple(data.shape[1:]), padding_value)
    return padded, heron.tensor(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks tensors ``(L_i, *)`` of different lengths into ``(max L, B, *)`` (``(B, max L,
    *)`` with batch_first), padding each on the right (or on the left) with padding_value."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    for s in sequences:
        if s.ndim == 0:
            raise RuntimeError("pad_sequence: expected sequences of at least one dimension, got a 0-d tensor")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    steps = int(lengths.max())
    rows = heron.cat(list(sequences))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    offsets = steps - lengths if padding_side == "left" else np.zeros_like(lengths)
    row_of = np.full((steps, lengths.size), rows.shape[0], dtype=np.int64)
    present = _occupancy(lengths, steps)
    t, b = np.nonzero(present)
    row_of[t + offsets[b], b] = starts[b] + t
    if batch_first:
        row_of = row_of.T
    return _gather_rows(rows, row_of, row_of.shape + tuple(rows.shape[1:]), padding_value)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences ``padded[:length_i, i]`` (``padded[i, :length_i]`` with
    batch_first). Unlike torch, the input is not transposed in place."""
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [seq.narrow(0, 0, int(length)) for seq, length in zip(batch.unbind(0), lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of tensors ``(L_i, *)``; as pack_padded_sequence(pad_sequence(sequences), lengths)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of tensors that pack_sequence packed, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
