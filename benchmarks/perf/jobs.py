"""Cells in parallel: the smoke spec with ``--jobs 2`` vs ``--jobs 1``, measured in one run.

    python -m benchmarks.perf.jobs [--spec benchmarks/smoke.yaml]

Target (issue 10): at least 1.8x on two cores. Both runs use in-memory Optuna storage and no
tracking, so only training and evaluation are compared; the tables must be identical.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(spec: Path, jobs: int, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "runner.py"), "run", str(spec), "--no-tracking", "--quiet",
                    "--storage", "memory", "--results-dir", str(out), "--jobs", str(jobs)],
                   check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "benchmarks" / "smoke.yaml"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        one = run(Path(args.spec), 1, Path(tmp) / "one")
        two = run(Path(args.spec), 2, Path(tmp) / "two")
        tables = [next((Path(tmp) / d).glob("*/results.csv")).read_bytes() for d in ("one", "two")]
    print(f"cells in parallel on {Path(args.spec).name} (whole command, process start included)")
    print(f"{'--jobs 1':10s} {one:8.1f} s")
    print(f"{'--jobs 2':10s} {two:8.1f} s   speed-up {one / two:.2f}x   identical tables: {tables[0] == tables[1]}")
    return [(f"--jobs 2 vs --jobs 1 on {Path(args.spec).name}", f"{one:.1f} s / {two:.1f} s", one / two, "x", 1.8,
             one / two >= 1.8 and tables[0] == tables[1])]


if __name__ == "__main__":
    main()
