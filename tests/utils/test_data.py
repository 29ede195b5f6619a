"""heron.utils.data: datasets, random_split, samplers, default_collate and the DataLoader (with
and without worker processes)."""
from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import heron
from heron.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                              WeightedRandomSampler, default_collate, default_convert, get_worker_info, random_split)


class Squares(Dataset):
    """Item i is {"x": [i, i*i] float32 array, "y": i, "tag": "i"}."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": np.array([i, i * i], dtype=np.float32), "y": i, "tag": str(i)}


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError("item 5 is broken")
        return i


class Counting(IterableDataset):
    """0..n-1, split between workers by index modulo the worker count."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(first, self.n, step))


def _worker_seed_and_draw(worker_id):
    info = get_worker_info()
    assert info.id == worker_id and info.dataset is not None


class RandomDraws(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return heron.rand(1).item()


class WorkerIds(Dataset):
    """Item i is (i, pid of the process that loaded it, how often worker_init_fn ran there)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return i, os.getpid(), _init_calls[0]


_init_calls = [0]


def _count_init(worker_id):
    _init_calls[0] += 1


# ---------------------------------------------------------------------------- datasets
def test_tensor_dataset_subset_and_concat():
    x, y = heron.arange(10).reshape(5, 2), heron.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5 and ds[2][0].tolist() == [4, 5] and ds[2][1].item() == 2
    sub = Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    both = ds + sub
    assert isinstance(both, ConcatDataset) and len(both) == 7
    assert both[5][1].item() == 4 and both[-1][1].item() == 0
    assert both.cumulative_sizes == [5, 7]


def test_chain_dataset_reads_streams_in_turn():
    assert list(Counting(3) + Counting(2)) == [0, 1, 2, 0, 1]
    assert isinstance(Counting(3) + Counting(2), ChainDataset)


def test_random_split_by_lengths_and_fractions_is_seeded():
    parts = random_split(range(10), [3, 7], generator=heron.Generator().manual_seed(1))
    again = random_split(range(10), [3, 7], generator=heron.Generator().manual_seed(1))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    fractions = random_split(range(11), [0.5, 0.3, 0.2], generator=heron.Generator().manual_seed(2))
    assert [len(p) for p in fractions] == [6, 3, 2]  # floors 5, 3, 2, then the remainder round-robin


def test_random_split_follows_the_default_generator():
    heron.manual_seed(5)
    first = list(random_split(range(8), [4, 4])[0])
    heron.manual_seed(5)
    assert list(random_split(range(8), [4, 4])[0]) == first


# ---------------------------------------------------------------------------- samplers
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = heron.Generator().manual_seed(0)
    order = list(RandomSampler(range(10), generator=g))
    assert sorted(order) == list(range(10))
    repeated = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(repeated) == 10 and sorted(repeated[:4]) == [0, 1, 2, 3]
    draws = list(RandomSampler(range(3), replacement=True, num_samples=40, generator=g))
    assert len(draws) == 40 and set(draws) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([7, 8, 9], generator=g)) == [7, 8, 9]
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2


def test_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 1)


def test_weighted_random_sampler_draws_by_weight_reproducibly():
    weights = [0.0, 1.0, 0.0, 3.0]
    draws = list(WeightedRandomSampler(weights, 200, generator=heron.Generator().manual_seed(0)))
    assert len(draws) == 200 and set(draws) == {1, 3} and draws.count(3) > draws.count(1)
    assert draws == list(WeightedRandomSampler(weights, 200, generator=heron.Generator().manual_seed(0)))
    once = list(WeightedRandomSampler([0.9, 0.4, 0.05, 0.2], 4, replacement=False))
    assert sorted(once) == [0, 1, 2, 3]
    sampler = WeightedRandomSampler(np.array([1, 2]), 3)
    assert sampler.weights.dtype == heron.float64 and len(sampler) == 3
    loader = DataLoader(Squares(4), batch_size=2, sampler=WeightedRandomSampler([0, 0, 1, 0], 4))
    assert [b["y"].tolist() for b in loader] == [[2, 2], [2, 2]]


@pytest.mark.parametrize("args, kwargs, error, message", [
    (([1.0, 2.0], 0), {}, ValueError, "num_samples should be a positive integer value, but got num_samples=0"),
    (([1.0, 2.0], True), {}, ValueError, "num_samples should be a positive integer value"),
    (([1.0, 2.0], 2.0), {}, ValueError, "num_samples should be a positive integer value"),
    (([1.0, 2.0], 2), dict(replacement=1), ValueError, "replacement should be a boolean value"),
    (([[1.0, 2.0]], 2), {}, ValueError, r"weights should be a 1d sequence but given weights have shape \(1, 2\)"),
])
def test_weighted_random_sampler_argument_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        WeightedRandomSampler(*args, **kwargs)


@pytest.mark.parametrize("weights, num_samples, replacement", [([-1.0, 2.0], 2, True), ([0.0, 0.0], 2, True),
                                                                ([1.0, 2.0], 3, False)])
def test_weighted_random_sampler_bad_weights_raise_when_drawn(weights, num_samples, replacement):
    sampler = WeightedRandomSampler(weights, num_samples, replacement)  # as torch: accepted until iterated
    with pytest.raises(RuntimeError):
        list(sampler)


# ---------------------------------------------------------------------------- collation
def test_default_collate_nested_structures():
    Point = collections.namedtuple("Point", "a b")
    batch = [{"t": heron.ones(2) * i, "n": np.array([i, i], dtype=np.int32), "f": 0.5 * i, "i": i, "s": f"s{i}",
              "pair": (i, float(i)), "list": [heron.tensor(i)], "point": Point(i, np.float64(i)), "flag": i > 0}
             for i in range(3)]
    out = default_collate(batch)
    assert out["t"].shape == (3, 2) and out["t"][2].tolist() == [2.0, 2.0]
    assert out["n"].dtype is heron.int32 and out["n"].shape == (3, 2)
    assert out["f"].dtype is heron.float64 and out["i"].dtype is heron.int64
    assert out["s"] == ["s0", "s1", "s2"]
    assert isinstance(out["pair"], list) and out["pair"][1].dtype is heron.float64  # tuples become lists
    assert out["list"][0].tolist() == [0, 1, 2]
    assert isinstance(out["point"], Point) and out["point"].b.dtype is heron.float64
    assert out["flag"].dtype is heron.bool and out["flag"].tolist() == [False, True, True]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_turns_numpy_into_tensors():
    out = default_convert({"a": np.ones(2), "b": (np.int64(3), "x")})
    assert isinstance(out["a"], heron.Tensor) and out["b"][0].item() == 3 and out["b"][1] == "x"


# ---------------------------------------------------------------------------- DataLoader
def test_batches_and_length():
    loader = DataLoader(Squares(), batch_size=5)
    batches = list(loader)
    assert len(loader) == len(batches) == 5
    assert batches[0]["x"].shape == (5, 2) and batches[0]["y"].tolist() == [0, 1, 2, 3, 4]
    assert batches[-1]["tag"] == ["20", "21", "22"]
    assert len(DataLoader(Squares(), batch_size=5, drop_last=True)) == 4


def test_no_auto_batching_converts_items():
    item = next(iter(DataLoader(Squares(), batch_size=None)))
    assert isinstance(item["x"], heron.Tensor) and item["y"] == 0


def test_batch_indices_as_sampler_fetch_whole_batches():
    ds = TensorDataset(heron.arange(12).reshape(6, 2), heron.arange(6))
    x, y = next(iter(DataLoader(ds, sampler=[[5, 0, 3]], batch_size=None)))
    assert y.tolist() == [5, 0, 3] and x.shape == (3, 2)


def test_shuffle_is_reproducible_from_manual_seed_and_generators():
    def epoch(**kwargs):
        return [b["y"].tolist() for b in DataLoader(Squares(), batch_size=4, shuffle=True, **kwargs)]

    heron.manual_seed(0)
    first, second = epoch(), epoch()
    assert first != second  # each epoch draws a new order
    heron.manual_seed(0)
    assert [epoch(), epoch()] == [first, second]
    assert epoch(generator=heron.Generator().manual_seed(3)) == epoch(generator=heron.Generator().manual_seed(3))
    assert sorted(sum(first, [])) == list(range(23))


def test_custom_collate_and_batch_sampler():
    loader = DataLoader(Squares(), batch_sampler=[[1, 2], [3]], collate_fn=lambda items: [it["y"] for it in items])
    assert list(loader) == [[1, 2], [3]]


def test_workers_return_batches_in_sampler_order():
    heron.manual_seed(11)
    single = [b["y"].tolist() for b in DataLoader(Squares(), batch_size=3, shuffle=True)]
    heron.manual_seed(11)
    workers = [b["y"].tolist() for b in DataLoader(Squares(), batch_size=3, shuffle=True, num_workers=2)]
    assert workers == single


def test_workers_with_iterable_dataset_and_init_fn():
    loader = DataLoader(Counting(10), batch_size=3, num_workers=2, worker_init_fn=_worker_seed_and_draw)
    assert [b.tolist() for b in loader] == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    assert [b.tolist() for b in DataLoader(Counting(10), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(DataLoader(Counting(10), batch_size=3)) == 4


def test_worker_random_streams_are_seeded_from_the_loader_generator():
    def draws():
        loader = DataLoader(RandomDraws(), batch_size=2, num_workers=2, generator=heron.Generator().manual_seed(4))
        return [b.tolist() for b in loader]

    assert draws() == draws()


def test_worker_exception_is_reraised_with_its_type():
    with pytest.raises(KeyError, match="item 5 is broken"):
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    with pytest.raises(KeyError, match="item 5 is broken"):
        list(DataLoader(Failing(), batch_size=2))


def _epochs(loader, count=2):
    return [[(b[0].tolist(), set(b[1].tolist()), set(b[2].tolist())) for b in loader] for _ in range(count)]


def test_persistent_workers_live_across_epochs():
    _init_calls[0] = 0
    loader = DataLoader(WorkerIds(), batch_size=3, num_workers=2, persistent_workers=True, worker_init_fn=_count_init)
    first, second = _epochs(loader)
    pids = [pid for epoch in (first, second) for _, batch_pids, _ in epoch for pid in batch_pids]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert all(calls == {1} for epoch in (first, second) for _, _, calls in epoch)  # init ran once per worker
    assert [i for i, _, _ in first] == [i for i, _, _ in second] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    # Without persistence every epoch starts new workers.
    fresh = _epochs(DataLoader(WorkerIds(), batch_size=3, num_workers=2))
    assert not {p for _, ps, _ in fresh[0] for p in ps} & {p for _, ps, _ in fresh[1] for p in ps}


def test_persistent_workers_keep_shuffled_order_and_determinism():
    def orders(**kwargs):
        heron.manual_seed(5)
        loader = DataLoader(Squares(), batch_size=4, shuffle=True, **kwargs)
        return [[b["y"].tolist() for b in loader] for _ in range(3)]

    single, persistent = orders(), orders(num_workers=2, persistent_workers=True)
    assert orders(num_workers=2) == single and orders(num_workers=2, persistent_workers=True) == persistent
    # Persistent workers draw their base seed from the generator once, not every epoch (as
    # in torch), so only the first epoch's shuffle is the same as without them.
    assert persistent[0] == single[0] and persistent[1] != persistent[0]
    assert all(sorted(sum(epoch, [])) == list(range(23)) for epoch in persistent)


def test_persistent_workers_restart_iterable_streams_and_abandoned_epochs():
    loader = DataLoader(Counting(10), batch_size=3, num_workers=2, persistent_workers=True)
    expected = [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    assert [b.tolist() for b in loader] == expected
    assert [b.tolist() for b in loader] == expected
    abandoned = iter(DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True))
    squares = abandoned._loader
    next(abandoned)
    assert [b["y"].tolist()[0] for b in squares] == list(range(0, 23, 2))  # stale batches are dropped
    assert list(abandoned) == []  # the older epoch's iterator ends


def test_persistent_workers_survive_a_failing_batch():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        with pytest.raises(KeyError, match="item 5 is broken"):
            list(loader)
    assert not loader._worker_pool.shut_down


def test_prefetch_factor_zero_is_refused_when_iterating():
    loader = DataLoader(Squares(), num_workers=1, prefetch_factor=0)
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        iter(loader)


def test_pin_memory_is_accepted_on_cpu():
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(DataLoader(Squares(4), batch_size=2, pin_memory=True))
    assert len(batches) == 2


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be specified in multiprocessing"),
    (dict(persistent_workers=True), ValueError, "persistent_workers option needs num_workers > 0"),
    (dict(num_workers=1, prefetch_factor=-1), ValueError, "prefetch_factor option should be non-negative"),
    (dict(sampler=[0, 1], shuffle=True), ValueError, "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError, "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), ValueError, "batch_size=None option disables auto-batching"),
    (dict(multiprocessing_context="fork"), ValueError, "multiprocessing_context can only be used"),
    (dict(multiprocessing_context="nope", num_workers=1), ValueError, "should specify a valid start method"),
    (dict(multiprocessing_context=3, num_workers=1), TypeError, "should be a valid context object"),
])
def test_dataloader_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(Squares(), **kwargs)


@pytest.mark.parametrize("kwargs, message", [(dict(shuffle=True), "expected unspecified shuffle option"),
                                             (dict(sampler=[0]), "expected unspecified sampler option"),
                                             (dict(batch_sampler=[[0]]), "expected unspecified batch_sampler")])
def test_iterable_dataset_rejects_sampling_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(Counting(), **kwargs)


def test_dataset_errors():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(heron.zeros(3), heron.zeros(4))
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Counting()])
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ConcatDataset([Squares(2)])[-3]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(5), [1.5, -0.5])
    with pytest.raises(NotImplementedError):
        Dataset()[0]
