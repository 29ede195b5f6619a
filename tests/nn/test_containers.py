"""Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict."""
from __future__ import annotations

from collections import OrderedDict

import pytest

import heron
from heron import nn


def layers(n):
    return [nn.Linear(i + 1, i + 2) for i in range(n)]


# ---------------------------------------------------------------------------- Sequential
def test_sequential_runs_modules_in_order():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = heron.randn(5, 3)
    expected = seq[2](seq[1](seq[0](x)))
    assert heron.equal(seq(x), expected)


def test_empty_sequential_is_the_identity():
    x = heron.randn(2, 3)
    assert nn.Sequential()(x) is x
    assert repr(nn.Sequential()) == "Sequential()"


def test_sequential_indexing_and_slicing():
    a, b, c = layers(3)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # a slice keeps the original names, as torch
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(TypeError):
        seq["0"]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)


def test_sequential_append_insert_extend_delete_pop():
    a, b, c, d = layers(4)
    seq = nn.Sequential(a)
    assert seq.append(b) is seq and list(seq) == [a, b]
    seq.insert(1, c)
    assert list(seq) == [a, c, b] and list(seq._modules) == ["0", "1", "2"]
    seq.insert(-1, d)
    assert list(seq) == [a, c, d, b]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        seq.insert(9, d)
    with pytest.raises(AssertionError, match="module should be of type"):
        seq.insert(0, 3)
    seq.extend([nn.ReLU()])
    assert len(seq) == 5
    del seq[0]
    assert seq[0] is c and list(seq._modules) == ["0", "1", "2", "3"]
    assert seq.pop(0) is c
    del seq[1:]
    assert list(seq) == [d]


def test_sequential_add_and_multiply():
    a, b = layers(2)
    left, right = nn.Sequential(a), nn.Sequential(b)
    both = left + right
    assert list(both) == [a, b]
    left += right
    assert list(left) == [a, b]
    assert list(right * 2) == [b, b] and list(2 * right) == [b, b]
    with pytest.raises(ValueError, match="Non-positive multiplication factor"):
        right * 0
    with pytest.raises(TypeError):
        right * 1.5
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        right + nn.ModuleList()


def test_sequential_from_ordered_dict():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert seq.fc is seq[0] and [n for n, _ in seq.named_children()] == ["fc", "act"]


# ---------------------------------------------------------------------------- ModuleList
def test_module_list_registers_and_indexes():
    a, b, c = layers(3)
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert len(ml) == 3 and ml[-1] is c and list(ml) == [a, b, c]
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    assert isinstance(ml[1:], nn.ModuleList) and list(ml[1:]) == [b, c]
    ml.insert(0, c)
    assert list(ml) == [c, a, b, c]
    del ml[0]
    assert list(ml) == [a, b, c] and list(ml._modules) == ["0", "1", "2"]
    assert ml.pop(-1) is c
    ml += [c]
    assert list(ml + nn.ModuleList([a])) == [a, b, c, a]
    ml[0] = nn.ReLU()
    assert isinstance(ml[0], nn.ReLU)
    with pytest.raises(IndexError, match="index 7 is out of range"):
        ml[7]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        ml.extend(3)
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        ml(heron.zeros(1))


def test_module_list_repr_compresses_repeats():
    ml = nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(1, 2), nn.ReLU()])
    assert repr(ml) == ("ModuleList(\n  (0-1): 2 x ReLU()\n  (2): Linear(in_features=1, out_features=2, bias=True)\n"
                        "  (3): ReLU()\n)")
    assert repr(nn.ModuleList()) == "ModuleList()"


# ---------------------------------------------------------------------------- ModuleDict
def test_module_dict():
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(md) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Linear(1, 1)
    assert list(md.keys()) == ["b", "a", "c"] and isinstance(md["c"], nn.Linear)
    assert [k for k, _ in md.items()] == ["b", "a", "c"] and len(list(md.values())) == 3
    md.update([("d", nn.ReLU())])
    assert isinstance(md.pop("d"), nn.ReLU) and "d" not in md
    del md["b"]
    assert list(md) == ["a", "c"]
    md.clear()
    assert len(md) == 0
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable"):
        md.update(3)
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        md.update([("a", nn.ReLU(), 1)])
    with pytest.raises(TypeError, match="is not a Module subclass"):
        md["x"] = 3


# ---------------------------------------------------------------------------- ParameterList / ParameterDict
def test_parameter_list_wraps_tensors():
    plist = nn.ParameterList([heron.zeros(2), nn.Parameter(heron.ones(3))])
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 2
    plist.append(heron.zeros(1))
    plist.extend([heron.ones(4)])
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2", "3"]
    assert isinstance(plist[1:3], nn.ParameterList) and len(plist[1:3]) == 2
    plist[0] = heron.ones(5)
    assert plist[0].shape == (5,) and isinstance(plist[0], nn.Parameter)
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable"):
        plist.extend(heron.zeros(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        plist()
    with pytest.raises(IndexError):
        plist[9]


def test_parameter_dict():
    pdict = nn.ParameterDict({"b": heron.zeros(2), "a": nn.Parameter(heron.ones(1))})
    assert list(pdict) == ["a", "b"]  # a plain dict is added in sorted order, as torch
    assert isinstance(pdict["b"], nn.Parameter) and "a" in pdict and len(pdict) == 2
    pdict["c"] = heron.ones(3)
    assert [n for n, _ in pdict.named_parameters()] == ["a", "b", "c"]
    assert pdict.get("zzz") is None and pdict.setdefault("d", heron.zeros(1)) is pdict["d"]
    key, value = pdict.popitem()
    assert key == "d" and value.shape == (1,)
    assert list(pdict.copy()) == ["a", "b", "c"]
    del pdict["a"]
    assert list(pdict.keys()) == ["b", "c"] and len(list(pdict.values())) == 2
    pdict.update(OrderedDict([("z", heron.zeros(1)), ("y", heron.zeros(1))]))
    assert list(pdict)[-2:] == ["z", "y"]
    assert list(pdict.fromkeys(["p", "q"], heron.zeros(1))) == ["p", "q"]
    pdict.clear()
    assert len(pdict) == 0
    with pytest.raises(TypeError, match="cannot be used as a key as it is not a string"):
        pdict[1] = heron.zeros(1)
    with pytest.raises(TypeError, match="ParametersDict.update should be called"):
        pdict.update(5)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called"):
        pdict()


def test_parameter_containers_print_entry_summaries():
    plist = nn.ParameterList([nn.Parameter(heron.zeros(2, 3)), heron.zeros(3)])
    assert repr(plist) == ("ParameterList(\n    (0): Parameter containing: [heron.float32 of size 2x3]\n"
                           "    (1): Parameter containing: [heron.float32 of size 3]\n)")
    assert repr(nn.ParameterDict({"a": heron.zeros(2)})) == "ParameterDict(  (a): Parameter containing: [heron.FloatTensor of size 2])"
