"""The house rules, checked: small functions, reading results without the training stack, and
no global state changed on import."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60


HOUSE = ("harness", "datasets", "loss_zoo", "runner.py")


def _functions(folder: str):
    paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(ROOT)}::{node.name}", node.end_lineno - node.lineno + 1


def test_no_function_in_the_house_is_longer_than_a_screen():
    """The library, the datasets, the loss zoo and the command line."""
    long = {name: n for folder in HOUSE for name, n in _functions(folder) if n > MAX_LINES}
    assert not long, f"functions over {MAX_LINES} lines: {long}"


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_report_and_gate_import_neither_torch_nor_optuna(tmp_path):
    """`runner.py report` and `runner.py gate` read results only: torch and Optuna stay unloaded."""
    results = tmp_path / "r"
    results.mkdir()
    table = ROOT / "tests" / "data" / "results_small.csv"
    (results / "results.csv").write_text(table.read_text())
    code = f"""
        import sys, runner

        assert runner.main(["baseline", {str(results)!r}, "--out", {str(tmp_path / 'b.json')!r}]) == 0
        assert runner.main(["gate", {str(results)!r}, "--baseline", {str(tmp_path / 'b.json')!r}]) == 0
        assert runner.main(["report", {str(results)!r}, "--no-tracking"]) == 0
        print(sorted(m for m in ("torch", "optuna", "mlflow") if m in sys.modules))
    """
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


_IMPORT_SUITE = """
import importlib, pkgutil
import harness, loss_zoo, datasets
for package in (harness, loss_zoo, datasets):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
"""


def test_importing_the_suite_changes_no_global_state():
    """Warning filters, the matplotlib backend, Optuna's log level, torch's RNG and threads are
    as before after importing every module of harness, loss_zoo and datasets. The libraries the
    suite imports are imported first (some add warning filters of their own on import)."""
    listing = _python(_IMPORT_SUITE + """
import sys
ours = ("harness", "loss_zoo", "datasets", "runner")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] not in ours and not m.startswith("_"))))
""")
    assert listing.returncode == 0, listing.stderr[-3000:]
    third_party = listing.stdout.split()
    code = f"""
import importlib, warnings
for name in {third_party!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
import matplotlib, optuna, torch

def state():
    return (list(warnings.filters), dict.__getitem__(matplotlib.rcParams, "backend"),
            optuna.logging.get_verbosity(), torch.random.get_rng_state().sum().item(), torch.get_num_threads())

before = state()
{_IMPORT_SUITE}
after = state()
assert before == after, [(b, a) for b, a in zip(before, after) if b != a]
print("ok")
"""
    proc = _python(code)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
