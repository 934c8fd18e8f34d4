"""The layering contracts of pyproject.toml (import-linter) hold, and they bite: a lower layer
that imports a higher one breaks `lint-imports`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([str(LINT), "--config", str(where / "pyproject.toml"), "--no-cache"], cwd=where,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _copy(tmp_path: Path) -> Path:
    for name in ("harness", "loss_zoo", "datasets"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "broken", "arrow"), [
    ("harness/metrics/binary.py", "from harness.running import cell", "harness is layered: lower never imports higher",
     "harness.metrics.binary -> harness.running.cell"),
    ("harness/report/gate.py", "import torch", "the report reads results without the training stack",
     "harness.report.gate -> torch"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, broken, arrow):
    tree = _copy(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402,F401\n")
    proc = _lint(tree)
    assert proc.returncode != 0
    assert f"{broken} BROKEN" in proc.stdout and arrow in proc.stdout, proc.stdout[-3000:]


def _cycle(imports: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (module -> the modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for other in sorted(imports.get(module, ())):
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state and (found := visit(other)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(imports):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycle_in_the_library_the_losses_or_the_datasets():
    """Module-level imports only (annotations under TYPE_CHECKING do not count); the checker
    itself finds a planted cycle."""
    import grimp

    graph = grimp.build_graph("harness", "loss_zoo", "datasets", exclude_type_checking_imports=True)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycle(imports) is None, _cycle(imports)
    planted = {**imports, "harness.metrics.binary": imports["harness.metrics.binary"] | {"harness.plan.checks"}}
    assert _cycle(planted) is not None
