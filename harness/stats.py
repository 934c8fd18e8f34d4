"""Statistics over benchmark cells: ranks, Friedman + Nemenyi (Demšar 2006), and each method
against a baseline with Wilcoxon signed-rank tests and Holm's correction (Benavoli et al. 2016).

A *cell* here is a (dataset, imbalance ratio) block; its value for a method is the mean over
repetitions. Tests use only blocks where every compared method has a value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from . import metrics as metrics_registry

BLOCK = ["dataset", "imbalance_ratio"]
MIN_CELLS_FOR_TEST = 6  # below this a two-sided signed-rank test cannot reach p < 0.05


def cell_means(table: pd.DataFrame, metric: str, calibration: str = "raw") -> pd.DataFrame:
    """Blocks × methods matrix of means over repetitions (complete blocks only)."""
    df = table[(table["metric"] == metric) & (table["calibration"] == calibration)]
    if df.empty:
        return pd.DataFrame()
    wide = df.groupby(BLOCK + ["method"])["value"].mean().unstack("method")
    return wide.dropna(axis=0, how="any")


def _goodness(means: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Values oriented so that higher is better."""
    return means if metrics_registry.get(metric).higher_is_better else -means


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
