"""Cost of a whole multi-class cell against a binary cell of the same rows and features.

    python -m benchmarks.perf.multiclass_cell [--epochs 10] [--trials 8] [--classes 5] [--threads 1]

Where :mod:`benchmarks.perf.multiclass` times the stacked training alone, this times one cell
through ``harness.running.cell.run_cell``: tuning (a batch of trials, the validation metric every
epoch: ``average_precision_macro`` against the binary fast ``average_precision``), retraining on
the repetitions, the calibration variants and every test metric. The rows are one subsample of
synthetic/gaussian_multiclass at the long-tailed profile ρ = 10, written once to a CSV and read
twice at the natural ratio: every label a class (C outputs), or the tail class against the rest
(one output). Same MLP, batch size, epochs (no early stopping, no pruning), focal loss.
No target: context for the multi-class cells' share of a benchmark's time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import harness  # noqa: F401  (the checkout's datasets)
from datasets import load, prepare
from harness.plan.cells import expand
from harness.plan.checks import parse_spec
from harness.plan.data import DataProvider
from harness.running.cell import run_cell

from ._table import Row, show

HIDDEN = [64, 32]  # benchmarks/default.yaml
BATCH = 128


def _write_rows(n_classes: int, path: Path) -> int:
    """One long-tailed subsample (ρ = 10) as a CSV; returns the tail class's label."""
    data = prepare(load("synthetic/gaussian_multiclass", {"n_samples": 3000 * n_classes, "n_classes": n_classes}),
                   10, seed=0)
    X = np.vstack([s.X for s in (data.train, data.validation, data.test)])
    y = np.concatenate([s.y for s in (data.train, data.validation, data.test)])
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["label"] = y
    frame.to_csv(path, index=False)
    return int(np.argmin(np.bincount(y)))


def _spec(path: Path, positive: int | None, epochs: int, trials: int) -> dict:
    params = {"path": str(path), "target": "label", **({} if positive is None else {"positive": positive})}
    return {"name": "perf-cell", "datasets": [{"name": "csv", "label": "rows", "params": params}],
            "imbalance_ratios": ["natural"], "methods": ["focal"],
            "model": {"name": "mlp", "hidden_sizes": HIDDEN},
            "training": {"max_epochs": epochs, "batch_size": BATCH, "patience": epochs + 1},
            "tuning": {"n_trials": trials, "batch_trials": trials, "pruner": "none"},
            "evaluation": {"repetitions": 2, "plots": False}}


def _cell_seconds(spec_dict: dict, repeats: int) -> float:
    spec = parse_spec(spec_dict)
    cell = expand(spec)[0]
    data = DataProvider(spec)
    data.prepared(cell.dataset, cell.ratio, 0)  # loading the file is not the cell's cost
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run_cell(spec, cell, data)
        times.append(time.perf_counter() - t0)
        assert result.status == "ok", result.reason
    return min(times)


def measure(epochs: int, trials: int, n_classes: int, repeats: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        tail = _write_rows(n_classes, path)
        n_rows = len(pd.read_csv(path))
        binary = _cell_seconds(_spec(path, tail, epochs, trials), repeats)
        multi = _cell_seconds(_spec(path, None, epochs, trials), repeats)
    return {"rows": n_rows, "classes": n_classes, "epochs": epochs, "trials": trials,
            "binary_s": binary, "multiclass_s": multi}


def rows(m: dict) -> list[Row]:
    return [Row(f"cell ({m['trials']} trials + 2 reps): {m['classes']}-class vs binary",
                f"{m['multiclass_s']:.2f} s / {m['binary_s']:.2f} s", m["multiclass_s"] / m["binary_s"], "x", 1.5, "<=")]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    m = measure(args.epochs, args.trials, args.classes)
    print(f"multiclass_cell: synthetic/gaussian_multiclass long-tailed ρ=10, {m['rows']} rows, MLP {HIDDEN}, "
          f"batch {BATCH}, {m['epochs']} epochs, focal, run_cell, {args.threads} thread(s)")
    show(rows(m))
    return rows(m)


if __name__ == "__main__":
    main()
