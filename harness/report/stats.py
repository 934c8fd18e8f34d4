"""Statistics over benchmark cells: ranks, the Friedman test, each method against a baseline and
every pair of methods with Wilcoxon signed-rank tests and Holm's correction (Benavoli et al. 2016).

A *cell* here is a (dataset, imbalance ratio[, model]) block; its value for a method is the mean
over repetitions. Tests use only blocks where every compared method has a value. No Nemenyi
post-hoc test: its outcome depends on which other methods are in the pool (Benavoli, Corani &
Mangili, JMLR 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from harness.metrics import per_task

BLOCK = ["dataset", "imbalance_ratio"]
MIN_CELLS_FOR_TEST = 6  # below this a two-sided signed-rank test cannot reach p < 0.05


def cell_means(table: pd.DataFrame, metric: str, calibration: str = "raw") -> pd.DataFrame:
    """Blocks × methods matrix of means over repetitions (complete blocks only)."""
    df = table[(table["metric"] == metric) & (table["calibration"] == calibration)]
    if df.empty:
        return pd.DataFrame()
    block = BLOCK + (["model"] if "model" in df.columns else [])
    wide = df.groupby(block + ["method"])["value"].mean().unstack("method")
    return wide.dropna(axis=0, how="any")


def dataset_means(table: pd.DataFrame, metric: str, calibration: str = "raw") -> pd.DataFrame:
    """Datasets × methods matrix: per dataset (and model) the mean over its complete blocks of
    :func:`cell_means` (the ratios of one dataset are not independent blocks)."""
    means = cell_means(table, metric, calibration)
    if means.empty:
        return means
    level = ["dataset"] + (["model"] if "model" in means.index.names else [])
    return means.groupby(level=level, sort=False).mean()


def _goodness(means: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Values oriented so that higher is better."""
    return means if per_task.higher_is_better(metric) else -means


def average_ranks(means: pd.DataFrame, metric: str) -> pd.Series:
    """Mean rank of each method over blocks (1 = best; ties share the average rank)."""
    ranks = _goodness(means, metric).rank(axis=1, ascending=False, method="average")
    return ranks.mean().sort_values()


@dataclass
class Friedman:
    statistic: float
    p_value: float
    n_blocks: int
    n_methods: int


def friedman(means: pd.DataFrame, metric: str) -> Friedman | None:
    """The Friedman test over blocks (an omnibus test: it names no winner; pairwise comparisons
    use Wilcoxon–Holm, not Nemenyi, whose verdicts depend on the pool of methods — Benavoli et
    al. 2016); None when fewer than 3 methods or 2 blocks."""
    n, k = means.shape
    if k < 3 or n < 2:
        return None
    good = _goodness(means, metric)
    statistic, p = stats.friedmanchisquare(*[good[c].to_numpy() for c in good.columns])
    return Friedman(float(statistic), float(p), n, k)


def versus_baseline(means: pd.DataFrame, metric: str, baseline: str = "ce", tie: float = 1e-3) -> pd.DataFrame:
    """Each method against ``baseline``: wins / ties / losses per block (a tie is |Δ| ≤ ``tie``),
    median difference (positive = better), Wilcoxon signed-rank p and Holm-adjusted p."""
    if baseline not in means.columns:
        return pd.DataFrame()
    good = _goodness(means, metric)
    rows = []
    for method in [c for c in good.columns if c != baseline]:
        diff = (good[method] - good[baseline]).to_numpy()
        wins, losses = int((diff > tie).sum()), int((diff < -tie).sum())
        n = len(diff)
        p = float("nan")
        if n >= MIN_CELLS_FOR_TEST and np.any(diff != 0):
            p = float(stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)
        elif n >= MIN_CELLS_FOR_TEST:
            p = 1.0
        rows.append({"method": method, "cells": n, "wins": wins, "ties": n - wins - losses, "losses": losses,
                     "median_diff": float(np.median(diff)) if n else float("nan"), "p": p})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    tested = out["p"].notna()
    out["p_holm"] = float("nan")
    if tested.any():
        out.loc[tested, "p_holm"] = multipletests(out.loc[tested, "p"].to_numpy(), method="holm")[1]
    return out


def pairwise_wilcoxon_holm(means: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values of two-sided Wilcoxon signed-rank tests between every pair of methods.

    The construction of the critical-difference diagram of Ismail Fawaz et al. (2019, "Deep
    learning for time series classification: a review"; after Benavoli et al. 2016): Holm's
    correction runs over all pairs. A pair whose differences are all zero gets p = 1; fewer than
    :data:`MIN_CELLS_FOR_TEST` cells give p = 1 (no test can reject).

    Returns
    -------
    DataFrame of shape (n_methods, n_methods)
        Symmetric, 1 on the diagonal, indexed and labelled by method.
    """
    methods = list(means.columns)
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1:]]
    raw = []
    for a, b in pairs:
        diff = (means[a] - means[b]).to_numpy()
        tested = len(diff) >= MIN_CELLS_FOR_TEST and np.any(diff != 0)
        raw.append(float(stats.wilcoxon(diff, zero_method="wilcox").pvalue) if tested else 1.0)
    out = pd.DataFrame(1.0, index=methods, columns=methods)
    if pairs:
        for (a, b), p in zip(pairs, multipletests(raw, method="holm")[1]):
            out.loc[a, b] = out.loc[b, a] = float(p)
    return out
