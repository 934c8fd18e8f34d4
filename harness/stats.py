"""Statistics over benchmark cells: ranks, the Friedman test, each method against a baseline and
every pair of methods with Wilcoxon signed-rank tests and Holm's correction (Benavoli et al. 2016).

A *cell* here is a (dataset, imbalance ratio[, model]) block; its value for a method is the mean
over repetitions. Tests use only blocks where every compared method has a value. The Nemenyi
post-hoc test is kept for reference only: its outcome depends on which other methods are in the
pool (Benavoli, Corani & Mangili, JMLR 2016), so the report never separates methods with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from . import per_task

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
    critical_difference: float
    nemenyi: pd.DataFrame  # pairwise p-values


def friedman_nemenyi(means: pd.DataFrame, metric: str, alpha: float = 0.05) -> Friedman | None:
    """Friedman test over blocks and Nemenyi post-hoc; None when fewer than 3 methods or 2 blocks."""
    n, k = means.shape
    if k < 3 or n < 2:
        return None
    good = _goodness(means, metric)
    statistic, p = stats.friedmanchisquare(*[good[c].to_numpy() for c in good.columns])
    nemenyi = sp.posthoc_nemenyi_friedman(good.to_numpy())
    nemenyi.index = nemenyi.columns = list(good.columns)
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    cd = q * math.sqrt(k * (k + 1) / (6 * n))
    return Friedman(float(statistic), float(p), n, k, float(cd), nemenyi)


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


def summary_sentences(table: pd.DataFrame, metrics: list[str], baseline: str = "ce", alpha: float = 0.05) -> list[str]:
    """Plain-words findings that the tests support, and nothing more; significant ones first."""
    lines, quiet = [], []
    for metric in metrics:
        means = cell_means(table, metric)
        vs = versus_baseline(means, metric, baseline)
        if vs.empty:
            continue
        label = metric.replace("_", " ")
        for _, r in vs.iterrows():
            counts = f"better in {r.wins}, tied in {r.ties}, worse in {r.losses} of {r.cells} cells"
            if r.cells < MIN_CELLS_FOR_TEST:
                quiet.append(f"{r.method} vs {baseline} on {label}: {counts} — too few cells for a test "
                             f"(at least {MIN_CELLS_FOR_TEST} needed), so no claim either way.")
            elif r.p_holm < alpha:
                verb = "beats" if r.median_diff > 0 else "loses to"
                lines.append(f"{r.method} {verb} {baseline} on {label}: {counts} (Holm-adjusted p = {r.p_holm:.3g}).")
            else:
                quiet.append(f"No significant difference between {r.method} and {baseline} on {label}: {counts} "
                             f"(Holm-adjusted p = {r.p_holm:.3g}).")
    return lines + quiet
