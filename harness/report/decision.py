"""The answer first: which method to use, per regime and metric family, with its evidence.

A *regime* is a task (binary / multi-class) × model × imbalance-ratio bucket × size bucket; its
cells are (dataset, ratio[, model]) blocks, each valued by its mean over repetitions.

The rule, for one regime and one metric family (see :func:`decide`):

1. fewer than :data:`MIN_CELLS` cells: no decision ("too few cells");
2. otherwise each method is compared with ``ce`` on every metric of the family with the
   Bayesian signed-rank test and a ROPE (:mod:`harness.report.bayes`). A method *wins* when, on some
   metric of the family, P(better than ce) ≥ :data:`P_DECIDE`, and on no metric of the family
   P(worse) > 1 − :data:`P_DECIDE`. Among winners the highest P(better) is named, with its
   median difference and bootstrap interval;
3. no winner, and P(equivalent) is the largest of the three probabilities for every method and
   metric: "no practical difference";
4. no winner, and every comparison's largest probability is "equivalent" or "worse": "keep ce";
5. otherwise "undecided" (the data do not settle it).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

import datasets
from harness.metrics import per_task
from harness.report import bayes, stats
from harness.store.results import slugify
from harness.vocabulary import FAMILIES

SHORT = {"average_precision": "AP", "roc_auc": "ROC AUC", "f1_val_threshold": "F1", "mcc_val_threshold": "MCC",
         "ece": "ECE", "log_loss": "log loss", "brier": "Brier",
         "average_precision_macro": "macro AP", "roc_auc_macro": "macro ROC AUC", "balanced_accuracy": "balanced accuracy",
         "f1_macro": "macro F1", "top_label_ece": "top-label ECE", "brier_multiclass": "Brier"}
# (label, lower bound inclusive, upper bound exclusive)
RHO_BUCKETS = (("ρ 1–3", 1, 3), ("ρ 3–10", 3, 10), ("ρ 10–50", 10, 50), ("ρ ≥ 50", 50, math.inf))
# on the test split's size per repetition, the size the results folder records (60/20/20 split:
# 200 test samples ≈ 1 000 in the cell, 2 000 ≈ 10 000)
SIZE_BUCKETS = (("n_test < 200", 0, 200), ("n_test 200–2k", 200, 2000), ("n_test ≥ 2k", 2000, math.inf))
P_DECIDE = 0.95
# A policy, not a limit of the test: baycomp's signed-rank posterior already gives P(better) 0.99
# from 3 unanimous cells, too few datasets × ratios to generalise from.
MIN_CELLS = 5
ALL = "all cells"
COLUMNS = ["regime", "family", "metric", "cells", "method", "wins", "ties", "losses", "median_diff", "ci_low",
           "ci_high", "rope", "p_worse", "p_equivalent", "p_better", "p", "p_holm"]
BASELINE = "ce"


def _bucket(value: float, buckets) -> str:
    for label, low, high in buckets:
        if low <= value < high:
            return label
    return "unknown"


def rho_bucket(ratio: float) -> str:
    """The :data:`RHO_BUCKETS` label of an imbalance ratio (e.g. "ρ 3–10")."""
    return _bucket(ratio, RHO_BUCKETS)


def cell_sizes(predictions: Path, table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Test-split size of one repetition per (dataset, ratio), read from the stored predictions."""
    sizes = {}
    if not predictions.is_dir():
        return sizes
    for dataset, ratio in table[["dataset", "imbalance_ratio"]].drop_duplicates().itertuples(index=False):
        # every method and model of a (dataset, ratio) sees the same test split: any of its files will do
        file = next(iter(sorted(predictions.glob(f"{slugify(dataset)}__rho{ratio}__*.parquet"))), None)
        if file is not None:
            reps = pd.read_parquet(file, columns=["repetition"])["repetition"]
            sizes[(dataset, ratio)] = int((reps == reps.iloc[0]).sum())
    return sizes


def numeric_ratio(label, dataset: str) -> float:
    """The imbalance ratio of a cell; at the natural ratio the catalogue's n_max / n_min (a row
    cap keeps it), NaN for a dataset outside the catalogue."""
    if str(label) != "natural":
        return float(label)
    try:
        counts = datasets.catalogue.info(dataset).class_counts
    except datasets.DataError:
        return float("nan")
    return max(counts) / min(counts)


def _rho_label(label, dataset: str) -> str:
    rho = numeric_ratio(label, dataset)
    return "ρ natural" if math.isnan(rho) else rho_bucket(rho)


def with_regimes(table: pd.DataFrame, sizes: dict[tuple[str, str], int]) -> pd.DataFrame:
    """``table`` with a ``regime`` column (task · model · ρ bucket · size bucket).

    A natural ratio goes to the bucket of the dataset's class ratio (the catalogue's; "ρ natural"
    outside it). Absent columns default: ``task`` from ``n_classes`` (> 2 is multi-class) or
    binary; ``model`` to "spec model" (the one model the spec named, which results tables before
    the model axis did not record).
    """
    out = table.copy()
    if "task" not in out:
        out["task"] = np.where(out["n_classes"] > 2, "multi-class", "binary") if "n_classes" in out else "binary"
    model = out["model"].astype(str) if "model" in out else pd.Series("spec model", index=out.index)
    keys = pd.DataFrame({"dataset": out["dataset"].astype(str), "ratio": out["imbalance_ratio"].astype(str)})
    pairs = keys.drop_duplicates()  # one lookup per (dataset, ratio), not per row
    pairs["rho"] = [_rho_label(r, d) for d, r in zip(pairs["dataset"], pairs["ratio"])]
    pairs["size"] = [_bucket(sizes[k], SIZE_BUCKETS) if k in sizes else "size unknown"
                     for k in zip(pairs["dataset"], pairs["ratio"])]
    both = keys.merge(pairs, on=["dataset", "ratio"], how="left")
    parts = pd.DataFrame({"task": out["task"].astype(str).to_numpy(), "model": model.to_numpy(),
                          "rho": both["rho"].to_numpy(), "size": both["size"].to_numpy()})
    labels = parts["task"] + " · " + parts["model"] + " · " + parts["rho"] + " · " + parts["size"]
    order = {b[0]: i for i, b in enumerate(RHO_BUCKETS + SIZE_BUCKETS)}
    first = parts.assign(label=labels).drop_duplicates("label")
    ranks = sorted(zip(first["task"], first["model"], first["rho"].map(lambda r: order.get(r, 99)),
                       first["size"].map(lambda z: order.get(z, 99)), first["label"]))
    out["regime"] = pd.Categorical(labels.to_numpy(), categories=[r[-1] for r in ranks], ordered=True)
    return out


def comparisons(table: pd.DataFrame, *, rope: float = bayes.ROPE, seed: int = 0,
                n_samples: int = bayes.N_SAMPLES, families: dict = FAMILIES) -> pd.DataFrame:
    """Every method against ce on every family metric, pooled (:data:`ALL`) and per regime.

    ``table`` carries a ``regime`` column (:func:`with_regimes`) and rows of one task (binary with
    :data:`FAMILIES`, multi-class with :data:`FAMILIES_MULTICLASS`): :data:`ALL` pools its rows.
    Regimes with fewer than :data:`MIN_CELLS` cells get one row per metric with their cell count
    and no test.
    """
    rows = []
    groups = [(ALL, table)] + list(table.groupby("regime", sort=True, observed=True))
    for regime, sub in groups:
        for family, metrics in families.items():
            for metric in [m for m in metrics if m in set(sub["metric"])]:
                means = stats.cell_means(sub, metric)
                if BASELINE not in means.columns or means.shape[1] < 2:
                    continue
                base = {"regime": regime, "family": family, "metric": metric, "cells": len(means)}
                if len(means) < MIN_CELLS:
                    rows.append(base)
                    continue
                vs = bayes.against_baseline(means, metric, baseline=BASELINE, rope=rope, seed=seed,
                                            n_samples=n_samples, label=regime)
                rows += [{**base, **r} for r in vs.to_dict("records")]
    return pd.DataFrame(rows, columns=COLUMNS)


def _shown_diff(row) -> tuple[float, float, float]:
    """Median difference and interval in the metric's own direction (ECE −0.02 = better)."""
    sign = 1.0 if per_task.higher_is_better(row["metric"]) else -1.0
    low, high = sorted((sign * row["ci_low"], sign * row["ci_high"]))
    return sign * row["median_diff"], low, high


def _verdict(tested: pd.DataFrame) -> tuple[str, pd.Series | None]:
    """Apply rules 2–5 of the module docstring to one regime × family's comparisons."""
    clear_worse = tested.groupby("method")["p_worse"].max() > 1 - P_DECIDE
    ok = tested[(tested["p_better"] >= P_DECIDE) & ~tested["method"].map(clear_worse)]
    if not ok.empty:
        return "winner", ok.sort_values(["p_better", "median_diff"], ascending=False).iloc[0]
    best = tested[["p_worse", "p_equivalent", "p_better"]].to_numpy().argmax(axis=1)
    if (best == 1).all():
        return "equivalent", None
    if (best != 2).all():
        return "keep", None
    return "undecided", tested.sort_values("p_better", ascending=False).iloc[0]


def decide(rows: pd.DataFrame) -> tuple[str, str, pd.Series | None]:
    """The decision for one regime × family: ``(kind, table entry, deciding comparison)``.

    ``kind`` is one of ``absent, too_few, winner, equivalent, keep, undecided``.
    """
    if rows.empty:
        return "absent", "—", None
    cells = int(rows["cells"].max())
    if cells < MIN_CELLS or rows["p_better"].isna().all():
        return "too_few", f"too few cells ({cells} < {MIN_CELLS})", None
    kind, row = _verdict(rows.dropna(subset=["p_better"]))
    if kind == "winner":
        diff, low, high = _shown_diff(row)
        return kind, (f"**{row['method']}**: {SHORT[row['metric']]} {diff:+.3f} [{low:+.3f}, {high:+.3f}], "
                      f"P(better) {row['p_better']:.2f}"), row
    if kind == "undecided":
        return kind, f"undecided (best: {row['method']}, P(better) {row['p_better']:.2f})", row
    return kind, {"equivalent": "no practical difference", "keep": f"keep {BASELINE} (none better)"}[kind], row


def decision_table(comp: pd.DataFrame, regime_cells: dict[str, int], families: dict = FAMILIES) -> pd.DataFrame:
    """Rows: :data:`ALL` then each regime; columns: cells and one entry per metric family."""
    rows = []
    for regime, cells in regime_cells.items():
        entry = {"regime": regime, "cells": cells}
        for family in families:
            kind, text, _ = decide(comp[(comp["regime"] == regime) & (comp["family"] == family)])
            entry[family] = f"too few cells ({cells} < {MIN_CELLS})" if kind == "absent" and cells < MIN_CELLS else text
        rows.append(entry)
    return pd.DataFrame(rows)


def regime_cell_counts(table: pd.DataFrame) -> dict[str, int]:
    """Number of cells (distinct dataset × ratio[× model] blocks) pooled and per regime."""
    block = stats.BLOCK + (["model"] if "model" in table.columns else [])
    counts = {ALL: len(table[block].drop_duplicates())}
    for regime, sub in table.groupby("regime", sort=True, observed=True):
        counts[regime] = len(sub[block].drop_duplicates())
    return counts


def _in_words(family: str, kind: str, row: pd.Series | None, families: dict = FAMILIES) -> str:
    names = ", ".join(SHORT[m] for m in families[family])
    if kind == "winner":
        diff, low, high = _shown_diff(row)
        return (f"{family} ({names}): {row['method']} is practically better than {BASELINE} — median "
                f"{SHORT[row['metric']]} difference {diff:+.3f} (95 % interval {low:+.3f} to {high:+.3f}), "
                f"P(better) = {row['p_better']:.2f}.")
    return {"equivalent": f"{family} ({names}): no method differs from {BASELINE} by more than the ROPE.",
            "keep": f"{family} ({names}): no method beats {BASELINE}; stay with it.",
            "undecided": f"{family} ({names}): undecided — no method is clearly better or equivalent.",
            "too_few": f"{family} ({names}): too few cells to decide.",
            "absent": f"{family} ({names}): not measured."}[kind]


def summary(comp: pd.DataFrame, regime_cells: dict[str, int], *, rope: float, extra: list[str] = (),
            max_lines: int = 12, families: dict = FAMILIES) -> list[str]:
    """At most ``max_lines`` plain-words lines: pooled verdicts, ``extra`` findings, regime winners."""
    lines = [f"Rule: a method is named when the Bayesian signed-rank test gives P(better than {BASELINE}) ≥ "
             f"{P_DECIDE} with a ROPE of ±{rope:g} (log loss: ±{rope:.0%} of {BASELINE}'s median), over "
             f"cells (dataset × ratio, mean of repetitions); at least {MIN_CELLS} cells per regime."]
    for family in families:
        kind, _, row = decide(comp[(comp["regime"] == ALL) & (comp["family"] == family)])
        lines.append(f"All {regime_cells[ALL]} cells, " + _in_words(family, kind, row, families))
    lines += list(extra)
    regimes = [r for r in regime_cells if r != ALL]
    wins = []
    for regime in regimes:
        for family in families:
            kind, _, row = decide(comp[(comp["regime"] == regime) & (comp["family"] == family)])
            if kind == "winner":
                wins.append(f"In {regime}: " + _in_words(family, kind, row, families))
    few = sum(regime_cells[r] < MIN_CELLS for r in regimes)
    tail = [f"{few} of {len(regimes)} regimes have fewer than {MIN_CELLS} cells and get no decision."] if few else []
    room = max_lines - len(lines) - len(tail)
    if len(wins) > room:
        wins = wins[:max(room - 1, 0)] + [f"… and {len(wins) - max(room - 1, 0)} more regime winners in the table."]
    return (lines + wins + tail)[:max_lines]
