"""What batched tuning costs in quality: tuning schemes against sequential TPE (issue 17).

    python -m benchmarks.perf.tuning_regret --grid quick            # a minute or two
    python -m benchmarks.perf.tuning_regret --grid full --shard 0/2 & \\
    python -m benchmarks.perf.tuning_regret --grid full --shard 1/2 &  # two processes
    python -m benchmarks.perf.tuning_regret --grid full --analyse   # the tables, from the CSVs

Each scheme (``tuning.batch_trials``, ``tuning.n_startup_trials``) runs the same grid
(datasets × ratios × methods) for several spec seeds. A paired cell is (dataset, ratio,
method, seed); its score is the test average precision (raw probabilities) averaged over the
evaluation repetitions. Every scheme is compared with ``seq`` (batch_trials 1): mean and median
difference, wins/losses, Wilcoxon signed-rank p, the same for the best validation score (what
the tuner optimises), and the time ratio (process CPU seconds of the
runs, and the summed wall seconds of the cells). Raw rows go to ``<out>/cells_<shard>.csv``,
one line per cell, appended after each (scheme, seed) run, so a killed run continues.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCHEMES: dict[str, dict] = {
    "seq": {"batch_trials": 1},  # classic sequential TPE: the reference
    "b8": {"batch_trials": 8},  # today's default: 8 + 8 + 4, TPE learns twice
    "b2": {"batch_trials": 2},
    "b4": {"batch_trials": 4},
    "b5": {"batch_trials": 5},  # 5 + 5 + 5 + 5: the startup fills the first batch, TPE learns three times
    "b4s4": {"batch_trials": 4, "n_startup_trials": 4},  # the random startup fills exactly one batch
    "b8s8": {"batch_trials": 8, "n_startup_trials": 8},  # the same draws as b8: its first batch is random anyway
    # a budget that fits the space: tuned_loss (9 parameters) gets 45 trials, focal and weighted_ce keep 20
    "b8tpp5": {"batch_trials": 8, "trials_per_parameter": 5},
}

GRIDS: dict[str, dict] = {
    "quick": {
        "datasets": ["keel/yeast3", "keel/segment0"],
        "ratios": [5], "seeds": [0], "n_trials": 8, "repetitions": 2, "max_epochs": 15,
    },
    "full": {
        "datasets": [
            {"name": "synthetic/gaussian", "label": "gaussian", "params": {"n_samples": 4000, "n_features": 8, "separation": 1.5}},
            {"name": "synthetic/classification", "label": "classification", "params": {"n_samples": 4000, "flip_y": 0.05}},
            "keel/yeast3", "keel/segment0", "keel/page-blocks0", "sklearn/digits",
        ],
        "ratios": [5, 20], "seeds": [0, 1, 2, 3, 4], "n_trials": 20, "repetitions": 3, "max_epochs": 30,
    },
}
METHODS = ["focal", "weighted_ce", "tuned_loss"]
FIELDS = ["scheme", "seed", "dataset", "ratio", "method", "test_ap", "best_validation", "cell_seconds", "run_cpu_seconds"]


def spec_dict(grid: dict, scheme: str, seed: int) -> dict:
    """The benchmark spec of one (scheme, seed) run of ``grid``."""
    return {
        "name": f"regret_{scheme}_{seed}", "seed": seed,
        "datasets": grid["datasets"], "imbalance_ratios": grid["ratios"], "unreachable_ratio": "skip",
        "methods": METHODS,
        "model": {"name": "mlp", "hidden_sizes": [32]},
        "training": {"max_epochs": grid["max_epochs"], "batch_size": 256, "patience": 5},
        "tuning": {"n_trials": grid["n_trials"], "metric": "average_precision", "pruner": "median", **SCHEMES[scheme]},
        "evaluation": {"repetitions": grid["repetitions"], "metrics": ["average_precision"], "calibration": ["raw"],
                       "plots": False},
    }


def run_one(grid: dict, scheme: str, seed: int, out: Path) -> list[dict]:
    """Run one (scheme, seed) benchmark; one row per finished cell."""
    from harness.plan.checks import parse_spec
    from harness.running.benchmark import run_benchmark

    spec = parse_spec(spec_dict(grid, scheme, seed))
    cpu = time.process_time()
    outcome = run_benchmark(spec, results_root=out / "runs", tracking_uri=None, storage="memory", progress=False, jobs=1)
    cpu = time.process_time() - cpu
    rows = []
    for result in outcome.cells:
        aps = [rep.metrics["raw"]["average_precision"] for rep in result.repetitions]
        rows.append({"scheme": scheme, "seed": seed, "dataset": result.cell.dataset.key, "ratio": result.cell.ratio,
                     "method": result.cell.method, "test_ap": float(np.mean(aps)), "best_validation": result.best_value,
                     "cell_seconds": (result.end_ms - result.start_ms) / 1000, "run_cpu_seconds": cpu})
    return rows


def run(grid_name: str, shard: int, shards: int, out: Path, schemes: list[str], seeds: list[int] | None = None) -> None:
    grid = GRIDS[grid_name] if seeds is None else {**GRIDS[grid_name], "seeds": seeds}
    path = out / f"cells_{grid_name}_{shard}.csv"
    done = set()
    if path.exists():
        done = {(r["scheme"], int(r["seed"])) for r in csv.DictReader(path.open())}
    # seed-major, scheme-minor: the shards interleave schemes, so machine load falls on all alike
    tasks = [(scheme, seed) for seed in grid["seeds"] for scheme in schemes][shard::shards]
    for scheme, seed in tasks:
        if (scheme, seed) in done:
            continue
        t0 = time.time()
        rows = run_one(grid, scheme, seed, out)
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if new:
                writer.writeheader()
            writer.writerows(rows)
        print(f"{scheme} seed {seed}: {len(rows)} cells in {time.time() - t0:.0f} s", flush=True)


def compare(cells: pd.DataFrame, reference: str = "seq") -> pd.DataFrame:
    """Each scheme against ``reference``, paired by (dataset, ratio, method, seed)."""
    from scipy.stats import wilcoxon

    key = ["dataset", "ratio", "method", "seed"]
    ref = cells[cells.scheme == reference].set_index(key)
    rows = []
    for scheme in [s for s in cells.scheme.unique() if s != reference]:
        other = cells[cells.scheme == scheme].set_index(key)
        both = other.join(ref.add_suffix("_ref"), how="inner")
        for method in [None, *sorted(both.index.get_level_values("method").unique())]:
            part = both if method is None else both.xs(method, level="method", drop_level=False)
            diff = part.test_ap - part.test_ap_ref  # > 0: the scheme scores higher than sequential
            val = part.best_validation - part.best_validation_ref  # the tuner's own objective (AP)
            p = wilcoxon(diff).pvalue if (diff != 0).any() and len(diff) > 1 else float("nan")
            cpu = _run_cpu(cells, scheme, part) / _run_cpu(cells, reference, part) if method is None else float("nan")
            rows.append({"scheme": scheme, "method": method or "all", "cells": len(diff),
                         "mean ΔAP": diff.mean(), "median ΔAP": diff.median(),
                         "wins/losses": f"{(diff > 0).sum()}/{(diff < 0).sum()}", "Wilcoxon p": p,
                         "mean Δ best val": val.mean(), "val wins/losses": f"{(val > 0).sum()}/{(val < 0).sum()}",
                         "time ratio (cell wall)": part.cell_seconds.sum() / part.cell_seconds_ref.sum(),
                         "time ratio (run CPU)": cpu})
    return pd.DataFrame(rows)


def _run_cpu(cells: pd.DataFrame, scheme: str, part: pd.DataFrame) -> float:
    """CPU seconds of the scheme's runs whose seeds are in ``part`` (one value per run)."""
    seeds = set(part.index.get_level_values("seed"))
    runs = cells[(cells.scheme == scheme) & cells.seed.isin(seeds)].groupby("seed").run_cpu_seconds.first()
    return float(runs.sum())


def analyse(grid_name: str, out: Path, reference: str = "seq") -> pd.DataFrame:
    files = sorted(out.glob(f"cells_{grid_name}_*.csv"))
    cells = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    table = compare(cells, reference)
    print(f"{len(cells)} cell rows from {len(files)} file(s); ΔAP = scheme − {reference} (test average precision)\n")
    print(markdown(table))
    print(f"\nmean ΔAP (scheme − {reference}) by dataset and ratio; {reference}'s own mean AP for scale\n")
    print(markdown(by_dataset(cells, reference)))
    return table


def by_dataset(cells: pd.DataFrame, reference: str = "seq") -> pd.DataFrame:
    """Mean test-AP difference of each scheme from ``reference`` per (dataset, ratio)."""
    wide = cells.pivot_table(index=["dataset", "ratio", "method", "seed"], columns="scheme", values="test_ap")
    schemes = [s for s in cells.scheme.unique() if s != reference]
    diff = wide[schemes].sub(wide[reference], axis=0)
    diff.insert(0, f"{reference} AP", wide[reference])
    out = diff.groupby(level=["dataset", "ratio"]).mean().reset_index()
    out["ratio"] = out["ratio"].map(lambda r: f"{r:g}")
    return out


def markdown(table: pd.DataFrame) -> str:
    """A markdown table (floats with 4 significant decimals), without extra dependencies."""
    def cell(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def rows(table: pd.DataFrame, scheme: str = "b8") -> list:
    """``make perf``'s rows: ``scheme`` against sequential TPE, quality (mean ΔAP) and CPU time."""
    from ._table import Row

    r = table[(table.scheme == scheme) & (table.method == "all")].iloc[0]
    return [Row(f"batched ({scheme}) − sequential test AP, {r['cells']} cells", f"p = {r['Wilcoxon p']:.2g}",
                r["mean ΔAP"], "AP"),
            Row(f"batched ({scheme}) vs sequential tuning CPU", f"wins/losses {r['wins/losses']}",
                r["time ratio (run CPU)"], "x", 1.0, "<=")]


def main(argv: list[str] | None = None) -> pd.DataFrame | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=list(GRIDS), default="quick")
    parser.add_argument("--shard", default="0/1", help="k/n: run every n-th (scheme, seed) task from the k-th")
    parser.add_argument("--schemes", default=",".join(SCHEMES), help=f"comma-separated, of {', '.join(SCHEMES)}")
    parser.add_argument("--seeds", help="comma-separated spec seeds (default: the grid's)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/tuning_regret"))
    parser.add_argument("--analyse", action="store_true", help="only print the tables from the CSVs")
    parser.add_argument("--reference", default="seq", help="the scheme the others are compared with")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.analyse:
        shard, shards = map(int, args.shard.split("/"))
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
        run(args.grid, shard, shards, args.out, args.schemes.split(","), seeds)
    if args.analyse or args.shard == "0/1":
        return analyse(args.grid, args.out, args.reference)
    return None


if __name__ == "__main__":
    main()
