"""The coverage report of heron.testing.conformance: its table structure, known names reported
as covered, the JSON output, and the command line. The torch-derived parts are skipped without
torch."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from heron.testing import conformance

KNOWN_COVERED = {"add": "opdb", "nn.functional.gelu": "opdb", "nn.Linear": "conformance",
                 "optim.SGD": "conformance", "optim.lr_scheduler.StepLR": "conformance"}


TESTS_DIR = Path(__file__).resolve().parent / "conformance"  # also when heron is installed as a wheel


@pytest.fixture(scope="module")
def report():
    return conformance.build_report(TESTS_DIR)


def test_rows_and_totals_have_the_table_structure(report):
    assert report["rows"] and set(report["totals"]) == set(conformance.CATEGORIES) | {"all"}
    for row in report["rows"]:
        assert set(row) == {"category", "name", "heron", "opdb", "conformance"}
        assert row["category"] in conformance.CATEGORIES
        assert all(isinstance(row[key], bool) for key in ("heron", "opdb", "conformance"))
    for category, totals in report["totals"].items():
        rows = [r for r in report["rows"] if category in ("all", r["category"])]
        assert totals == {"names": len(rows), "heron": sum(r["heron"] for r in rows),
                          "covered": sum(r["heron"] and (r["opdb"] or r["conformance"]) for r in rows)}


def test_known_names_are_reported_as_covered(report):
    rows = {r["name"]: r for r in report["rows"]}
    for name, source in KNOWN_COVERED.items():
        assert rows[name]["heron"] and rows[name][source], rows[name]


def test_without_the_test_folder_only_the_op_database_counts(tmp_path):
    rows = {r["name"]: r for r in conformance.build_report(tmp_path)["rows"]}
    assert rows["add"]["opdb"] and not rows["optim.SGD"]["conformance"]


def test_case_lists_and_module_parameters_are_read_from_test_sources(tmp_path):
    (tmp_path / "test_fake.py").write_text(
        'CASES = [("Adam", {}), ("GRU-bidirectional", {})]\n'
        'def test(m, lib):\n    lib.nn.functional.mish(m.ExponentialLR)\n'
        'broken = "not a case list: SGD"\n')
    (tmp_path / "test_broken.py").write_text("def (:\n")
    paths, names = conformance.conformance_references(tmp_path)
    assert "nn.functional.mish" in paths and {"Adam", "GRU", "ExponentialLR"} <= names and "SGD" not in names


def test_torch_names_are_torchs(report):
    torch = pytest.importorskip("torch")
    assert report["torch_version"] == torch.__version__
    names = {r["name"] for r in report["rows"]}
    assert {"nn.Conv2d", "nn.functional.cross_entropy", "matmul", "optim.Adam", "optim.lr_scheduler.OneCycleLR"} <= names
    assert "nn.functional.has_torch_function" not in names  # a dispatch helper, not API


def test_without_torch_the_names_are_herons():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from heron.testing.conformance import build_report\n"
            "report = build_report()\n"
            "assert report['torch_version'] is None and all(r['heron'] for r in report['rows'])\n"
            "assert {'nn.Linear', 'optim.Adam', 'add'} <= {r['name'] for r in report['rows']}\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_command_line_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "coverage.json"
    result = subprocess.run([sys.executable, "-m", "heron.testing.conformance", "--report", "--json", str(out)],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["category", "name", "heron", "opdb", "conformance"]
    assert any(line.split()[:2] == ["optim", "optim.SGD"] for line in lines) and "totals" in result.stdout
    assert set(json.loads(out.read_text())) == {"torch_version", "rows", "totals"}
    usage = subprocess.run([sys.executable, "-m", "heron.testing.conformance"], capture_output=True, text=True)
    assert usage.returncode == 2 and "--report" in usage.stderr


def test_module_does_not_import_torch():
    code = "import sys, heron.testing.conformance; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
