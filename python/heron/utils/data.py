"""Datasets, samplers, collation and the DataLoader, with torch.utils.data's API.

Randomness (shuffling, ``random_split``, worker seeds) is drawn from heron's generators, so
``heron.manual_seed(s)`` (or a seeded ``generator=``) reproduces the order of every epoch.
With ``num_workers > 0`` batches are produced by worker processes (started with the default
multiprocessing context, ``fork`` on Linux) and handed out in sampler order whatever worker
finishes first.
"""
from __future__ import annotations

import bisect
import collections.abc
import itertools
import math
import os
import queue
import random
import sys
import traceback
import warnings

import numpy as np

import heron

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler",
           "default_collate", "default_convert", "get_worker_info", "DataLoader"]


# ============================================================================ datasets
class Dataset:
    """A map-style dataset: ``__getitem__(index)`` and usually ``__len__``. ``a + b``
    concatenates two datasets."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream through ``__iter__``. With worker processes every worker
    iterates its own copy; use :func:`get_worker_info` in ``__iter__`` to split the work."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Item ``i`` is the tuple ``(t[i] for t in tensors)``; all tensors share their first size."""

    def __init__(self, *tensors):
        if any(t.size(0) != tensors[0].size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        # A dataset that fetches many items at once keeps doing so through the subset.
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index = len(self) + index
        dataset_index = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[dataset_index - 1] if dataset_index > 0 else 0
        return self.datasets[dataset_index][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after another."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def random_split(dataset, lengths, generator=None):
    """Splits ``dataset`` into non-overlapping random subsets of the given lengths, or of the
    given fractions of its length (floors, with the remainder spread round-robin)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * fraction)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = heron.randperm(sum(lengths), generator=generator).tolist()
    return [Subset(dataset, order[end - length:end]) for end, length in zip(itertools.accumulate(lengths), lengths)]


# ============================================================================ samplers
class Sampler:
    """Yields dataset indices (or lists of indices, for batch samplers)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _draw_seed(generator=None) -> int:
    """A 63-bit seed from ``generator`` (heron's default generator when None)."""
    return int(heron.empty((), dtype=heron.int64).random_(generator=generator).item())


class RandomSampler(Sampler):
    """A random permutation of the indices (repeated to reach ``num_samples``), or
    ``num_samples`` draws with replacement. Without ``generator`` each epoch seeds a fresh
    generator from heron's default one."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            generator = heron.Generator().manual_seed(_draw_seed())
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from heron.randint(high=n, size=(32,), generator=generator).tolist()
            yield from heron.randint(high=n, size=(self.num_samples % 32,), generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from heron.randperm(n, generator=generator).tolist()
            yield from heron.randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in heron.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices into ``weights`` drawn with probabilities proportional to the
    weights (without replacement: each index at most once), by :func:`heron.multinomial`."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = heron.as_tensor(weights, dtype=heron.float64)
        if weights.dim() != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        # Invalid weights (negative, all zero, too few without replacement) raise
        # multinomial's RuntimeError here, when iterated, as in torch.
        yield from heron.multinomial(self.weights, self.num_samples, self.replacement,
                                     generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the index stream for iterable datasets."""

    def __iter__(self):
        while True:
            yield None


# ============================================================================ collation
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _numpy_to_tensor(array):
    if array.dtype.kind in "SaUO":  # strings and objects have no tensor dtype
        raise TypeError(_COLLATE_ERROR.format(array.dtype))
    return heron.as_tensor(array)


def default_collate(batch):
    """Merges a list of samples into a batch: tensors and NumPy arrays are stacked along a new
    first dimension, Python floats become float64 tensors, ints int64 tensors, bools bool
    tensors, strings stay a list; dicts, named tuples, tuples and lists are collated field by
    field (tuples come back as lists, as in torch)."""
    elem = batch[0]
    if isinstance(elem, heron.Tensor):
        return heron.stack(batch, 0)
    if type(elem).__module__ == "numpy" and not isinstance(elem, (str, bytes)):
        if isinstance(elem, np.ndarray) and elem.shape != ():
            return default_collate([_numpy_to_tensor(b) for b in batch])
        return _numpy_to_tensor(np.asarray(batch))  # NumPy scalars and 0-d arrays
    if isinstance(elem, bool):
        return heron.tensor(batch, dtype=heron.bool)
    if isinstance(elem, float):
        return heron.tensor(batch, dtype=heron.float64)
    if isinstance(elem, int):
        return heron.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """The conversion used without batching: NumPy arrays and scalars become tensors, inside
    any dicts, tuples and lists; everything else is returned unchanged."""
    if isinstance(data, heron.Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (str, bytes)):
        if isinstance(data, (np.ndarray, np.generic)) and np.asarray(data).dtype.kind not in "SaUO":
            return heron.as_tensor(np.asarray(data))
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


# ============================================================================ fetching
class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.collate_fn(self.dataset.__getitems__(index))
        return self.collate_fn([self.dataset[i] for i in index])


class _IterableFetcher:
    """Reads the next item (or batch of items) from the dataset's iterator; raises
    StopIteration when the stream is exhausted (or only a dropped partial batch is left)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        items = list(itertools.islice(self.iterator, len(index)))
        if len(items) < len(index):
            self.ended = True
        if not items or (self.drop_last and len(items) < len(index)):
            raise StopIteration
        return self.collate_fn(items)


class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, dataset={self.dataset!r})"


_worker_info = None


def get_worker_info():
    """Inside a DataLoader worker process: its :class:`WorkerInfo` (id, num_workers, seed,
    dataset copy). In the main process: None."""
    return _worker_info


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, where: str):
        exc_type, exc, _ = sys.exc_info()
        self.exc_type = exc_type
        self.message = "".join(traceback.format_exception(exc_type, exc, exc.__traceback__))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.message}"
        try:
            error = self.exc_type(message)
        except Exception:  # an exception class whose constructor needs other arguments
            raise RuntimeError(message) from None
        raise error


class _WorkerExhausted:
    """Sent by a worker whose iterable dataset has no more items."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to each persistent worker at the start of a new epoch, and echoed back by it."""


_STATUS_CHECK_INTERVAL = 5.0  # seconds between liveness checks while waiting on a queue


def _worker_loop(iterable, dataset, index_queue, result_queue, done_event, auto_collation, collate_fn, drop_last,
                 base_seed, init_fn, worker_id, num_workers):
    """Body of one worker process: fetch the batches whose indices arrive on ``index_queue``
    and put ``(task_index, batch)`` on ``result_queue`` until told to stop (``None``); a
    :class:`_ResumeIteration` restarts the dataset for the next epoch."""
    global _worker_info
    # OpenMP thread pools do not survive fork: kernels must run single-threaded in workers.
    heron.set_num_threads(1)
    seed = base_seed + worker_id
    random.seed(seed)
    heron.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    parent = os.getppid()

    def new_fetcher():
        return (_IterableFetcher if iterable else _MapFetcher)(dataset, auto_collation, collate_fn, drop_last)

    setup_error = fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = new_fetcher()
    except Exception:
        setup_error = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")

    exhausted = False
    try:
        while True:
            try:
                task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died: stop
                    break
                continue
            if task is None:
                break
            if isinstance(task, _ResumeIteration):
                result_queue.put((task, None))
                exhausted = False
                if setup_error is None:
                    try:
                        fetcher = new_fetcher()  # an iterable dataset starts its stream again
                    except Exception:
                        setup_error = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
                continue
            if done_event.is_set() or exhausted:
                continue
            task_index, index = task
            if setup_error is not None:
                data, setup_error = setup_error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
                    else:
                        data, exhausted = _WorkerExhausted(worker_id), True
                except Exception:
                    data = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
            result_queue.put((task_index, data))
            del data
    except KeyboardInterrupt:
        pass
    result_queue.cancel_join_thread()
    result_queue.close()


class _SingleProcessIterator:
    def __init__(self, loader):
        self._sampler_iter = iter(loader._index_sampler)
        # Drawn as torch does, so the default generator advances the same way with or
        # without workers.
        self._base_seed = _draw_seed(loader.generator)
        self._fetcher = (_IterableFetcher if loader._iterable else _MapFetcher)(
            loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last)
        self._loader = loader

    def __iter__(self):
        return self

    def __next__(self):
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)

    def __len__(self):
        return len(self._loader)


class _WorkerPool:
    """A DataLoader's worker processes and their queues. Started for one epoch, or, with
    ``persistent_workers=True``, held by the loader and resumed for every epoch (the worker
    seeds, ``worker_init_fn`` calls and datasets copies then live as long as the loader)."""

    def __init__(self, loader):
        import multiprocessing  # here, not at the top: it adds ~8 ms to `import heron`

        base_seed = _draw_seed(loader.generator)
        context = loader.multiprocessing_context or multiprocessing
        self.num_workers = loader.num_workers
        self.timeout = loader.timeout
        self.epoch = 0
        self.shut_down = False
        self.result_queue = context.Queue()
        self._done_event = context.Event()
        self.index_queues, self.workers = [], []
        for worker_id in range(self.num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            worker = context.Process(
                target=_worker_loop,
                args=(loader._iterable, loader.dataset, index_queue, self.result_queue, self._done_event,
                      loader._auto_collation, loader.collate_fn, loader.drop_last, base_seed, loader.worker_init_fn,
                      worker_id, self.num_workers),
                daemon=True)
            worker.start()
            self.index_queues.append(index_queue)
            self.workers.append(worker)

    def resume(self):
        """Starts the next epoch. Each worker answers the resume message after the batches
        still queued for it, so once all have answered, no batch of the previous epoch is left."""
        self.epoch += 1
        for index_queue in self.index_queues:
            index_queue.put(_ResumeIteration())
        answered = 0
        while answered < self.num_workers:
            task_index, _ = self.receive()
            answered += isinstance(task_index, _ResumeIteration)

    def receive(self):
        wait = self.timeout if self.timeout > 0 else _STATUS_CHECK_INTERVAL
        while True:
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w.pid for w in self.workers if not w.is_alive() and w.exitcode not in (0, None)]
                if dead:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly")
                if self.timeout > 0:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds")

    def shutdown(self, grace=_STATUS_CHECK_INTERVAL):
        """Asks the workers to stop, and terminates those still running after ``grace`` seconds."""
        if self.shut_down:
            return
        self.shut_down = True
        self._done_event.set()
        for index_queue in self.index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for worker in self.workers:
            worker.join(timeout=grace)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        for q in self.index_queues:
            q.close()
        self.result_queue.cancel_join_thread()
        self.result_queue.close()

    def __del__(self):
        try:
            # Collected as part of a reference cycle, the queues may already be finalised and
            # never deliver the stop message: the workers are then terminated without waiting.
            self.shutdown(grace=0.1)
        except Exception:  # interpreter shutdown: modules may already be gone
            pass


class _MultiProcessIterator:
    """One epoch over a :class:`_WorkerPool`: sends index batches round-robin to the workers
    (``prefetch_factor`` per worker in flight) and returns results in task order, buffering
    those that arrive early. A non-persistent pool is shut down when the epoch ends."""

    def __init__(self, loader, pool):
        self._loader = loader
        self._pool = pool
        self._epoch = pool.epoch
        self._persistent = loader.persistent_workers
        self._sampler_iter = iter(loader._index_sampler)
        self._num_workers = pool.num_workers
        self._active = [True] * self._num_workers
        self._next_worker = itertools.cycle(range(self._num_workers))
        self._tasks = {}  # task index -> [worker id] or [worker id, data] once it arrived
        self._sent = 0
        self._received = 0
        for _ in range(loader.prefetch_factor * self._num_workers):
            self._send_next_task()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _send_next_task(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._next_worker)
            if self._active[worker_id]:
                break
        else:
            return  # every worker has exhausted its stream
        self._pool.index_queues[worker_id].put((self._sent, index))
        self._tasks[self._sent] = [worker_id]
        self._sent += 1

    def _end(self):
        if not self._persistent:
            self._pool.shutdown()
        raise StopIteration

    def __next__(self):
        if self._pool.epoch != self._epoch or self._pool.shut_down:
            raise StopIteration  # a later epoch has taken over the persistent workers
        while True:
            # Skip tasks sent to workers that ran out of data before answering them.
            while self._received < self._sent:
                task = self._tasks[self._received]
                if len(task) == 2 or self._active[task[0]]:
                    break
                del self._tasks[self._received]
                self._received += 1
            else:
                self._end()
            task = self._tasks[self._received]
            if len(task) == 2:
                del self._tasks[self._received]
                self._received += 1
                self._send_next_task()
                return self._unwrap(task[1])

            task_index, data = self._pool.receive()
            if isinstance(data, _WorkerExhausted):
                self._active[data.worker_id] = False
                if not self._persistent:  # a persistent worker waits for the next epoch instead
                    self._pool.index_queues[data.worker_id].put(None)
                self._send_next_task()
                continue
            if task_index != self._received:
                self._tasks[task_index].append(data)  # early: keep until its turn
                continue
            del self._tasks[task_index]
            self._received += 1
            self._send_next_task()
            return self._unwrap(data)

    def _unwrap(self, data):
        if isinstance(data, _ExceptionWrapper):
            if not self._persistent:  # persistent workers stay up for the next epoch, as in torch
                self._pool.shutdown()
            data.reraise()
        return data


# ============================================================================ DataLoader
class DataLoader:
    """Iterates over ``dataset`` in batches, as torch.utils.data.DataLoader.

    ``shuffle=True`` uses a :class:`RandomSampler` seeded from ``generator`` (or heron's default
    generator); ``num_workers > 0`` loads batches in worker processes, in sampler order, with
    ``worker_init_fn(worker_id)`` run first in each (workers run heron kernels on one thread).
    ``pin_memory`` is accepted and has no effect on CPU.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if multiprocessing_context is not None:
            import multiprocessing  # here, not at the top: it adds ~8 ms to `import heron`

            if num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={num_workers}")
            if isinstance(multiprocessing_context, str):
                methods = multiprocessing.get_all_start_methods()
                if multiprocessing_context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start method in "
                                     f"{methods!r}, but got multiprocessing_context={multiprocessing_context!r}")
                multiprocessing_context = multiprocessing.get_context(multiprocessing_context)
            if not isinstance(multiprocessing_context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object or a string "
                                f"specifying the start method, but got multiprocessing_context={multiprocessing_context}")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else default_convert)
        self._worker_pool = None  # kept across epochs with persistent_workers

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.pin_memory and not heron.cuda.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=2)
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        if self.prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter")
        if not self.persistent_workers:
            return _MultiProcessIterator(self, _WorkerPool(self))
        if self._worker_pool is None or self._worker_pool.shut_down:
            self._worker_pool = _WorkerPool(self)
        else:
            self._worker_pool.resume()
        return _MultiProcessIterator(self, self._worker_pool)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)
