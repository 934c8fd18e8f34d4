"""`make bench` against an older commit, both measured in one run on this machine.

    python -m benchmarks.perf.bench_vs_base [--base 146f921] [--spec benchmarks/default.yaml]

The base commit is exported (``git archive``) into a temporary folder and its own
``runner.py`` runs its spec as ``make bench`` does (``--jobs 2``, MLflow to a fresh SQLite
store, Optuna's journal file), then this checkout's runner runs the same spec file; each in a
fresh working folder. Wall
time and the CPU of the whole process tree are measured. Target (issue 17): this checkout's
wall time at most 0.55× the base's. Takes as long as two ``make bench`` runs.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._table import Row, show

ROOT = Path(__file__).resolve().parents[2]
BASE = "146f921"  # main when issue 17 was filed


def _export(ref: str, folder: Path) -> Path:
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench(code: Path, spec: Path, work: Path, jobs: int) -> dict:
    """Run ``code``'s runner on ``spec`` in the fresh folder ``work``: wall and CPU seconds."""
    work.mkdir(parents=True)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, str(code / "runner.py"), "run", str(spec), "--jobs", str(jobs),
                           "--quiet", "--results-dir", str(work / "results")], cwd=work, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"{code}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    tail = [line for line in proc.stdout.splitlines() if "MLflow" in line or "wall time" in line]
    return {"wall": wall, "cpu": cpu, "lines": tail}


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE, help=f"commit to compare with (default {BASE})")
    parser.add_argument("--spec", default="benchmarks/default.yaml")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        code = _export(args.base, Path(tmp) / "base")
        spec = code / args.spec  # the base's spec for both: the same work, whatever the spec became since
        base = bench(code, spec, Path(tmp) / "run-base", args.jobs)
        now = bench(ROOT, spec, Path(tmp) / "run-now", args.jobs)
    for name, m in (("base " + args.base, base), ("this checkout", now)):
        print(f"  {name}: {m['wall']:.0f} s wall, {m['cpu']:.0f} s CPU; " + " / ".join(m["lines"]))
    rows = [Row(f"make bench wall vs {args.base}", f"{now['wall']:.0f} s / {base['wall']:.0f} s",
                now["wall"] / base["wall"], "x", 0.55, "<="),
            Row(f"make bench CPU vs {args.base}", f"{now['cpu']:.0f} s / {base['cpu']:.0f} s",
                now["cpu"] / base["cpu"], "x")]
    show(rows)
    return rows


if __name__ == "__main__":
    main()
