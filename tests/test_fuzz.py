"""Random calls with random (mostly invalid) arguments never crash the interpreter.

The fuzzer (heron.testing.fuzz) runs in a subprocess: a segfault or abort shows up as a
non-zero exit status, with the last call it logged to stderr.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

# What a call may raise (counted by builtin class: heron.ShapeError is a RuntimeError): the
# types torch raises for bad input. Anything else (AttributeError, ZeroDivisionError, KeyError...)
# is input that escaped validation.
ALLOWED = {"IndexError", "RuntimeError", "TypeError", "ValueError", "NotImplementedError", "MemoryError", "OutOfMemoryError"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fuzzer_survives(seed):
    calls = 3000
    proc = subprocess.run([sys.executable, "-m", "heron.testing.fuzz", "--seed", str(seed), "--calls", str(calls)],
                          capture_output=True, text=True, timeout=300)
    tail = "\n".join(proc.stderr.splitlines()[-30:])
    assert proc.returncode == 0, f"fuzzer died with status {proc.returncode}; last calls and traceback:\n{tail}"
    match = re.search(r"FUZZ DONE seed=\d+ calls=(\d+) (.*)", proc.stdout)
    assert match, proc.stdout + tail
    outcomes = dict(item.split("=") for item in match.group(2).split())
    assert int(match.group(1)) == calls
    assert sum(int(v) for v in outcomes.values()) == calls
    assert int(outcomes.get("ok", 0)) > calls // 5, f"too few calls succeeded to exercise anything: {outcomes}"
    unexpected = set(outcomes) - ALLOWED - {"ok"}
    assert not unexpected, f"exception types torch would not raise (missing validation): {outcomes}"
