"""Per-cell time of each learner, measured side by side in one run (``make perf``).

    python -m benchmarks.perf.learners [--trials 8] [--repetitions 2]

One cell (tuning with the trial budget, then the repetitions) of the default spec's Gaussian
data at ρ = 5 for each learner: the torch MLP (CE), LightGBM (CE and focal as custom
objectives) and each imbalanced-learn ensemble. Context rows, no targets: wall and CPU time per
cell (CPU time of this process: steadier than wall time on a shared machine), and the CPU ratio
to the MLP's.
"""

from __future__ import annotations

import argparse
import time

import harness  # noqa: F401  (the checkout's datasets)
from harness import quiet
from harness.learners import ensembles
from harness.plan.cells import expand
from harness.plan.checks import parse_spec
from harness.plan.data import DataProvider
from harness.running.cell import run_cell

from ._table import Row, show

CELLS = [("mlp", "ce"), ("lightgbm", "ce"), ("lightgbm", "focal"), *(("ensemble", e) for e in ensembles.ENSEMBLES)]


def _spec(trials: int, repetitions: int):
    return parse_spec({
        "name": "perf-learners", "seed": 0,
        "datasets": [{"name": "synthetic/gaussian", "label": "gaussian-10d", "params": {"n_samples": 8000}}],
        "imbalance_ratios": [5], "methods": ["ce", "focal", *ensembles.ENSEMBLES],
        "models": [{"name": "mlp", "hidden_sizes": [64, 32]}, {"name": "lightgbm", "max_rounds": 500, "patience": 30}],
        "training": {"max_epochs": 50, "batch_size": 128, "patience": 6},
        "tuning": {"n_trials": trials}, "evaluation": {"repetitions": repetitions, "plots": False},
    })


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repetitions", type=int, default=2)
    args = parser.parse_args(argv)
    quiet.libraries()
    spec = _spec(args.trials, args.repetitions)
    data = DataProvider(spec)
    cells = {(c.model_key, c.method): c for c in expand(spec)}
    data.prepared(next(iter(cells.values())).dataset, 5.0, 0)  # data preparation outside the timings
    times = {}
    for key in CELLS:
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_cell(spec, cells[key], data)
        times[key] = (time.perf_counter() - t0, time.process_time() - c0)
        assert result.status == "ok", result.reason
    base = times[("mlp", "ce")][1]
    print(f"per-cell time ({args.trials} trials, {args.repetitions} repetitions, Gaussian 8000 rows at ρ=5):")
    rows = [Row(f"cell, {model} {method} (CPU vs mlp ce)", f"{wall:.1f} s wall, {cpu:.1f} s CPU", cpu / base, "x")
            for (model, method), (wall, cpu) in times.items()]
    show(rows)
    return rows


if __name__ == "__main__":
    main()
