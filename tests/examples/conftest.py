"""The examples set heron's thread count (--threads); every test here gets it restored."""
from __future__ import annotations

import pytest

import heron


@pytest.fixture(autouse=True)
def _restore_thread_count():
    threads = heron.get_num_threads()
    yield
    heron.set_num_threads(threads)
