"""A forked child (DataLoader workers, multiprocessing pools) can run heron's threaded kernels
after the parent has used its OpenMP pool: it starts single-threaded instead of hanging."""
from __future__ import annotations

import multiprocessing as mp
import sys

import pytest

import heron


def _child(queue):
    x = heron.ones(1_000_000)
    queue.put((heron.get_num_threads(), float((x + 1).sum())))


@pytest.mark.skipif(sys.platform != "linux", reason="fork is the Linux default start method")
def test_forked_child_runs_kernels():
    before = heron.get_num_threads()
    try:
        heron.set_num_threads(2)
        (heron.ones(1_000_000) * 2).sum()  # the parent's pool exists now
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue,))
        proc.start()
        proc.join(60)
        if proc.is_alive():
            proc.kill()
            pytest.fail("the forked child hung in a parallel region")
        threads, total = queue.get(timeout=5)
        assert threads == 1 and total == 2_000_000.0
    finally:
        heron.set_num_threads(before)
