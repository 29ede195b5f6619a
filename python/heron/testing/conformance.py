"""Coverage of torch's public API by heron: ``python -m heron.testing.conformance --report``.

For every public name of the mirrored torch areas (``torch.nn`` modules, ``torch.nn.functional``
functions, ``torch.*`` tensor functions, optimizers and lr schedulers) the report says whether
heron has it, whether an op-database entry covers it, and whether a conformance test in
``tests/conformance/`` uses it. Without torch the names are heron's own.

The conformance tests are read with ``ast``, never imported (they need torch and pytest): a
name counts as used when the test code reaches it through a library (``torch.nn.Linear``,
``L.nn.Linear``, ``lib.add``, ``F.gelu``, ``optim.SGD``; a class also through any module
parameter: ``m.StepLR``) or when a string of a module-level case list names it (``OPTIMIZER_CASES = [("SGD", ...)]``, ``MODES = {"RNN-relu": ...}``).
"""
from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import types
from pathlib import Path

import heron

CATEGORIES = ("nn", "nn.functional", "torch", "optim", "optim.lr_scheduler")
def _default_tests() -> Path:
    """tests/conformance of the source checkout this module runs from (an editable install),
    else of the current directory (a checkout next to an installed wheel)."""
    beside_source = Path(__file__).resolve().parents[3] / "tests" / "conformance"
    return beside_source if beside_source.is_dir() else Path.cwd() / "tests" / "conformance"


DEFAULT_TESTS = _default_tests()

# Roots of attribute chains in the tests that stand for torch or heron (test parameters
# included), and the dotted prefix each stands for.
_LIBRARY_ROOTS = {"torch": "", "heron": "", "lib": "", "L": "", "TORCH": "", "HERON": "", "nn": "nn.",
                  "F": "nn.functional.", "functional": "nn.functional.", "optim": "optim.",
                  "lr_scheduler": "optim.lr_scheduler."}
# torch.nn.functional helpers that are not part of the functional API.
_FUNCTIONAL_HELPERS = {"boolean_dispatch", "handle_torch_function", "has_torch_function", "has_torch_function_unary",
                       "has_torch_function_variadic"}


# ---------------------------------------------------------------------------- public names
def _public(module, keep):
    return sorted(n for n in dir(module) if not n.startswith("_") and keep(n, getattr(module, n)))


def _is_subclass(obj, base):
    return inspect.isclass(obj) and issubclass(obj, base)


def torch_names(torch) -> dict:
    """Category -> the public torch names in it (the dotted path under ``torch``)."""
    import torch.nn.functional as F
    from torch.optim import lr_scheduler

    schedulers = (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau)
    names = {
        "nn": _public(torch.nn, lambda n, o: _is_subclass(o, torch.nn.Module)),
        "nn.functional": _public(F, lambda n, o: (inspect.isfunction(o) or inspect.isbuiltin(o))
                                 and n not in _FUNCTIONAL_HELPERS),
        # ATen ops bound as builtins, plus the Python ones of torch.functional (einsum, split, ...).
        "torch": _public(torch, lambda n, o: inspect.isbuiltin(o) or (inspect.isfunction(o)
                                                                       and o.__module__ == "torch.functional")),
        "optim": _public(torch.optim, lambda n, o: _is_subclass(o, torch.optim.Optimizer) and o is not torch.optim.Optimizer),
        "optim.lr_scheduler": _public(lr_scheduler, lambda n, o: _is_subclass(o, schedulers)
                                      and o is not lr_scheduler.LRScheduler),
    }
    return {category: [_dotted(category, n) for n in ns] for category, ns in names.items()}


def heron_names() -> dict:
    """The same categories from heron's own public API (the universe when torch is missing)."""
    from heron.optim import lr_scheduler

    def functions(module):
        return _public(module, lambda n, o: callable(o) and not inspect.isclass(o) and not isinstance(o, types.ModuleType))

    names = {
        "nn": _public(heron.nn, lambda n, o: _is_subclass(o, heron.nn.Module)),
        "nn.functional": functions(heron.nn.functional),
        "torch": functions(heron),
        "optim": _public(heron.optim, lambda n, o: _is_subclass(o, heron.optim.Optimizer)
                         and o is not heron.optim.Optimizer),
        "optim.lr_scheduler": _public(lr_scheduler, lambda n, o: inspect.isclass(o) and hasattr(o, "step")
                                      and n not in ("LRScheduler", "Optimizer")),
    }
    return {category: [_dotted(category, n) for n in ns] for category, ns in names.items()}


def _dotted(category, name):
    return name if category == "torch" else f"{category}.{name}"


def heron_has(path: str) -> bool:
    obj = heron
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return True


# ---------------------------------------------------------------------------- coverage
def opdb_names() -> set:
    """The dotted torch paths that op-database entries mirror (functions and Tensor methods)."""
    from .opdb import op_db

    return {op.torch_name for op in op_db} | {f"Tensor.{op.method}" for op in op_db if op.method}


def _chain(node):
    """``a.b.c`` as ["a", "b", "c"] for an attribute chain rooted at a plain name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id] + parts[::-1]


def _case_list_strings(tree):
    """The strings in module-level UPPERCASE assignments (the tests' case lists), with the
    variant suffix of ids such as ``"RNN-relu"`` removed."""
    strings = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id.isupper() for t in targets) and statement.value is not None:
                strings |= {node.value.split("-")[0] for node in ast.walk(statement.value)
                            if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return {s for s in strings if s.isidentifier()}


def conformance_references(tests_dir=DEFAULT_TESTS) -> tuple[set, set]:
    """(dotted paths reached through a library, bare names from case lists and of classes) in
    the conformance tests; empty when the folder is missing (an installed wheel). A file that does
    not parse is skipped."""
    paths, names = set(), set()
    for file in sorted(Path(tests_dir).glob("test_*.py")):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        names |= _case_list_strings(tree)
        for node in ast.walk(tree):
            chain = _chain(node) if isinstance(node, ast.Attribute) else None
            if chain and chain[0] in _LIBRARY_ROOTS:
                paths.add(_LIBRARY_ROOTS[chain[0]] + ".".join(chain[1:]))
            elif chain and chain[-1][:1].isupper():  # a class through a module parameter: m.ReduceLROnPlateau
                names.add(chain[-1])
    return paths, names


def _covered_by_tests(path, category, paths, names):
    if path in paths:
        return True
    short = path.rsplit(".", 1)[-1]
    # A bare case-list string names classes unambiguously; for functions it must name the path.
    return short in names and (category in ("nn", "optim", "optim.lr_scheduler") or path == short)


# ---------------------------------------------------------------------------- report
def build_report(tests_dir=DEFAULT_TESTS) -> dict:
    """The coverage table: ``{"torch_version", "rows": [...], "totals": {category: {...}}}``;
    each row has category, name, heron, opdb and conformance (booleans)."""
    try:
        import torch
    except ImportError:
        torch = None
    universe = torch_names(torch) if torch is not None else heron_names()
    in_opdb = opdb_names()
    paths, names = conformance_references(tests_dir)
    rows = []
    for category in CATEGORIES:
        for path in universe[category]:
            rows.append({"category": category, "name": path, "heron": heron_has(path), "opdb": path in in_opdb,
                         "conformance": _covered_by_tests(path, category, paths, names)})
    totals = {}
    for category in CATEGORIES + ("all",):
        selected = [r for r in rows if category in ("all", r["category"])]
        totals[category] = {"names": len(selected), "heron": sum(r["heron"] for r in selected),
                            "covered": sum(r["heron"] and (r["opdb"] or r["conformance"]) for r in selected)}
    return {"torch_version": getattr(torch, "__version__", None), "rows": rows, "totals": totals}


def format_report(report: dict) -> str:
    width = max((len(r["name"]) for r in report["rows"]), default=4)
    mark = {True: "yes", False: "-"}
    lines = [f"{'category':<19} {'name':<{width}}  heron  opdb  conformance",
             f"{'-' * 19} {'-' * width}  -----  ----  -----------"]
    lines += [f"{r['category']:<19} {r['name']:<{width}}  {mark[r['heron']]:<5}  {mark[r['opdb']]:<4}  "
              f"{mark[r['conformance']]}" for r in report["rows"]]
    source = f"torch {report['torch_version']}" if report["torch_version"] else "heron (torch not importable)"
    lines += ["", f"totals (names from {source}; covered: in heron and in the op database or a conformance test)"]
    lines += [f"  {category:<19} {t['names']:>5} names  {t['heron']:>5} in heron  {t['covered']:>5} covered"
              for category, t in report["totals"].items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heron.testing.conformance", description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="print the coverage table")
    parser.add_argument("--json", metavar="PATH", help="write the coverage table as JSON to PATH")
    parser.add_argument("--tests", metavar="DIR", default=str(DEFAULT_TESTS), help="the conformance test folder")
    options = parser.parse_args(argv)
    if not (options.report or options.json):
        parser.error("nothing to do: give --report and/or --json PATH")
    report = build_report(options.tests)
    if options.report:
        print(format_report(report))
    if options.json:
        Path(options.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
