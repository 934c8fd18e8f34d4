"""Share of the smoke run's wall time spent in MLflow and Optuna bookkeeping, measured in one run.

    python -m benchmarks.perf.bookkeeping [--spec benchmarks/smoke.yaml]

Runs the spec in-process with tracking to a fresh SQLite store and Optuna's journal file,
as `make bench-ci` does. MLflow: the time the run waited for the tracking thread (its calls
overlap training); Optuna: time inside Optuna (asking, telling, storage), not training.
Target (issue 10): together at most 5 % of the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ._table import Row, show

ROOT = Path(__file__).resolve().parents[2]


def measure(spec_path: Path) -> dict:
    import torch

    from harness import load_spec, run_benchmark

    torch.set_num_threads(1)
    spec = load_spec(spec_path)
    with tempfile.TemporaryDirectory() as tmp:
        out = run_benchmark(spec, results_root=Path(tmp) / "results", tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                            progress=False, fresh=True)
    return {"wall": out.seconds, "mlflow": out.tracking_seconds, "mlflow_calls": out.tracking_call_seconds,
            "optuna": out.optuna_seconds, "cells": len(out.cells)}


def rows(m: dict) -> list[Row]:
    return [Row("MLflow + Optuna share of smoke wall time", f"{m['mlflow']:.1f} s + {m['optuna']:.1f} s of {m['wall']:.1f} s",
                100 * (m["mlflow"] + m["optuna"]) / m["wall"], "%", 5.0, "<=")]


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "benchmarks" / "smoke.yaml"))
    args = parser.parse_args(argv)
    m = measure(Path(args.spec))
    print(f"bookkeeping on {Path(args.spec).name}: {m['cells']} cells in {m['wall']:.1f} s; waited {m['mlflow']:.2f} s "
          f"for MLflow ({m['mlflow_calls']:.1f} s in its calls, overlapped), {m['optuna']:.2f} s in Optuna")
    show(rows(m))
    return rows(m)


if __name__ == "__main__":
    main()
