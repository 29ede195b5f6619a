"""Foundation benchmarks for heron, against torch and NumPy, in one run.

    python bench/bench_core.py            # full run
    python bench/bench_core.py --quick    # short smoke run (small sizes)
    python bench/bench_core.py --json results.json

Cases:
  * per-op overhead: 1-element and 16x16 add, without and with requires_grad, and a 10-op
    elementwise chain + sum + backward on 16x16 (microseconds per op);
  * elementwise add, mul, exp, gelu on 16M float32 (GB/s, fraction of measured bandwidth), and
    in-place add_ (no output allocation);
  * sum over each row (dim=1) and softmax over each row of a 4096x4096 float32 matrix;
  * `import heron` / `import torch` time in a fresh interpreter, and installed sizes.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Case, format_table, torch  # noqa: E402

import heron  # noqa: E402
import heron.nn.functional as HF  # noqa: E402

F32 = 4  # bytes per float32 element


def _rand(shape, seed):
    """Same data for every library: each factory regenerates it from the same seed, so the
    inputs are identical and freed together with the case."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# per-op overhead
# --------------------------------------------------------------------------------------------


def _add_case(name, shape, requires_grad):
    def make_heron():
        a = heron.tensor(_rand(shape, 1), requires_grad=requires_grad)
        b = heron.tensor(_rand(shape, 2), requires_grad=requires_grad)
        return lambda: a + b

    def make_torch():
        a = torch.tensor(_rand(shape, 1), requires_grad=requires_grad)
        b = torch.tensor(_rand(shape, 2), requires_grad=requires_grad)
        return lambda: a + b

    def make_numpy():
        a, b = _rand(shape, 1), _rand(shape, 2)
        return lambda: a + b

    impls = {"heron": make_heron, "torch": make_torch}
    if not requires_grad:
        impls["numpy"] = make_numpy
    return Case(name, impls, group="overhead", ops=1, rtol=1e-6, atol=1e-7)


CHAIN_OPS = 11  # 10 elementwise ops + sum (the backward pass is included in the time)


def _chain(x):
    return x.add(1.0).mul(x).sin().sub(0.5).div(3.0).tanh().exp().neg().sigmoid().mul(2.0)


def _chain_case(shape=(16, 16)):
    def make(lib):
        def factory():
            x = lib.tensor(_rand(shape, 3), requires_grad=True)

            def step():
                x.grad = None
                _chain(x).sum().backward()
                return x.grad

            return step
        return factory

    impls = harness.heron_and_torch(make)
    return Case(f"chain10+sum+backward {shape[0]}x{shape[1]}", impls, group="overhead",
                ops=CHAIN_OPS, rtol=1e-5, atol=1e-6,
                note="us/op = time / 11 forward ops (backward included)")


# --------------------------------------------------------------------------------------------
# bandwidth-bound elementwise and row reductions
# --------------------------------------------------------------------------------------------


def _ew_case(name, n, nin, heron_fn, torch_fn, numpy_fn, rtol=1e-5, atol=1e-6, nout=1,
             check=True):
    def inputs():
        return [_rand(n, 10 + i) for i in range(nin)]

    impls = {}
    if heron_fn is not None:
        def make_heron():
            xs = [heron.from_numpy(a) for a in inputs()]
            return lambda: heron_fn(*xs)
        impls["heron"] = make_heron
    if torch_fn is not None and torch is not None:
        def make_torch():
            xs = [torch.from_numpy(a) for a in inputs()]
            return lambda: torch_fn(*xs)
        impls["torch"] = make_torch
    if numpy_fn is not None:
        def make_numpy():
            xs = inputs()
            return lambda: numpy_fn(*xs)
        impls["numpy"] = make_numpy
    return Case(name, impls, group="bandwidth", bytes=(nin + nout) * n * F32, rtol=rtol,
                atol=atol, check=check)


def _np_softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _rows_case(name, m, heron_fn, torch_fn, numpy_fn, out_elems, rtol, atol):
    def make(wrap, fn):
        def factory():
            x = wrap(_rand((m, m), 20))
            return lambda: fn(x)
        return factory

    impls = {"heron": make(heron.from_numpy, heron_fn),
             "numpy": make(lambda a: a, numpy_fn)}
    if torch is not None:
        impls["torch"] = make(torch.from_numpy, torch_fn)
    return Case(name, impls, group="bandwidth", bytes=(m * m + out_elems) * F32,
                rtol=rtol, atol=atol)


def build_cases(runner: harness.Runner):
    quick = runner.quick
    n = (4 << 20) if quick else (16 << 20)
    m = 2048 if quick else 4096
    nname = f"{n >> 20}M"
    tf = torch.nn.functional if torch is not None else None
    return [
        _add_case("add 1 elem", (1,), False),
        _add_case("add 16x16", (16, 16), False),
        _add_case("add 1 elem, requires_grad", (1,), True),
        _add_case("add 16x16, requires_grad", (16, 16), True),
        _chain_case(),
        _ew_case(f"add {nname} f32", n, 2, lambda a, b: a + b,
                 lambda a, b: a + b, lambda a, b: a + b),
        # in place: no output allocation (and no page faults on fresh memory), so this is the
        # kernel's own bandwidth; results depend on the call count, hence no check
        _ew_case(f"add_ {nname} f32 in-place", n, 2, lambda a, b: a.add_(b),
                 lambda a, b: a.add_(b), lambda a, b: np.add(a, b, out=a), check=False),
        _ew_case(f"mul {nname} f32", n, 2, lambda a, b: a * b,
                 lambda a, b: a * b, lambda a, b: a * b),
        _ew_case(f"exp {nname} f32", n, 1, heron.exp,
                 torch.exp if torch is not None else None, np.exp),
        # NumPy has no erf, so no NumPy column for the exact (erf) gelu
        _ew_case(f"gelu {nname} f32", n, 1, HF.gelu, tf.gelu if tf is not None else None, None,
                 rtol=1e-5, atol=1e-6),
        _rows_case(f"sum(dim=1) {m}x{m} f32", m, lambda x: heron.sum(x, dim=1),
                   lambda x: torch.sum(x, dim=1), lambda a: a.sum(axis=1), m,
                   rtol=1e-4, atol=1e-3),
        _rows_case(f"softmax(dim=1) {m}x{m} f32", m, lambda x: heron.softmax(x, dim=1),
                   lambda x: torch.softmax(x, dim=1), _np_softmax, m * m,
                   rtol=1e-4, atol=1e-7),
    ]


# --------------------------------------------------------------------------------------------
# import time and installed size
# --------------------------------------------------------------------------------------------

_IMPORT_SNIPPET = ("import time; t0 = time.perf_counter_ns(); import {mod}; "
                   "print(time.perf_counter_ns() - t0)")


def import_time_s(module: str, reps: int):
    """Median wall time of `import module` in fresh interpreters, after one untimed warm-up run
    that fills the OS file cache and writes the bytecode cache, as `pip install` does (without
    it, a PYTHONDONTWRITEBYTECODE environment and an editable install recompile every module
    from source on every import, tripling the time).  Returns (median seconds, all samples) or
    (None, error)."""
    samples = []
    warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for i in range(reps + 1):
        p = subprocess.run([sys.executable, "-c", _IMPORT_SNIPPET.format(mod=module)],
                           capture_output=True, text=True, env=warm_env if i == 0 else None)
        if p.returncode != 0:
            return None, p.stderr.strip().splitlines()[-1:] or ["failed"]
        if i > 0:
            samples.append(int(p.stdout.strip().splitlines()[-1]) / 1e9)
    return statistics.median(samples), samples


def _tree_size(paths):
    """Bytes of all regular files under the given directories (each counted once)."""
    seen, total = set(), 0
    for root in paths:
        for d, _, files in os.walk(root):
            for f in files:
                fp = os.path.join(d, f)
                if fp in seen or os.path.islink(fp):
                    continue
                seen.add(fp)
                total += os.path.getsize(fp)
    return total


def heron_dirs():
    dirs = {os.path.dirname(os.path.abspath(heron.__file__)),
            os.path.dirname(os.path.abspath(heron._C.__file__))}
    return sorted(dirs)


def dist_size(name):
    """Bytes of all files of an installed distribution, from its RECORD (None if unknown)."""
    try:
        files = importlib.metadata.files(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if not files:
        return None
    total = 0
    for f in files:
        p = f.locate()
        if os.path.isfile(p) and not os.path.islink(p):
            total += os.path.getsize(p)
    return total


def extras(runner: harness.Runner) -> str:
    reps = 2 if runner.quick else 5
    rows = []

    def mb(b):
        return f"{b / 1e6:.1f} MB" if b is not None else "-"

    def ms(s):
        return f"{s * 1e3:.0f} ms" if s is not None else "-"

    print("  measuring import times ...", file=sys.stderr, flush=True)
    imp = {}
    for mod in ("heron", "heron.nn", "torch", "numpy"):
        if mod == "torch" and importlib.util.find_spec("torch") is None:
            continue
        t, samples = import_time_s(mod, reps)
        imp[mod] = t
        runner.add_extra(f"import {mod}", seconds=t, samples=samples, reps=reps)
        if t is None and mod == "heron":
            runner.bugs.append(f"`import heron` failed in a fresh interpreter: {samples}")
    ratio = (f"{imp['torch'] / imp['heron']:.1f}x"
             if imp.get("heron") and imp.get("torch") else "-")
    rows.append(["import time (fresh interpreter)", ms(imp.get("heron")), ms(imp.get("torch")),
                 ratio, f"numpy alone: {ms(imp.get('numpy'))} (heron imports numpy); heron.nn (loaded on first use): "
                 f"{ms(imp.get('heron.nn'))}"])

    hdirs = heron_dirs()
    hsize = _tree_size(hdirs)
    so_size = os.path.getsize(heron._C.__file__)
    runner.add_extra("heron installed size", bytes=hsize, dirs=hdirs, c_extension_bytes=so_size)
    tsize = tdist = None
    if torch is not None:
        tdir = os.path.dirname(os.path.abspath(torch.__file__))
        tsize = _tree_size([tdir])
        tdist = dist_size("torch")
        runner.add_extra("torch installed size", bytes=tsize, dir=tdir, distribution_bytes=tdist)
    rows.append(["installed size (package dirs)", mb(hsize), mb(tsize),
                 f"{tsize / hsize:.0f}x" if tsize else "-",
                 f"heron _C: {mb(so_size)}; torch wheel incl. functorch/torchgen: {mb(tdist)}"])
    return format_table(["", "heron", "torch", "torch/heron", "note"], rows, align="lrrrl")


if __name__ == "__main__":
    harness.main(__doc__.strip().splitlines()[0], build_cases, extras)
