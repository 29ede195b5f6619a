"""Shared benchmark harness for heron.

Every benchmark runs heron and its peers (torch, NumPy) on the same inputs in ONE process, so the
ratios printed are taken under the same machine conditions.  Timings are medians of several
repetitions taken after a warm-up; for tiny ops each repetition runs the op in an inner loop long
enough (>= ~20 ms) for ``time.perf_counter_ns`` to be accurate.  Repetitions of the libraries in
one case are interleaved (rep 1 of heron, torch, numpy, then rep 2, ...), so a burst of load on a
shared machine hits every library alike instead of one of them.

The machine's peak (memory bandwidth and float32 FLOP/s) is measured at start-up for every thread
count, so that every rate can be read as a fraction of the physical limit.

A benchmark script builds a list of :class:`Case` and calls :func:`main`; see ``bench_core.py``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

import heron

try:  # torch is optional: without it the torch columns are left out.
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

LIBS = ("heron", "torch", "numpy")

# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Per-call seconds of ``reps`` repetitions of ``inner`` calls each."""

    samples: List[float]
    inner: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


def _run_inner(fn: Callable[[], Any], inner: int) -> int:
    """Runs ``fn`` ``inner`` times with the garbage collector off; returns elapsed ns."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        return time.perf_counter_ns() - t0
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable[[], Any], target_s: float = 0.02, max_inner: int = 1_000_000) -> int:
    """Inner-loop count so that one repetition lasts at least ``target_s`` (also warms up)."""
    fn()  # warm-up: first-call costs (page faults, lazy init, caches) stay out of the timing
    inner = 1
    while True:
        ns = _run_inner(fn, inner)
        if ns >= target_s * 1e9 or inner >= max_inner:
            break
        if ns <= 0:
            inner *= 10
            continue
        # aim 20% above the target, grow at most 100x at a time
        inner = min(max_inner, max(inner + 1, min(inner * 100, int(inner * target_s * 1.2e9 / ns))))
    return inner


def time_interleaved(fns: Dict[str, Callable[[], Any]], reps: int = 7, target_s: float = 0.02,
                     warmup: int = 1) -> Dict[str, Timing]:
    """Times several implementations of one case; repetitions are interleaved across them."""
    inners = {k: calibrate(f, target_s) for k, f in fns.items()}
    for _ in range(warmup):
        for k, f in fns.items():
            _run_inner(f, inners[k])
    samples: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            gc.collect()
            ns = _run_inner(f, inners[k])
            samples[k].append(ns / 1e9 / inners[k])
    return {k: Timing(samples[k], inners[k]) for k in fns}


def time_fn(fn: Callable[[], Any], reps: int = 7, target_s: float = 0.02) -> Timing:
    return time_interleaved({"fn": fn}, reps=reps, target_s=target_s)["fn"]


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------


def _openblas_thread_setters() -> List[Callable[[int], None]]:
    """set_num_threads of every OpenBLAS loaded in this process (NumPy's bundled copy), found
    through /proc/self/maps, so NumPy's BLAS runs at the same thread count as the others."""
    import ctypes

    setters = []
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and line.rstrip().endswith(".so")
                     or ("openblas" in line.lower() and ".so" in line.split()[-1])}
    except OSError:
        return setters
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                setters.append(fn)
                break
    return setters


_BLAS_SETTERS: Optional[List[Callable[[int], None]]] = None


def set_threads(n: int) -> None:
    global _BLAS_SETTERS
    heron.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    if _BLAS_SETTERS is None:
        _BLAS_SETTERS = _openblas_thread_setters()
    for setter in _BLAS_SETTERS:
        setter(n)


# --------------------------------------------------------------------------------------------
# Machine peak
# --------------------------------------------------------------------------------------------


def _numpy_bandwidth_gbs(threads: int, quick: bool) -> float:
    """Streaming copy bandwidth (read + write bytes) with np.copyto, split over ``threads``
    Python threads (np.copyto releases the GIL).  Arrays are 128 MiB each, well beyond L3."""
    n = (32 << 20) if not quick else (16 << 20)  # float32 elements
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros_like(src)
    bounds = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    chunks = [(dst[a:b], src[a:b]) for a, b in bounds]
    best = 0.0
    with ThreadPoolExecutor(threads) as ex:
        for _ in range(3 if quick else 8):
            t0 = time.perf_counter_ns()
            list(ex.map(lambda p: np.copyto(p[0], p[1]), chunks))
            dt = time.perf_counter_ns() - t0
            best = max(best, 2 * src.nbytes / dt)  # bytes/ns == GB/s
    return best


_SGEMM_SNIPPET = r"""
import time, numpy as np
n = {n}
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
np.dot(a, b)
best = 0.0
for _ in range({reps}):
    t0 = time.perf_counter_ns(); np.dot(a, b); dt = time.perf_counter_ns() - t0
    best = max(best, 2.0 * n ** 3 / dt)
print(best)
"""


def _numpy_gflops(threads: int, quick: bool) -> float:
    """float32 GEMM rate of NumPy's BLAS, in a subprocess whose BLAS thread count is pinned by
    environment variables.  A lower bound of the FMA peak (a good BLAS gets 80-95% of it)."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = str(threads)
    code = _SGEMM_SNIPPET.format(n=1024 if quick else 2048, reps=2 if quick else 5)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


@dataclass
class Peak:
    threads: int
    bandwidth_gbs: float
    bandwidth_source: str
    gflops: float
    gflops_source: str


def measure_peak(threads: int, quick: bool = False) -> Peak:
    C = heron._C
    if hasattr(C, "peak_bandwidth_gbs"):
        bw = max(float(C.peak_bandwidth_gbs(threads)) for _ in range(1 if quick else 3))
        bw_src = "heron._C.peak_bandwidth_gbs"
    else:
        bw = _numpy_bandwidth_gbs(threads, quick)
        bw_src = "numpy copyto fallback"
    if hasattr(C, "peak_gflops"):
        fl = max(float(C.peak_gflops(threads)) for _ in range(1 if quick else 3))
        fl_src = "heron._C.peak_gflops"
    else:
        try:
            fl = _numpy_gflops(threads, quick)
            fl_src = "numpy sgemm fallback (lower bound)"
        except Exception as e:  # pragma: no cover
            fl, fl_src = float("nan"), f"unavailable ({e})"
    return Peak(threads, bw, bw_src, fl, fl_src)


# --------------------------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(thread_counts: Sequence[int]) -> Dict[str, Any]:
    C = heron._C
    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "isa": C.cpu_capability() if hasattr(C, "cpu_capability") else "?",
        "hardware_isa": C.hardware_capability() if hasattr(C, "hardware_capability") else "?",
        "thread_counts": list(thread_counts),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "heron": getattr(heron, "__version__", None),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    return info


# --------------------------------------------------------------------------------------------
# Cases and results
# --------------------------------------------------------------------------------------------


def heron_and_torch(make) -> Dict[str, Callable[[], Callable[[], Any]]]:
    """A case's ``impls``: ``make(lib)`` (a factory) for heron, and for torch when it is installed."""
    impls = {"heron": make(heron)}
    if torch is not None:
        impls["torch"] = make(torch)
    return impls


@dataclass
class Case:
    """One benchmark case.

    ``impls`` maps a library name ("heron", "torch", "numpy") to a zero-argument *factory* that
    builds the inputs and returns the zero-argument function to time (so setup is not timed).
    The timed function's return value is used for the correctness check: heron's result is
    compared against torch's (or NumPy's when torch is missing) with ``rtol``/``atol``.

    Work per call, for derived rates: ``bytes`` (read + written, gives GB/s and the fraction of
    the measured bandwidth), ``flops`` (gives GFLOP/s and the fraction of the FMA peak), or
    ``ops`` (op count per call, gives microseconds per op).
    """

    name: str
    impls: Dict[str, Callable[[], Callable[[], Any]]]
    group: str = ""
    bytes: float = 0.0
    flops: float = 0.0
    ops: int = 0
    rtol: float = 1e-4
    atol: float = 1e-5
    single_threaded: Sequence[str] = ("numpy",)  # libraries only run at the first thread count
    check: bool = True  # False for cases whose results depend on how often they ran (in-place)
    note: str = ""


@dataclass
class Result:
    case: str
    group: str
    threads: int
    lib: str
    time_s: float
    min_s: float
    max_s: float
    reps: int
    inner: int
    rate: Optional[float] = None
    unit: str = ""
    frac_peak: Optional[float] = None
    us_per_op: Optional[float] = None
    vs_torch: Optional[float] = None   # torch_time / lib_time, > 1 means lib is faster
    check: str = ""                    # "ok", "MISMATCH ...", "ERROR ..." or ""
    note: str = ""


def to_numpy(x: Any) -> np.ndarray:
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, heron.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _compare(a: Any, b: Any, rtol: float, atol: float) -> str:
    try:
        a, b = to_numpy(a), to_numpy(b)
    except Exception as e:
        return f"ERROR converting result: {type(e).__name__}: {e}"
    if a is None or b is None:
        return "ERROR result is None"
    if a.shape != b.shape:
        return f"MISMATCH shape {a.shape} vs {b.shape}"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if np.allclose(a64, b64, rtol=rtol, atol=atol, equal_nan=True):
        return "ok"
    err = np.abs(a64 - b64)
    i = int(np.nanargmax(err))
    return (f"MISMATCH max abs err {err.flat[i]:.3g} at flat index {i} "
            f"(heron {float(a64.flat[i])!r}, ref {float(b64.flat[i])!r})")


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quick = args.quick
        self.reps = args.reps or (3 if args.quick else 7)
        self.target_s = 0.005 if args.quick else 0.02
        self.libs = [lib for lib in LIBS if lib in args.libs]
        if torch is None and "torch" in self.libs:
            self.libs.remove("torch")
        ncpu = os.cpu_count() or 1
        self.thread_counts = [t for t in args.threads if t <= ncpu] or [1]
        self.peaks: Dict[int, Peak] = {}
        self.results: List[Result] = []
        self.extra: List[Dict[str, Any]] = []
        self.bugs: List[str] = []
        self.info = machine_info(self.thread_counts)

    # -- peak ---------------------------------------------------------------------------------
    def measure_peaks(self) -> None:
        for t in self.thread_counts:
            set_threads(t)
            self.peaks[t] = measure_peak(t, self.quick)

    # -- cases --------------------------------------------------------------------------------
    def run_case(self, case: Case) -> List[Result]:
        libs = [lib for lib in self.libs if lib in case.impls]
        fns: Dict[str, Callable[[], Any]] = {}
        for lib in libs:
            try:
                fns[lib] = case.impls[lib]()
            except Exception as e:
                msg = f"{case.name} [{lib}] setup raised {type(e).__name__}: {e}"
                print("  !! " + msg, file=sys.stderr)
                if lib == "heron":
                    self.bugs.append(msg)
        out: List[Result] = []
        for ti, t in enumerate(self.thread_counts):
            set_threads(t)
            run = {k: f for k, f in fns.items() if ti == 0 or k not in case.single_threaded}
            # first call of each implementation: catch exceptions and check results
            # (libraries timed only at the first thread count still give the reference value)
            ok_run, values = {}, {}
            for lib, f in fns.items():
                try:
                    values[lib] = f()
                    if lib in run:
                        ok_run[lib] = f
                except Exception as e:
                    msg = f"{case.name} [{lib}, {t} threads] raised {type(e).__name__}: {e}"
                    print("  !! " + msg, file=sys.stderr)
                    if lib == "heron":
                        self.bugs.append(msg)
                    if lib in run:
                        nan = float("nan")
                        out.append(Result(case.name, case.group, t, lib, nan, nan, nan, 0, 0,
                                          check=f"ERROR {type(e).__name__}: {e}"[:120]))
            check = ""
            if "heron" in values and case.check:
                ref = "torch" if "torch" in values else ("numpy" if "numpy" in values else None)
                if ref is not None:
                    check = _compare(values["heron"], values[ref], case.rtol, case.atol)
                    if check != "ok":
                        msg = f"{case.name} [{t} threads]: heron vs {ref}: {check}"
                        print("  !! " + msg, file=sys.stderr)
                        self.bugs.append(msg)
            del values
            if not ok_run:
                continue
            timings = time_interleaved(ok_run, reps=self.reps, target_s=self.target_s)
            peak = self.peaks.get(t)
            torch_t = timings["torch"].median if "torch" in timings else None
            for lib, tm in timings.items():
                r = Result(case.name, case.group, t, lib, tm.median, tm.min, tm.max,
                           len(tm.samples), tm.inner, note=case.note)
                if case.bytes:
                    r.rate, r.unit = case.bytes / tm.median / 1e9, "GB/s"
                    if peak:
                        r.frac_peak = r.rate / peak.bandwidth_gbs
                elif case.flops:
                    r.rate, r.unit = case.flops / tm.median / 1e9, "GFLOP/s"
                    if peak and peak.gflops == peak.gflops:
                        r.frac_peak = r.rate / peak.gflops
                if case.ops:
                    r.us_per_op = tm.median * 1e6 / case.ops
                if torch_t is not None:
                    r.vs_torch = torch_t / tm.median
                if lib == "heron":
                    r.check = check
                out.append(r)
        self.results.extend(out)
        return out

    def add_extra(self, name: str, **values: Any) -> None:
        d = {"name": name}
        d.update(values)
        self.extra.append(d)

    # -- output -------------------------------------------------------------------------------
    def header(self) -> str:
        i = self.info
        lines = [
            f"heron benchmarks | CPU: {i['cpu']} ({i['logical_cpus']} logical CPUs) | "
            f"ISA: {i['isa']} (hardware {i['hardware_isa']}) | threads: "
            f"{', '.join(map(str, self.thread_counts))}",
            f"python {i['python']} | numpy {i['numpy']} | torch {i['torch'] or 'not installed'} | "
            f"load average at start: "
            + (" ".join(f"{x:.2f}" for x in i["load_average"]) if i["load_average"] else "?")
            + f" | reps {self.reps} (median), >= {self.target_s * 1e3:.0f} ms per rep"
            + (" | QUICK" if self.quick else ""),
        ]
        for t, p in sorted(self.peaks.items()):
            lines.append(
                f"peak @ {t} thread{'s' if t > 1 else ''}: bandwidth {p.bandwidth_gbs:.1f} GB/s "
                f"[{p.bandwidth_source}], float32 {p.gflops:.1f} GFLOP/s [{p.gflops_source}]")
        return "\n".join(lines)

    def table(self) -> str:
        return format_results(self.results)

    def to_json(self) -> Dict[str, Any]:
        return {
            "machine": self.info,
            "quick": self.quick,
            "reps": self.reps,
            "target_rep_s": self.target_s,
            "peaks": {str(t): vars(p) for t, p in self.peaks.items()},
            "results": [vars(r) for r in self.results],
            "extra": self.extra,
            "heron_problems": self.bugs,
        }


def fmt_time(s: Optional[float]) -> str:
    if s is None or s != s:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 align: Optional[str] = None) -> str:
    align = align or "l" * len(headers)
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w)
                         for c, w, a in zip(cells, widths, align)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in rows])


def format_results(results: Sequence[Result]) -> str:
    headers = ["case", "thr", "lib", "time", "us/op", "rate", "%peak", "torch/lib", "spread",
               "check"]
    rows = []
    prev = None
    for r in results:
        key = (r.case, r.threads)
        first = key != prev
        prev = key
        spread = f"{(r.max_s - r.min_s) / r.time_s * 100:.0f}%" if r.reps else "-"
        rows.append([
            r.case if first else "",
            str(r.threads) if first else "",
            r.lib,
            fmt_time(r.time_s),
            f"{r.us_per_op:.2f}" if r.us_per_op is not None else "",
            f"{r.rate:.2f} {r.unit}" if r.rate is not None else "",
            f"{r.frac_peak * 100:.0f}%" if r.frac_peak is not None else "",
            f"{r.vs_torch:.2f}x" if r.vs_torch is not None and r.lib != "torch" else "",
            spread,
            r.check,
        ])
    return format_table(headers, rows, align="llllrrrrrl")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _int_list(s: str) -> List[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def make_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="short smoke run: small sizes, 3 reps of >= 5 ms")
    p.add_argument("--json", metavar="PATH", help="also write all results to PATH as JSON")
    p.add_argument("--threads", type=_int_list, default=[1, 2], metavar="N[,N...]",
                   help="thread counts to run every case at (default 1,2)")
    p.add_argument("--reps", type=int, default=0, help="repetitions per case (default 7, quick 3)")
    p.add_argument("--libs", type=lambda s: s.split(","), default=list(LIBS),
                   metavar="LIB[,LIB...]", help="libraries to run (default heron,torch,numpy)")
    p.add_argument("--filter", default="", metavar="SUBSTR",
                   help="only run cases whose name contains SUBSTR")
    return p


def main(description: str, build_cases: Callable[[Runner], List[Case]],
         extras: Optional[Callable[[Runner], str]] = None,
         argv: Optional[Sequence[str]] = None) -> Runner:
    """Parses the command line, measures the peak, runs the cases, prints the tables.

    ``extras(runner)`` may measure non-timed figures (import time, sizes), record them with
    ``runner.add_extra`` and return a printable table."""
    args = make_parser(description).parse_args(argv)
    runner = Runner(args)
    if torch is None:
        print("torch is not importable: torch columns are skipped")
    start_threads = (heron.get_num_threads(), torch.get_num_threads() if torch else None)
    runner.measure_peaks()
    print(runner.header(), flush=True)
    cases = [c for c in build_cases(runner) if args.filter in c.name]
    t0 = time.perf_counter()
    for c in cases:
        print(f"  running {c.name} ...", file=sys.stderr, flush=True)
        runner.run_case(c)
    heron.set_num_threads(start_threads[0])
    if torch is not None:
        torch.set_num_threads(start_threads[1])
    extra_table = extras(runner) if extras is not None else ""
    print()
    print(runner.table())
    if extra_table:
        print()
        print(extra_table)
    print(f"\n(time = median per call; rate from bytes read+written or flops per call; %peak = "
          f"rate / measured peak at that thread count; torch/lib = torch time / lib time, >1 means "
          f"lib faster; spread = (max-min)/median over reps; {time.perf_counter() - t0:.0f} s)")
    if runner.bugs:
        print("\nheron problems found:")
        for b in runner.bugs:
            print("  - " + b)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runner.to_json(), f, indent=1, default=str)
        print(f"\nresults written to {args.json}")
    return runner
