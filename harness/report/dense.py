r"""The dense task in the report: location- and object-level AP per method and ρ, and the mechanism
Lin et al. 2017 name — easy negatives swamping cross-entropy — measured and set against focal's gain.

The unit of the paired comparisons here is one evaluated fit block (ρ, repeat, fold) of the one
dense dataset: ratios of one dataset share their population, so the interval is the within-dataset
one and claims nothing about other dense tasks (the report's decision table, with the dataset as the
unit, says "too few" for a single dataset). :func:`paired` gives the mean difference, its 95 %
t-interval and the minimum detectable effect (t₀.₉₅ + t₀.₈₀)·SE (the MDE of
:mod:`harness.report.effects`, with t quantiles: a handful of blocks, not a normal approximation).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.evaluation.plots import new_figure, save_figure
from harness.metrics.dense import PROBES
from harness.report.markdown import md_table

OBJECT_AP = "object_average_precision"
PIXEL_AP = "average_precision"
SHARE = "easy_negative_logit_share_p90"  # the predictor on the figure's second panel
BLOCK = ["dataset", "imbalance_ratio", "repeat", "fold"]


def dense_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The raw-calibration rows of the datasets that recorded object-level AP (the dense ones)."""
    dense = set(table.loc[table["metric"] == OBJECT_AP, "dataset"])
    rows = table[table["dataset"].isin(dense) & (table["calibration"] == "raw")]
    return rows.assign(repeat=rows.get("repeat", rows["repetition"]), fold=rows.get("fold", 0))


def paired(rows: pd.DataFrame, metric: str, method: str, baseline: str) -> dict | None:
    """``method`` − ``baseline`` on ``metric`` paired by block: n, mean, 95 % t-interval, MDE; None
    without two paired blocks."""
    wide = rows[rows["metric"] == metric].pivot_table(index=BLOCK, columns="method", values="value")
    if method not in wide or baseline not in wide:
        return None
    d = (wide[method] - wide[baseline]).dropna()
    if len(d) < 2:
        return None
    se = float(d.std(ddof=1) / math.sqrt(len(d)))
    df = len(d) - 1
    half = float(sps.t.ppf(0.975, df)) * se
    mde = float(sps.t.ppf(0.95, df) + sps.t.ppf(0.80, df)) * se  # effects' (z₀.₉₅ + z₀.₈₀)·SE, with t for few blocks
    return {"n": len(d), "mean": float(d.mean()), "low": float(d.mean()) - half, "high": float(d.mean()) + half,
            "mde": mde}


def mechanism_frame(rows: pd.DataFrame, method: str = "focal") -> pd.DataFrame:
    """Per block: ρ, CE's easy-negative shares and ``method``'s gain over CE in pixel and object AP."""
    wide = rows.pivot_table(index=BLOCK, columns=["method", "metric"], values="value")
    if ("ce", SHARE) not in wide or (method, PIXEL_AP) not in wide:
        return pd.DataFrame()
    out = pd.DataFrame({name: wide[("ce", name)] for name in PROBES if ("ce", name) in wide})
    out["gain_pixel_ap"] = wide[(method, PIXEL_AP)] - wide[("ce", PIXEL_AP)]
    if (method, OBJECT_AP) in wide and ("ce", OBJECT_AP) in wide:
        out["gain_object_ap"] = wide[(method, OBJECT_AP)] - wide[("ce", OBJECT_AP)]
    out = out.reset_index()
    out["rho"] = out["imbalance_ratio"].astype(float)
    return out.dropna(subset=["gain_pixel_ap", SHARE])


def mechanism_figure(frame: pd.DataFrame, path: Path, method: str = "focal") -> Path:
    """Two panels: ``method``'s pixel-AP gain over CE against ρ (log axis), and against CE's
    easy-negative share of Σ|∂L/∂z| (p_t > 0.9); one point per block."""
    fig, axes = new_figure(1, 2, figsize=(8.5, 3.6), layout="constrained", squeeze=False)
    for ax, (x, label, log) in zip(axes[0], ((frame["rho"], "imbalance ratio ρ (locations)", True),
                                             (frame[SHARE], "CE's easy-negative share of Σ|∂L/∂z| (p_t > 0.9)", False))):
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.scatter(x, frame["gain_pixel_ap"], s=18, label="pixel AP")
        if "gain_object_ap" in frame:
            ax.scatter(x, frame["gain_object_ap"], s=18, marker="x", label="object AP")
        ax.set(xscale="log" if log else "linear", xlabel=label, ylabel=f"{method} − CE")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{method}'s gain over CE (prior-initialised) in the dense task")
    return save_figure(fig, path, dpi=100)


def _means(rows: pd.DataFrame) -> pd.DataFrame:
    metrics = [m for m in (PIXEL_AP, OBJECT_AP, SHARE, "easy_negative_param_share_p90") if m in set(rows["metric"])]
    sub = rows[rows["metric"].isin(metrics)]
    out = sub.pivot_table(index=["imbalance_ratio", "method"], columns="metric", values="value", aggfunc="mean")
    out = out.reset_index()
    out["rho"] = out["imbalance_ratio"].astype(float)
    return out.sort_values(["rho", "method"]).drop(columns="rho")[["imbalance_ratio", "method", *metrics]]


def dense_section(table: pd.DataFrame, figdir: Path, figures: list[Path]) -> list[str]:
    """Markdown lines of the dense task's section (nothing without dense rows)."""
    rows = dense_rows(table)
    if rows.empty:
        return []
    md = ["## The dense task: easy negatives and focal loss", "",
          "Every location of a canvas is a binary decision; every method starts from Lin et al.'s prior "
          "initialisation (p = 0.01) and every loss is normalised by the positive locations. Means over "
          "repetitions (raw scores); the easy-negative shares are CE's gradient shares measured while each "
          "model trained (at initialisation and after every epoch), from negatives with p_t > 0.9:", "",
          md_table(_means(rows).round(4)), ""]
    frame = mechanism_frame(rows)
    if frame.empty:
        return md + ["The mechanism figure needs ce and focal cells with the probes recorded.", ""]
    fig = mechanism_figure(frame, figdir / "dense_mechanism.png")
    figures.append(fig)
    varies = len(frame) >= 3 and frame[SHARE].nunique() > 1 and frame["gain_pixel_ap"].nunique() > 1
    rho = sps.spearmanr(frame[SHARE], frame["gain_pixel_ap"]) if varies else None
    md += [f"![mechanism](report/{fig.name})", ""]
    if rho is not None and np.isfinite(rho.statistic):
        md += [f"Focal's pixel-AP gain over CE against CE's easy-negative share: Spearman ρ_s = {rho.statistic:+.2f} "
               f"(p = {rho.pvalue:.2g}) over {len(frame)} blocks. Lin et al.'s account predicts a positive relation: "
               "the more of CE's gradient the easy negatives carry, the more focal gains.", ""]
    arm = paired(rows, PIXEL_AP, "ce_drop_easy", "ce")
    if arm is not None:
        md += [f"The intervention (CE with the loss of easy negatives set to zero) against CE: pixel AP "
               f"{arm['mean']:+.4f} [{arm['low']:+.4f}, {arm['high']:+.4f}] over {arm['n']} blocks "
               f"(MDE {arm['mde']:.4f}).", ""]
    return md
