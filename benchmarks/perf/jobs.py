"""Cells in parallel: the smoke spec with ``--jobs 2`` vs ``--jobs 1``, measured in one run.

    python -m benchmarks.perf.jobs [--spec benchmarks/smoke.yaml]

Target (issue 10): at least 1.8x on two cores. Both runs use in-memory Optuna storage and no
tracking, so only training and evaluation are compared; the tables must be identical. The
ratio is of the runs' own wall time (what the runner prints: from the spec to the table,
workers started and stopped included); the whole command (interpreter start and imports,
about 4 s either way) is printed beside it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._table import Row

ROOT = Path(__file__).resolve().parents[2]


def run(spec: Path, jobs: int, out: Path) -> tuple[float, float]:
    """(the run's own wall time, the whole command's)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "runner.py"), "run", str(spec), "--no-tracking", "--quiet",
                           "--storage", "memory", "--results-dir", str(out), "--jobs", str(jobs)],
                          check=True, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    return float(re.search(r"wall time ([0-9.]+) s", proc.stdout).group(1)), whole


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "benchmarks" / "smoke.yaml"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        (one, one_cmd) = run(Path(args.spec), 1, Path(tmp) / "one")
        (two, two_cmd) = run(Path(args.spec), 2, Path(tmp) / "two")
        tables = [next((Path(tmp) / d).glob("*/results.csv")).read_bytes() for d in ("one", "two")]
    print(f"cells in parallel on {Path(args.spec).name}: the run's wall time (whole command in brackets)")
    print(f"{'--jobs 1':10s} {one:8.1f} s  ({one_cmd:.1f} s)")
    print(f"{'--jobs 2':10s} {two:8.1f} s  ({two_cmd:.1f} s)   speed-up {one / two:.2f}x ({one_cmd / two_cmd:.2f}x)   "
          f"identical tables: {tables[0] == tables[1]}")
    return [Row(f"--jobs 2 vs --jobs 1 on {Path(args.spec).name}", f"{one:.1f} s / {two:.1f} s", one / two, "x", 1.8,
                valid=tables[0] == tables[1]),
            Row("(whole command, interpreter start included)", f"{one_cmd:.1f} s / {two_cmd:.1f} s", one_cmd / two_cmd, "x")]


if __name__ == "__main__":
    main()
