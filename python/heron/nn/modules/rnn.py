"""Recurrent layers: RNN, LSTM and GRU (stacked, bidirectional, on padded or packed sequences)
and their single-step cells RNNCell, LSTMCell and GRUCell, with torch.nn's constructor
arguments, parameter names and order, state_dict keys, initialisation, printing and errors.

The modules check their arguments, arrange the layers and directions, and run each layer in
each direction through one function of ``heron.nn._rnn_impl`` (the cells through that file's
step functions), which is where a fused time-loop kernel takes over.
"""
from __future__ import annotations

import math
import numbers
import warnings

import heron

from .. import _rnn_impl
from .. import functional as F
from .. import init
from ..utils.rnn import PackedSequence
from .module import Module, _register_new_parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_LAYER_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def _uniform_init(module):
    """torch's initialisation of recurrent modules: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for weight in module.parameters():
        init.uniform_(weight, -stdv, stdv)


def _permute_batch(state, permutation):
    """A (layers * directions, B, size) state with its batch rows in ``permutation``'s order."""
    return state if permutation is None else state.index_select(1, permutation)


def _hx_dims_message(batched, states):
    """torch's message for initial states of the wrong rank (one state, or LSTM's two)."""
    rank, kind = (3, "batched 3-D") if batched else (2, "unbatched 2-D")
    if len(states) == 1:
        return f"For {kind} input, hx should also be {rank}-D but got {states[0].ndim}-D tensor"
    return (f"For {kind} input, hx and cx should also be {rank}-D but got ({states[0].ndim}-D, {states[1].ndim}-D) "
            "tensors")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, argument
    checks, and the forward pass over layers and directions (``_layer`` runs one of them)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          stacklevel=3)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        # Registered in torch's order (layer, direction, then w_ih, w_hh, b_ih, b_hh, w_hr), so
        # that parameters() and state_dict() list them as torch does.
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
            for direction in range(num_directions):
                shapes = {"weight_ih": (gate_size, layer_input_size), "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    names.append(self._weight_name(kind, layer, direction))
                    _register_new_parameter(self, names[-1], shape, device, dtype)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @staticmethod
    def _weight_name(kind, layer, direction):
        return f"{kind}_l{layer}{'_reverse' if direction == 1 else ''}"

    def reset_parameters(self):
        _uniform_init(self)

    def flatten_parameters(self):
        """A no-op: heron's layers read their weights where they are (torch packs them for cuDNN)."""

    @property
    def _flat_weights(self):
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ argument checks (torch's names)
    def check_input(self, input, batch_sizes):
        weight_dtype = self.weight_ih_l0.dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). Convert "
                             f"input: input.to({weight_dtype}), or convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.size(-1)}")

    def _mini_batch(self, input, batch_sizes):
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def get_expected_hidden_size(self, input, batch_sizes):
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, self._mini_batch(input, batch_sizes),
                self.proj_size if self.proj_size > 0 else self.hidden_size)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return _permute_batch(hx, permutation)

    # ------------------------------------------------------------------ what the subclasses define
    def _state_sizes(self):
        """Feature sizes of the recurrent states (h; LSTM: h and c)."""
        return (self.hidden_size,)

    def _layer(self, input, states, weights, reverse, batch_sizes):
        """Runs one layer in one direction: (output, *final states). ``weights`` are (w_ih, w_hh,
        b_ih, b_hh, w_hr), None where absent."""
        raise NotImplementedError

    def _as_states(self, hx):
        return (hx,)

    def _from_states(self, states):
        return states[0]

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        num_directions = 2 if self.bidirectional else 1
        packed = isinstance(input, PackedSequence)
        states = None if hx is None else self._as_states(hx)
        if packed:
            input, batch_sizes_tensor, sorted_indices, unsorted_indices = input
            batch_sizes = batch_sizes_tensor.tolist()
            max_batch_size = batch_sizes[0] if batch_sizes else 0
            if states is not None:
                states = tuple(_permute_batch(s, sorted_indices) for s in states)
        else:
            batch_sizes = sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                tensor = " tensor" if self.mode.startswith("RNN") else ""
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} "
                                 "instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if states is not None and any(s.dim() != (3 if is_batched else 2) for s in states):
                raise RuntimeError(_hx_dims_message(is_batched, states))
            if not is_batched:
                input = input.unsqueeze(batch_dim)
                if states is not None:
                    states = tuple(s.unsqueeze(1) for s in states)
            max_batch_size = input.size(batch_dim)
        if states is None:
            states = tuple(heron.zeros(self.num_layers * num_directions, max_batch_size, size, dtype=input.dtype,
                                       device=input.device) for size in self._state_sizes())
        self.check_forward_args(input, self._from_states(states), batch_sizes)
        if batch_sizes is None:
            if self.batch_first:
                input = input.transpose(0, 1)
            if input.size(0) == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

        output, final = self._layers(input, states, batch_sizes)
        if packed:
            return (PackedSequence(output, batch_sizes_tensor, sorted_indices, unsorted_indices),
                    self._from_states(tuple(_permute_batch(s, unsorted_indices) for s in final)))
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(batch_dim)
            final = tuple(s.squeeze(1) for s in final)
        return output, self._from_states(final)

    def _layers(self, x, states, batch_sizes):
        """Every layer and direction over time-major or packed ``x``; returns the last layer's
        output and the final states stacked as (num_layers * num_directions, B, size)."""
        num_directions = 2 if self.bidirectional else 1
        initial = [s.unbind(0) for s in states]
        final = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                k = layer * num_directions + direction
                weights = tuple(getattr(self, self._weight_name(kind, layer, direction), None)
                                for kind in _LAYER_WEIGHTS)
                output, *last = self._layer(x, [s[k] for s in initial], weights, direction == 1, batch_sizes)
                outputs.append(output)
                for collected, state in zip(final, last):
                    collected.append(state)
            x = outputs[0] if num_directions == 1 else heron.cat(outputs, -1)
            if self.dropout and self.training and layer + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, True)
        return x, tuple(heron.stack(collected) for collected in final)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked and
    optionally bidirectional, as torch.nn.RNN. Input (T, B, I), (B, T, I) with batch_first,
    unbatched (T, I), or a PackedSequence; returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def _layer(self, input, states, weights, reverse, batch_sizes):
        w_ih, w_hh, b_ih, b_hh, _ = weights
        return _rnn_impl.rnn_layer(input, states[0], w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes, self.nonlinearity)


class GRU(RNNBase):
    """Gated recurrent unit layers with torch's equations (the reset gate multiplies
    W_hn h + b_hn), as torch.nn.GRU. Same inputs and results as RNN."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)

    def _layer(self, input, states, weights, reverse, batch_sizes):
        w_ih, w_hh, b_ih, b_hh, _ = weights
        return _rnn_impl.gru_layer(input, states[0], w_ih, w_hh, b_ih, b_hh, reverse, batch_sizes)


class LSTM(RNNBase):
    """Long short-term memory layers, as torch.nn.LSTM, with an optional projection of h to
    ``proj_size`` features (weight_hr). ``hx`` is (h_0, c_0); returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def get_expected_cell_size(self, input, batch_sizes):
        num_directions = 2 if self.bidirectional else 1
        return self.num_layers * num_directions, self._mini_batch(input, batch_sizes), self.hidden_size

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        return tuple(_permute_batch(s, permutation) for s in hx)

    def _state_sizes(self):
        return (self.proj_size if self.proj_size > 0 else self.hidden_size, self.hidden_size)

    def _as_states(self, hx):
        return tuple(hx)

    def _from_states(self, states):
        return tuple(states)

    def _layer(self, input, states, weights, reverse, batch_sizes):
        return _rnn_impl.lstm_layer(input, states[0], states[1], *weights, reverse, batch_sizes)


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """What the cells share: weight_ih (G*H, I), weight_hh (G*H, H), bias_ih and bias_hh (G*H)
    or None, torch's initialisation, printing and input checks."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        _register_new_parameter(self, "weight_ih", (num_chunks * hidden_size, input_size), device, dtype)
        _register_new_parameter(self, "weight_hh", (num_chunks * hidden_size, hidden_size), device, dtype)
        _register_new_parameter(self, "bias_ih", (num_chunks * hidden_size,), device, dtype, enabled=bias)
        _register_new_parameter(self, "bias_hh", (num_chunks * hidden_size,), device, dtype, enabled=bias)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self):
        _uniform_init(self)

    def _prepare(self, input, hx, state_count, hidden_label):
        """(input, states, is_batched): 1-D input and states made 2-D, missing states zeros,
        after torch's checks (``hidden_label(i)`` names state i in the rank error)."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else (tuple(hx) if state_count == 2 else (hx,))
        for i, state in enumerate(states or ()):
            if state.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {hidden_label(i)} to be 1D or 2D, got {state.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
            if states is not None:
                states = tuple(s.unsqueeze(0) for s in states)
        if states is None:
            zeros = heron.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            states = (zeros,) * state_count
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}")
        for i, state in enumerate(states):
            if state.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} batch size "
                                   f"{state.size(0)}")
            if state.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {state.size(1)}, expected "
                                   f"{self.hidden_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype} and "
                               f"{self.weight_ih.dtype}")
        return input, states, is_batched

    @staticmethod
    def _unbatch(result, is_batched):
        if is_batched:
            return result
        return result.squeeze(0) if isinstance(result, heron.Tensor) else tuple(r.squeeze(0) for r in result)


class RNNCell(RNNCellBase):
    """One Elman RNN step, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as
    torch.nn.RNNCell. Input (B, I) or (I,); hx (B, H) or (H,), zeros when omitted."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (h,), is_batched = self._prepare(input, hx, 1, lambda i: "hidden")
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        gates_x = _rnn_impl.input_gates(input, self.weight_ih, self.bias_ih, self.bias_hh, fold_hidden_bias=True)
        return self._unbatch(_rnn_impl.rnn_step(gates_x, h, self.weight_hh, self.nonlinearity), is_batched)


class LSTMCell(RNNCellBase):
    """One LSTM step, as torch.nn.LSTMCell: hx = (h, c), zeros when omitted; returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h, c), is_batched = self._prepare(input, hx, 2, lambda i: f"hx[{i}]")
        gates_x = _rnn_impl.input_gates(input, self.weight_ih, self.bias_ih, self.bias_hh, fold_hidden_bias=True)
        return self._unbatch(_rnn_impl.lstm_step(gates_x, h, c, self.weight_hh, None), is_batched)


class GRUCell(RNNCellBase):
    """One GRU step with torch's equations, as torch.nn.GRUCell."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), is_batched = self._prepare(input, hx, 1, lambda i: "hidden")
        gates_x = _rnn_impl.input_gates(input, self.weight_ih, self.bias_ih, self.bias_hh, fold_hidden_bias=False)
        return self._unbatch(_rnn_impl.gru_step(gates_x, h, self.weight_hh, self.bias_hh), is_batched)
