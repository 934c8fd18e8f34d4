"""How often the report's decision table names a winner when no method differs: the false-winner
rate on null tables (method labels permuted within each dataset × ratio × repeat × fold block).

    python -m benchmarks.perf.null_tables RESULTS_DIR --sims 200           # a results folder
    python -m benchmarks.perf.null_tables --summary results/published/full/summary.csv --sims 200
    python -m benchmarks.perf.null_tables --synthetic 120 --sims 200      # a synthetic full sweep

A simulation is one whole decision (``harness.report.effects.compare``: the loss question and the
model question, every regime, method, metric family and task, Holm over all of them) on one null
table; it is *false* when any comparison is called better or worse. The target is a false rate of
at most 5 %. Tables: a results folder's own; per-fold values drawn from ``summary.csv``'s means
and standard deviations (the published run keeps no per-repetition values); or a synthetic sweep
(:func:`synthetic_table`) with realistic sizes, saturation, invalid folds and true effects, which
the permutation removes. ``--rope 0`` puts every comparison's null on its claim boundary, so the
rate measures Holm's family-wise level itself rather than the margin the ROPE adds.

Measured (2 cores, December 2026; 1.1–1.7 s per simulation at 120 datasets): 0 of 200 on a
synthetic sweep of 120 datasets × 5 folds, 0 of 200 on the same as a holdout table (3 repeats,
no fold columns), 0 of 200 on values drawn from ``results/published/full/summary.csv``; with
``--rope 0``, 6 of 200 (3 %) on 60 datasets × 5 folds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.report import decision, effects
from harness.vocabulary import FAMILIES, FAMILIES_MULTICLASS

MODELS = {"mlp": ("ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce",
                  "random_under", "smote", "tuned_loss"),
          "lightgbm": ("ce", "weighted_ce", "focal", "tuned_loss"),
          "ensemble": ("balanced_random_forest", "easy_ensemble", "random_forest", "bagging")}
# metric: (low, high of the dataset's base value, per-fold noise × √n_test)
SCALES = {"average_precision": (0.2, 0.97, 0.6), "roc_auc": (0.7, 1.0, 0.3), "f1_val_threshold": (0.3, 0.85, 0.7),
          "mcc_val_threshold": (0.2, 0.8, 0.8), "ece": (0.01, 0.1, 0.2), "log_loss": (0.05, 0.6, 0.8),
          "brier": (0.02, 0.2, 0.2), "average_precision_macro": (0.3, 0.9, 0.5), "roc_auc_macro": (0.7, 0.99, 0.3),
          "balanced_accuracy": (0.4, 0.9, 0.5), "f1_macro": (0.3, 0.85, 0.6), "top_label_ece": (0.02, 0.12, 0.2),
          "brier_multiclass": (0.1, 0.5, 0.3)}


def _metrics(n_classes: int) -> list[str]:
    families = FAMILIES if n_classes == 2 else FAMILIES_MULTICLASS
    return [m for ms in families.values() for m in ms]


def _dataset_rows(d: int, rng, *, ratios, folds: int, repeats: int, effects_of, noise: float) -> list[dict]:
    n = int(np.exp(rng.uniform(np.log(300), np.log(20000))))
    n_classes = 2 if rng.random() > 0.1 else int(rng.integers(3, 8))
    rows = []
    for ratio in ratios:
        n_r = n if ratio == "natural" else int(n * rng.uniform(0.3, 0.9))
        n_test = max(n_r // max(folds, 5), 30)
        for metric in _metrics(n_classes):
            low, high, scale = SCALES[metric]
            base, sd = rng.uniform(low, high), noise * scale / np.sqrt(n_test)
            for repeat in range(repeats):
                for fold in range(folds):
                    split = rng.normal(0, sd)
                    for model, methods in MODELS.items():
                        for method in methods:
                            value = base + split + effects_of(model, method, metric) + rng.normal(0, sd / 2)
                            rows.append({"dataset": f"d{d:03d}", "imbalance_ratio": ratio, "model": model,
                                         "method": method, "loss": "none" if model == "ensemble" else method,
                                         "sampler": "none", "calibration": "raw", "metric": metric,
                                         "value": float(np.clip(value, 0, 1)) if metric != "log_loss" else value,
                                         "repetition": repeat, "repeat": repeat, "fold": fold, "n_classes": n_classes,
                                         "n_train": n_r - n_test, "n_test": n_test, "n_test_positive": n_test // 10,
                                         "valid": bool(rng.random() > 0.005)})
    return rows


def _realistic_effects(model: str, method: str, metric: str) -> float:
    """True effects (better = +): ensembles rank better, resampling and focal calibrate worse."""
    sign = 1.0 if metric in ("ece", "log_loss", "brier", "top_label_ece", "brier_multiclass") else -1.0
    if model == "ensemble":
        return -0.02 * sign if metric.startswith(("average", "roc")) else 0.0
    return {"random_under": 0.03, "smote": 0.01, "focal": 0.01}.get(method, 0.0) * sign


def synthetic_table(n_datasets: int = 40, *, ratios=("natural", "2", "20"), folds: int = 5, repeats: int = 1,
                    seed: int = 0, effects_of=_realistic_effects, noise: float = 1.0) -> pd.DataFrame:
    """A long results table shaped like the full sweep: ``n_datasets`` datasets (10 % multi-class,
    300 to 20 000 rows) × ``ratios`` × :data:`MODELS` × ``folds`` × ``repeats`` on the family
    metrics, per-fold noise ``noise`` × (the metric's scale)/√n_test shared by the methods of a
    fold (the split) plus half as much per method, true effects ``effects_of(model, method,
    metric)`` (better = +), 0.5 % of fold results invalid."""
    rng = np.random.default_rng(seed)
    rows = [r for d in range(n_datasets)
            for r in _dataset_rows(d, rng, ratios=ratios, folds=folds, repeats=repeats, effects_of=effects_of,
                                   noise=noise)]
    return pd.DataFrame(rows)


def from_summary(path: Path, *, folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Per-fold values drawn from a ``summary.csv`` (mean and std over repetitions per cell): each
    fold value = mean + std·(z_split + z_method)/√2, the split shared by a fold's methods."""
    summary = pd.read_csv(path)
    means = [c.removesuffix("_mean") for c in summary.columns if c.endswith("_mean")]
    long = summary.melt(id_vars=["dataset", "imbalance_ratio", "model", "method", "n_classes"],
                        value_vars=[f"{m}_mean" for m in means], var_name="metric", value_name="mean")
    long["metric"] = long["metric"].str.removesuffix("_mean")
    std = summary.melt(id_vars=["dataset", "imbalance_ratio", "model", "method"],
                       value_vars=[f"{m}_std" for m in means], value_name="std")["std"]
    long = long.assign(std=std.fillna(0).to_numpy()).dropna(subset=["mean"])
    rng = np.random.default_rng(seed)
    frames = []
    for fold in range(folds):
        split = long.groupby(["dataset", "imbalance_ratio", "metric"])["mean"].transform(lambda s: rng.normal())
        value = long["mean"] + long["std"] * (split + rng.normal(size=len(long))) / np.sqrt(2)
        frames.append(long.assign(value=value, repeat=0, repetition=0, fold=fold, valid=True, calibration="raw",
                                  loss=np.where(long["model"] == "ensemble", "none", long["method"])))
    return pd.concat(frames, ignore_index=True).drop(columns=["mean", "std"])


def false_winners(table: pd.DataFrame, sims: int, *, rope: float = effects.ROPE, seed: int = 0):
    """(false simulations, seconds per simulation, comparisons per simulation) over ``sims`` null tables."""
    table = decision.with_regimes(table)
    metrics = sorted({m for fam in (FAMILIES, FAMILIES_MULTICLASS) for ms in fam.values() for m in ms})
    table = table[table["metric"].isin(metrics) & (table.get("calibration", "raw") == "raw")]
    false, start, size = 0, time.perf_counter(), 0
    for s in range(sims):
        comp = effects.compare(effects.null_table(table, seed + s), rope=rope).table
        named = comp[comp["verdict"].isin(["better", "worse"])]
        false += int(len(named) > 0)
        size = len(comp)
        if len(named):
            print(f"  sim {s}: {len(named)} false claims, e.g. "
                  + "; ".join(f"{r.task} · {r.family} · {r.scope} {r.method} {r.metric} {r.verdict}"
                              for r in named.head(3).itertuples()))
    return false, (time.perf_counter() - start) / max(sims, 1), size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", help="a results folder (results.csv)")
    parser.add_argument("--summary", type=Path, help="draw per-fold values from this summary.csv")
    parser.add_argument("--synthetic", type=int, default=0, help="a synthetic sweep with this many datasets")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="synthetic: repeats of the folds")
    parser.add_argument("--holdout", action="store_true",
                        help="synthetic: drop the fold columns (repeat, fold, n_train, n_test, valid), as old tables")
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rope", type=float, default=effects.ROPE)
    args = parser.parse_args(argv)
    if args.results:
        from harness.store.results import read_table

        table, what = read_table(Path(args.results)), f"results of {args.results}"
    elif args.summary:
        table, what = from_summary(args.summary, folds=args.folds, seed=args.seed), f"{args.summary}, {args.folds} folds drawn"
    else:
        n = args.synthetic or 120
        table = synthetic_table(n, folds=args.folds, repeats=args.repeats, seed=args.seed)
        what = f"synthetic sweep of {n} datasets, {args.repeats} repeats × {args.folds} folds"
        if args.holdout:
            table = table.drop(columns=["repeat", "fold", "n_train", "n_test", "n_test_positive", "valid"])
            what += ", holdout columns only"
    false, per_sim, size = false_winners(table, args.sims, rope=args.rope, seed=args.seed)
    print(f"null tables ({what}; {len(table)} rows): {false} of {args.sims} simulations name a winner or loser "
          f"(false-winner rate {false / args.sims:.3f}; target ≤ 0.05); {size} comparisons each, "
          f"{per_sim:.2f} s per simulation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
