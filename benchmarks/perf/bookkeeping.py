"""MLflow's share of a run's CPU time, and the wall time the run waited for it, in one run.

    python -m benchmarks.perf.bookkeeping [--spec SPEC] [--jobs 2]

By default a quarter of the default spec (`make bench`): every third dataset, the ratios but
the first, every method, tuning and evaluation as they are (36 of its 144 cells), with
``--jobs 2``, in-process, tracking to a fresh SQLite store and Optuna in memory. MLflow's
CPU: the logging thread's own CPU time; the run's CPU: this process and its worker
processes (``getrusage``). Targets (issue 17): MLflow at most 5 % of the CPU, waiting for it
at most 2 % of the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from harness.processes import process_tree_cpu_seconds

from ._table import Row, show

ROOT = Path(__file__).resolve().parents[2]


def quarter_spec(source: Path, folder: Path) -> Path:
    """A copy of ``source`` with every third dataset and all ratios but the first."""
    spec = yaml.safe_load(source.read_text())
    spec["datasets"] = spec["datasets"][::3]
    spec["imbalance_ratios"] = spec["imbalance_ratios"][1:]
    kept = {d if isinstance(d, str) else d.get("label") or d["name"] for d in spec["datasets"]}
    for entry in [*spec.get("methods", []), *spec.get("models", [])]:  # `only` may name a dropped dataset
        only = entry.get("only", {}) if isinstance(entry, dict) else {}
        if "datasets" in only:
            only["datasets"] = [d for d in only["datasets"] if d in kept]
    spec["name"] = f"{spec['name']}-quarter"
    path = folder / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def measure(spec_path: Path | None, jobs: int) -> dict:
    import torch

    from harness import load_spec, run_benchmark

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(spec_path or quarter_spec(ROOT / "benchmarks" / "default.yaml", Path(tmp)))
        cpu0 = process_tree_cpu_seconds()
        out = run_benchmark(spec, results_root=Path(tmp) / "results", tracking_uri=f"sqlite:///{tmp}/mlflow.db",
                            progress=False, fresh=True, storage="memory", jobs=jobs)
        cpu = process_tree_cpu_seconds() - cpu0
    return {"spec": spec.name, "wall": out.seconds, "cpu": cpu, "waited": out.tracking_seconds,
            "mlflow_cpu": out.tracking_call_seconds, "optuna": out.optuna_seconds, "cells": len(out.cells)}


def rows(m: dict) -> list[Row]:
    return [Row(f"MLflow CPU share ({m['spec']}, {m['cells']} cells)", f"{m['mlflow_cpu']:.1f} s of {m['cpu']:.1f} s",
                100 * m["mlflow_cpu"] / m["cpu"], "%", 5.0, "<="),
            Row(f"waited for MLflow ({m['spec']})", f"{m['waited']:.1f} s of {m['wall']:.1f} s",
                100 * m["waited"] / m["wall"], "%", 2.0, "<=")]


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", help="benchmark spec (default: a quarter of benchmarks/default.yaml)")
    parser.add_argument("--jobs", type=int, default=2, help="cells in parallel (default 2)")
    args = parser.parse_args(argv)
    m = measure(Path(args.spec) if args.spec else None, args.jobs)
    print(f"bookkeeping on {m['spec']} (--jobs {args.jobs}): {m['cells']} cells in {m['wall']:.1f} s, {m['cpu']:.1f} s "
          f"of CPU; MLflow used {m['mlflow_cpu']:.1f} s of CPU, the run waited {m['waited']:.2f} s for it; "
          f"{m['optuna']:.2f} s in Optuna")
    show(rows(m))
    return rows(m)


if __name__ == "__main__":
    main()
