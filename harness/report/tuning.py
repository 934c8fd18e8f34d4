"""The report's tuning section: what the budget chose, how flat the objective was at its top,
and which parameters mattered — so a reader can tell a tuned γ from noise — and the tuned focal
γ against the imbalance ratio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.files import write_atomic
from harness.report.decision import RHO_BUCKETS, numeric_ratio, rho_bucket
from harness.report.markdown import md_table

FLAT = 0.005  # a top-5 gap of validation scores below this is a plateau: the choice among them is noise
MAX_ROWS = 30  # per-cell tables longer than this give way to the per-bucket table


TUNING_TABLE = "tuning.csv"  # a published folder's tuning summaries, one row per cell


def tuning_frame(results_dir: Path) -> pd.DataFrame:
    """One row per cell from ``tuning/*.json``: best parameters (``best.*``), top-5 gap and std,
    importances (``importance.*``); else the folder's :data:`TUNING_TABLE` (a published folder
    keeps these rows in it); empty when it has neither."""
    if not (results_dir / "tuning").is_dir() and (results_dir / TUNING_TABLE).is_file():
        # the ratio as text, as the JSON has it (so published and new rows of a cell compare equal)
        return pd.read_csv(results_dir / TUNING_TABLE, dtype={"imbalance_ratio": str})
    rows = []
    for path in sorted((results_dir / "tuning").glob("*.json")):
        s = json.loads(path.read_text())
        row = {"dataset": s["dataset"], "imbalance_ratio": s["imbalance_ratio"], "model": s.get("model", "mlp"),
               "method": s["method"],
               "top5_gap": s["flatness"].get("top5_gap"), "top5_std": s["flatness"].get("top5_std")}
        row.update({f"best.{k}": v for k, v in s["best_params"].items()})
        row.update({f"importance.{k}": v for k, v in s["importances"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def write_tuning_table(frame: pd.DataFrame, folder: Path) -> Path | None:
    """``frame`` (tuning summaries, :func:`tuning_frame`'s rows) as ``folder``'s
    :data:`TUNING_TABLE`, which :func:`tuning_frame` reads back where the folder has no
    ``tuning/``; None, and a previous table removed, when there are no rows."""
    path = folder / TUNING_TABLE
    path.unlink(missing_ok=True)
    if frame.empty:
        return None
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
    return path


def _per_method(frame: pd.DataFrame) -> pd.DataFrame:
    importance = [c for c in frame.columns if c.startswith("importance.")]
    rows = []
    for (model, method), group in frame.groupby(["model", "method"], sort=False):
        means = group[importance].mean().dropna().sort_values(ascending=False)
        top = ", ".join(f"{k.removeprefix('importance.')} {v:.2f}" for k, v in means.head(3).items())
        rows.append({"model": model, "method": method, "cells": len(group), "median top-5 gap": group["top5_gap"].median(),
                     "flat cells": f"{int((group['top5_gap'] < FLAT).sum())} of {int(group['top5_gap'].notna().sum())}",
                     "most important (mean fANOVA)": top or "—"})
    return pd.DataFrame(rows)


def focal_tuned(frame: pd.DataFrame) -> pd.DataFrame:
    """The tuning summaries' ``focal`` cells of the first model with a tuned γ (rows without one
    dropped), flagged ``flat`` where the top-5 gap is below :data:`FLAT`."""
    if frame.empty or "best.focal_gamma" not in frame:
        return pd.DataFrame()
    focal = frame[frame["method"] == "focal"].dropna(subset=["best.focal_gamma"])
    focal = focal[focal["model"] == focal["model"].iloc[0]] if len(focal) else focal
    return focal.assign(flat=focal["top5_gap"] < FLAT)


def spearman_text(x: pd.Series, y: pd.Series) -> tuple[float, float, str]:
    """(ρ_s, p, "ρ_s = …, p = …, n = …") of ``scipy.stats.spearmanr``; NaN below 3 pairs."""
    if len(x) < 3:
        return float("nan"), float("nan"), f"n = {len(x)}"
    res = sps.spearmanr(x.to_numpy(np.float64), y.to_numpy(np.float64))
    return float(res.statistic), float(res.pvalue), f"ρ_s = {res.statistic:+.2f}, p = {res.pvalue:.3g}, n = {len(x)}"


def _rhos(frame: pd.DataFrame) -> pd.Series:
    return pd.Series([numeric_ratio(r, d) for r, d in zip(frame["imbalance_ratio"], frame["dataset"])],
                     index=frame.index, dtype=float)


def gamma_by_ratio(focal: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """Tuned γ against the imbalance ratio ρ: Spearman over all cells and over the non-flat ones
    (sentences), and per ρ bucket the cells, median γ and flat share (a table). Cells at the
    natural ratio take the catalogue's; those of datasets outside it are left out."""
    rho = _rhos(focal)
    numeric = focal.assign(rho=rho).dropna(subset=["rho"])
    *_, everything = spearman_text(numeric["rho"], numeric["best.focal_gamma"])
    steep = numeric[~numeric["flat"]]
    *_, steep_text = spearman_text(steep["rho"], steep["best.focal_gamma"])
    words = [f"Tuned γ against ρ (Spearman): all cells {everything}; non-flat cells {steep_text}."]
    if rho.isna().any():
        words.append(f"{int(rho.isna().sum())} cells at the natural ratio of a dataset outside the catalogue "
                     "are left out (the tuning summaries record the label, not the ratio).")
    labels = numeric["rho"].map(rho_bucket)
    groups = [(label, numeric[labels == label]) for label, *_ in RHO_BUCKETS]
    table = pd.DataFrame([{"ρ bucket": b, "cells": len(g), "median tuned γ": g["best.focal_gamma"].median(),
                           "flat cells": f"{int(g['flat'].sum())} of {len(g)}"} for b, g in groups if len(g)])
    return words, table


def _focal_gamma(frame: pd.DataFrame) -> list[str]:
    """Tuned focal γ: per cell (at most :data:`MAX_ROWS` cells), against ρ, and per ρ bucket."""
    focal = focal_tuned(frame)
    if focal.empty:
        return []
    focal = focal.assign(rho=_rhos(focal))
    words, buckets = gamma_by_ratio(focal)
    md = [f"Tuned focal γ of the model `{focal['model'].iloc[0]}`, with how flat the objective was (a flat top "
          "means the γ chosen is one of several as good). " + " ".join(words)
          + " Descriptive only: where the tuning does not identify γ (flat tops), a missing trend refutes "
          "nothing; `benchmarks/focal_grid.yaml` asks γ–ρ on a fixed grid (literature checks).", ""]
    if not buckets.empty:
        md += [md_table(buckets, "{:.3g}"), ""]
    if len(focal) > MAX_ROWS:
        return md + [f"({len(focal)} cells: the per-cell γ table is left out; the tuning summaries hold it.)", ""]
    table = focal.sort_values(["dataset", "rho"])[["dataset", "imbalance_ratio", "best.focal_gamma", "top5_gap", "flat"]]
    table = table.rename(columns={"best.focal_gamma": "tuned γ", "top5_gap": "top-5 gap"})
    return md + [md_table(table.reset_index(drop=True), "{:.3g}"), ""]


def tuning_section(results_dir: Path) -> list[str]:
    """Markdown lines of the section; one line when no tuning summaries were written."""
    frame = tuning_frame(results_dir)
    if frame.empty:
        return ["## Tuning", "", "No tuning summaries in this results folder (`tuning/*.json`).", ""]
    return ["## Tuning: what was chosen, and how sure", "",
            f"Per cell: the gap between the best and the 5th-best trial's validation score (below {FLAT} "
            "the top is a plateau, so the exact configuration chosen is noise) and fANOVA parameter "
            "importances of the study.", "", md_table(_per_method(frame), "{:.4f}"), ""] + _focal_gamma(frame)
