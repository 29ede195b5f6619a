"""nn.RNN, nn.LSTM, nn.GRU, their cells and nn.utils.rnn against torch: the same modules built
with the same arguments, heron loading torch's state_dict unchanged, must agree on outputs,
final states and the gradients of every parameter, input and initial state, in every option
combination (layers, directions, batch_first, proj_size, initial states or not, unbatched
input, packed sequences sorted or not, dropout in eval mode); and they must raise torch's
exception types. Float64; skipped without torch."""
from __future__ import annotations

import itertools
import warnings
import zlib

import numpy as np
import pytest

import heron

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-11
MODES = {"RNN": {}, "RNN-relu": {"nonlinearity": "relu"}, "LSTM": {}, "GRU": {}}


def seeded(*parts):
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def assert_close(heron_value, torch_value, what):
    actual, expected = heron_value.detach().numpy(), torch_value.detach().numpy()
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs torch {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def build_pair(mode, *args, **kwargs):
    """torch's and heron's module in float64; heron loads torch's state_dict unchanged."""
    cls = mode.split("-")[0]
    kwargs = {**MODES.get(mode, {}), **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropout with one layer
        t_mod = getattr(torch.nn, cls)(*args, **kwargs).double()
        h_mod = getattr(heron.nn, cls)(*args, **kwargs).double()
    t_state = t_mod.state_dict()
    assert list(h_mod.state_dict()) == list(t_state), "state_dict keys differ from torch's"
    result = h_mod.load_state_dict({k: heron.tensor(v.numpy()) for k, v in t_state.items()})
    assert not result.missing_keys and not result.unexpected_keys
    assert repr(h_mod) == repr(t_mod)
    assert [n for n, _ in h_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    return t_mod, h_mod


def leaves(*arrays):
    """(heron leaves, torch leaves) requiring grad; None stays None."""
    h = [None if a is None else heron.tensor(a, requires_grad=True) for a in arrays]
    t = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    return h, t


def flat(result):
    """The tensors of an (output, state) result, a PackedSequence's data for its output."""
    out, state = result
    out = out.data if hasattr(out, "batch_sizes") else out
    return [out] + (list(state) if isinstance(state, tuple) else [state])


def compare(t_result, h_result, t_mod, h_mod, t_inputs, h_inputs, rng, what):
    t_flat, h_flat = flat(t_result), flat(h_result)
    for i, (h, t) in enumerate(zip(h_flat, t_flat)):
        assert_close(h, t, f"{what}: result {i}")
    cotangents = [rng.standard_normal(tuple(t.shape)) for t in t_flat]
    sum((t * torch.tensor(c)).sum() for t, c in zip(t_flat, cotangents)).backward()
    sum((h * heron.tensor(c)).sum() for h, c in zip(h_flat, cotangents)).backward()
    for i, (h, t) in enumerate(zip(h_inputs, t_inputs)):
        if t is not None:
            assert_close(h.grad, t.grad, f"{what}: grad of input {i}")
    t_params = dict(t_mod.named_parameters())
    for name, h_param in h_mod.named_parameters():
        assert_close(h_param.grad, t_params[name].grad, f"{what}: grad of {name}")


def initial_states(rng, mode, num_states, batch, hidden, proj, batched=True):
    sizes = [proj or hidden, hidden] if mode == "LSTM" else [hidden]
    shape = (num_states, batch) if batched else (num_states,)
    return [rng.standard_normal(shape + (s,)) for s in sizes]


def as_hx(mode, states):
    if states is None:
        return None
    return tuple(states) if mode == "LSTM" else states[0]


# ---------------------------------------------------------------------------- every option combination
OPTION_CASES = [
    (mode, layers, bidirectional, batch_first, proj, with_h0)
    for mode in MODES for layers in (1, 2) for bidirectional in (False, True) for batch_first in (False, True)
    for proj in ((0, 2) if mode == "LSTM" else (0,)) for with_h0 in (False, True)
]


def _option_id(case):
    mode, layers, bidirectional, batch_first, proj, with_h0 = case
    return "-".join([mode, f"L{layers}"] + ["bi"] * bidirectional + ["batch_first"] * batch_first
                    + [f"proj{proj}"] * bool(proj) + ["h0"] * with_h0)


@pytest.mark.parametrize("case", OPTION_CASES, ids=_option_id)
def test_module_matches_torch(case):
    mode, layers, bidirectional, batch_first, proj, with_h0 = case
    T, B, I, H = 4, 3, 3, 4
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if proj:
        kwargs["proj_size"] = proj
    t_mod, h_mod = build_pair(mode, I, H, **kwargs)
    rng = seeded(_option_id(case))
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    states = initial_states(rng, mode, layers * (1 + bidirectional), B, H, proj) if with_h0 else None
    (h_x, *h_states), (t_x, *t_states) = leaves(x, *(states or []))
    t_result = t_mod(t_x, as_hx(mode, t_states or None))
    h_result = h_mod(h_x, as_hx(mode, h_states or None))
    compare(t_result, h_result, t_mod, h_mod, [t_x, *t_states], [h_x, *h_states], rng, _option_id(case))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_h0", [False, True], ids=["zeros", "h0"])
def test_unbatched_input_matches_torch(mode, with_h0):
    t_mod, h_mod = build_pair(mode, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    rng = seeded("unbatched", mode, with_h0)
    states = initial_states(rng, mode, 4, None, 4, 0, batched=False) if with_h0 else None
    (h_x, *h_states), (t_x, *t_states) = leaves(rng.standard_normal((5, 3)), *(states or []))
    compare(t_mod(t_x, as_hx(mode, t_states or None)), h_mod(h_x, as_hx(mode, h_states or None)), t_mod, h_mod,
            [t_x, *t_states], [h_x, *h_states], rng, f"{mode} unbatched")


PACKED_CASES = list(itertools.product(MODES, (False, True), (False, True), (False, True)))


@pytest.mark.parametrize("case", PACKED_CASES,
                         ids=[f"{m}{'-sorted' if s else '-unsorted'}{'-bi' if b else ''}{'-h0' if h else ''}"
                              for m, s, b, h in PACKED_CASES])
def test_packed_sequences_match_torch(case):
    """PackedSequence input (enforce_sorted True and False): packed output, final states at each
    sequence's own last step in the caller's order, gradients through packing included."""
    mode, enforce_sorted, bidirectional, with_h0 = case
    kwargs = {"proj_size": 2} if mode == "LSTM" else {}
    t_mod, h_mod = build_pair(mode, 3, 4, num_layers=2, bidirectional=bidirectional, **kwargs)
    rng = seeded("packed", *case)
    lengths = [5, 4, 4, 2] if enforce_sorted else [2, 5, 1, 4]
    states = initial_states(rng, mode, 2 * (1 + bidirectional), 4, 4, kwargs.get("proj_size")) if with_h0 else None
    (h_x, *h_states), (t_x, *t_states) = leaves(rng.standard_normal((5, 4, 3)), *(states or []))
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(t_x, lengths, enforce_sorted=enforce_sorted)
    h_packed = heron.nn.utils.rnn.pack_padded_sequence(h_x, lengths, enforce_sorted=enforce_sorted)
    t_result = t_mod(t_packed, as_hx(mode, t_states or None))
    h_result = h_mod(h_packed, as_hx(mode, h_states or None))
    assert h_result[0].batch_sizes.tolist() == t_result[0].batch_sizes.tolist()
    for h_idx, t_idx in zip(h_result[0][2:], t_result[0][2:]):
        assert (h_idx is None and t_idx is None) or h_idx.tolist() == t_idx.tolist()
    compare(t_result, h_result, t_mod, h_mod, [t_x, *t_states], [h_x, *h_states], rng, str(case))


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_dropout_module_in_eval_mode_matches_torch(mode):
    t_mod, h_mod = build_pair(mode, 3, 4, num_layers=3, dropout=0.4)
    t_mod.eval()
    h_mod.eval()
    rng = seeded("dropout-eval", mode)
    (h_x,), (t_x,) = leaves(rng.standard_normal((4, 2, 3)))
    compare(t_mod(t_x), h_mod(h_x), t_mod, h_mod, [t_x], [h_x], rng, f"{mode} eval")


def test_dropout_in_training_zeroes_the_same_fraction_as_torch():
    """The generators differ, so compare statistics of what the second layer receives: with
    zero recurrent weights and identity input weights, layer 2's pre-activation exposes the mask."""
    p, T, B, H = 0.3, 50, 40, 8
    fractions = {}
    for lib in (torch, heron):
        lib.manual_seed(0)
        m = lib.nn.RNN(H, H, num_layers=2, dropout=p, nonlinearity="relu", bias=False)
        with lib.no_grad():
            for name, w in m.named_parameters():
                w.copy_(lib.tensor(np.eye(H, dtype=np.float32) if "ih" in name else np.zeros((H, H), np.float32)))
        out, _ = m(lib.tensor(np.ones((T, B, H), np.float32)))
        values = out.detach().numpy()
        fractions[lib.__name__] = (values == 0).mean()
        np.testing.assert_allclose(np.unique(values[values != 0]), 1 / (1 - p), rtol=1e-6)
    for name, dropped in fractions.items():
        assert abs(dropped - p) < 0.03, name


# ---------------------------------------------------------------------------- cells
CELL_CASES = list(itertools.product(["RNNCell", "RNNCell-relu", "LSTMCell", "GRUCell"], (True, False),
                                    ("batched", "unbatched", "no-hx")))


@pytest.mark.parametrize("case", CELL_CASES, ids=["-".join(map(str, c)) for c in CELL_CASES])
def test_cells_match_torch(case):
    name, bias, form = case
    cls = name.split("-")[0]
    kwargs = {"bias": bias, **({"nonlinearity": "relu"} if name.endswith("relu") else {})}
    t_mod = getattr(torch.nn, cls)(3, 4, **kwargs).double()
    h_mod = getattr(heron.nn, cls)(3, 4, **kwargs).double()
    assert list(h_mod.state_dict()) == list(t_mod.state_dict()) and repr(h_mod) == repr(t_mod)
    h_mod.load_state_dict({k: heron.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    rng = seeded(*case)
    shape = (2,) if form == "batched" else ()
    arrays = [rng.standard_normal(shape + (3,))]
    if form != "no-hx":
        arrays += [rng.standard_normal(shape + (4,)) for _ in range(2 if cls == "LSTMCell" else 1)]
    (h_x, *h_s), (t_x, *t_s) = leaves(*arrays)
    h_hx = None if not h_s else (tuple(h_s) if cls == "LSTMCell" else h_s[0])
    t_hx = None if not t_s else (tuple(t_s) if cls == "LSTMCell" else t_s[0])
    t_out, h_out = t_mod(t_x, t_hx), h_mod(h_x, h_hx)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    h_out = h_out if isinstance(h_out, tuple) else (h_out,)
    cotangents = [rng.standard_normal(tuple(t.shape)) for t in t_out]
    for i, (h, t) in enumerate(zip(h_out, t_out)):
        assert_close(h, t, f"{case}: output {i}")
    sum((t * torch.tensor(c)).sum() for t, c in zip(t_out, cotangents)).backward()
    sum((h * heron.tensor(c)).sum() for h, c in zip(h_out, cotangents)).backward()
    for h, t in zip([h_x, *h_s], [t_x, *t_s]):
        assert_close(h.grad, t.grad, f"{case}: input grad")
    t_params = dict(t_mod.named_parameters())
    for pname, p in h_mod.named_parameters():
        assert_close(p.grad, t_params[pname].grad, f"{case}: grad of {pname}")


# ---------------------------------------------------------------------------- packing utilities
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_match_torch(batch_first, enforce_sorted):
    rng = seeded("pack", batch_first, enforce_sorted)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 5]
    x = rng.standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    (h_x,), (t_x,) = leaves(x)
    h_p = heron.nn.utils.rnn.pack_padded_sequence(h_x, heron.tensor(lengths), batch_first, enforce_sorted)
    t_p = torch.nn.utils.rnn.pack_padded_sequence(t_x, torch.tensor(lengths), batch_first, enforce_sorted)
    for h, t in zip(h_p, t_p):
        if t is None:
            assert h is None
        else:
            np.testing.assert_array_equal(h.detach().numpy(), t.detach().numpy())
    h_pad, h_len = heron.nn.utils.rnn.pad_packed_sequence(h_p, batch_first, padding_value=-2.0, total_length=7)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_p, batch_first, padding_value=-2.0, total_length=7)
    assert_close(h_pad, t_pad, "padded")
    assert h_len.tolist() == t_len.tolist() and h_len.dtype is heron.int64
    cotangent = rng.standard_normal(tuple(t_pad.shape))
    (t_pad * torch.tensor(cotangent)).sum().backward()
    (h_pad * heron.tensor(cotangent)).sum().backward()
    assert_close(h_x.grad, t_x.grad, "grad through pack and pad")


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_family_matches_torch(side, batch_first):
    rng = seeded("pad_sequence", side, batch_first)
    seqs = [rng.standard_normal((n, 2, 3)) for n in (2, 4, 1)]
    h_seqs, t_seqs = leaves(*seqs)
    h_pad = heron.nn.utils.rnn.pad_sequence(h_seqs, batch_first, 0.5, side)
    t_pad = torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first, 0.5, side)
    assert_close(h_pad, t_pad, "pad_sequence")
    cotangent = rng.standard_normal(tuple(t_pad.shape))
    (t_pad * torch.tensor(cotangent)).sum().backward()
    (h_pad * heron.tensor(cotangent)).sum().backward()
    for h, t in zip(h_seqs, t_seqs):
        assert_close(h.grad, t.grad, "pad_sequence grad")
    h_packed = heron.nn.utils.rnn.pack_sequence(h_seqs, enforce_sorted=False)
    t_packed = torch.nn.utils.rnn.pack_sequence(t_seqs, enforce_sorted=False)
    assert_close(h_packed.data, t_packed.data, "pack_sequence")
    assert h_packed.sorted_indices.tolist() == t_packed.sorted_indices.tolist()
    for h, t in zip(heron.nn.utils.rnn.unpack_sequence(h_packed), torch.nn.utils.rnn.unpack_sequence(t_packed)):
        assert_close(h, t, "unpack_sequence")
    if side == "right":
        lengths = [2, 4, 1]
        pieces = zip(heron.nn.utils.rnn.unpad_sequence(h_pad, heron.tensor(lengths), batch_first),
                     torch.nn.utils.rnn.unpad_sequence(t_pad.detach().clone(), torch.tensor(lengths), batch_first))
        for h, t in pieces:
            assert_close(h, t, "unpad_sequence")


# ---------------------------------------------------------------------------- state_dicts and errors
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_heron_state_dict_loads_into_torch(mode):
    kwargs = {"proj_size": 3} if mode == "LSTM" else {}
    h_mod = getattr(heron.nn, mode)(4, 5, num_layers=2, bidirectional=True, bias=False, **kwargs).double()
    t_mod = getattr(torch.nn, mode)(4, 5, num_layers=2, bidirectional=True, bias=False, **kwargs).double()
    result = t_mod.load_state_dict({k: torch.tensor(v.numpy()) for k, v in h_mod.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    x = seeded("state", mode).standard_normal((3, 2, 4))
    with heron.no_grad(), torch.no_grad():
        assert_close(h_mod(heron.tensor(x))[0], t_mod(torch.tensor(x))[0], f"{mode} with heron's weights")


def test_initialisation_matches_torchs_distribution():
    heron.manual_seed(0)
    for h_param, t_param in zip(heron.nn.LSTM(8, 64, 2).parameters(), torch.nn.LSTM(8, 64, 2).parameters()):
        h, t = h_param.detach().numpy(), t_param.detach().numpy()
        assert h.shape == t.shape
        assert np.abs(h).max() <= 1 / 8 and abs(h.std() - t.std()) < 0.1 * t.std()


def _error_calls(lib):
    nn, zeros = lib.nn, lambda *s: lib.zeros(*s)
    packed = lib.nn.utils.rnn.pack_sequence([zeros(3, 4), zeros(2, 4)])
    return {
        "dropout": lambda: nn.GRU(4, 6, dropout=1.5),
        "proj_size": lambda: nn.LSTM(4, 6, proj_size=6),
        "proj_size-gru": lambda: nn.GRU(4, 6, proj_size=2),
        "nonlinearity": lambda: nn.RNN(4, 6, nonlinearity="sigmoid"),
        "hidden_size-type": lambda: nn.LSTM(4, 4.0),
        "bias-type": lambda: nn.LSTM(4, 4, bias=1),
        "input-rank": lambda: nn.LSTM(4, 6)(zeros(4)),
        "input_size": lambda: nn.GRU(3, 6)(zeros(5, 3, 4)),
        "dtype": lambda: nn.GRU(4, 6)(zeros(5, 3, 4).double()),
        "empty-sequence": lambda: nn.LSTM(4, 6)(zeros(0, 3, 4)),
        "hx-shape": lambda: nn.GRU(4, 6)(zeros(5, 3, 4), zeros(2, 3, 6)),
        "hx-rank": lambda: nn.RNN(4, 6)(zeros(5, 3, 4), zeros(3, 6)),
        "hx-rank-unbatched": lambda: nn.RNN(4, 6)(zeros(5, 4), zeros(1, 1, 6)),
        "lstm-hx-rank": lambda: nn.LSTM(4, 6)(zeros(5, 3, 4), (zeros(3, 6), zeros(1, 3, 6))),
        "lstm-c-shape": lambda: nn.LSTM(4, 6)(zeros(5, 3, 4), (zeros(1, 3, 6), zeros(1, 3, 5))),
        "packed-hx": lambda: nn.GRU(4, 6)(packed, zeros(1, 3, 6)),
        "packed-rank": lambda: nn.GRU(4, 6)(lib.nn.utils.rnn.PackedSequence(zeros(5, 1, 4), packed.batch_sizes)),
        "cell-rank": lambda: nn.GRUCell(4, 6)(zeros(3, 3, 4)),
        "cell-hx-rank": lambda: nn.LSTMCell(4, 6)(zeros(3, 4), (zeros(1, 3, 6), zeros(3, 6))),
        "cell-input_size": lambda: nn.LSTMCell(4, 6)(zeros(3, 5)),
        "cell-batch": lambda: nn.RNNCell(4, 6)(zeros(3, 4), zeros(2, 6)),
        "cell-hidden_size": lambda: nn.GRUCell(4, 6)(zeros(3, 4), zeros(3, 5)),
        "cell-unbatched-2d-hx": lambda: nn.GRUCell(4, 6)(zeros(4), zeros(3, 6)),
        "cell-nonlinearity": lambda: nn.RNNCell(4, 6, nonlinearity="x")(zeros(4)),
        "pack-unsorted": lambda: lib.nn.utils.rnn.pack_padded_sequence(zeros(4, 3, 2), [2, 3, 1]),
        "pack-zero-length": lambda: lib.nn.utils.rnn.pack_padded_sequence(zeros(4, 3, 2), [3, 2, 0]),
        "pack-count": lambda: lib.nn.utils.rnn.pack_padded_sequence(zeros(4, 3, 2), [3, 2]),
        "pack-1d": lambda: lib.nn.utils.rnn.pack_padded_sequence(zeros(3), [3]),
        "pad-total_length": lambda: lib.nn.utils.rnn.pad_packed_sequence(packed, total_length=2),
        "pad-empty": lambda: lib.nn.utils.rnn.pad_sequence([]),
        "pad-side": lambda: lib.nn.utils.rnn.pad_sequence([zeros(2)], padding_side="mid"),
        "pad-trailing": lambda: lib.nn.utils.rnn.pad_sequence([zeros(2, 3), zeros(2, 4)]),
    }


@pytest.mark.parametrize("name", list(_error_calls(torch)))
def test_errors_have_torchs_types(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(Exception) as t_info:
            _error_calls(torch)[name]()
        with pytest.raises(type(t_info.value)):
            _error_calls(heron)[name]()
