"""The report's tuning section: what the budget chose, how flat the objective was at its top,
and which parameters mattered — so a reader can tell a tuned γ from noise."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .markdown import md_table

FLAT = 0.005  # a top-5 gap of validation scores below this is a plateau: the choice among them is noise


def tuning_frame(results_dir: Path) -> pd.DataFrame:
    """One row per cell from ``tuning/*.json``: best parameters (``best.*``), top-5 gap and std,
    importances (``importance.*``); empty when the folder has none."""
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


def _focal_gamma(frame: pd.DataFrame) -> list[str]:
    if "best.focal_gamma" not in frame or frame["best.focal_gamma"].isna().all():
        return []
    focal = frame[frame["method"] == "focal"].dropna(subset=["best.focal_gamma"])
    focal = focal[focal["model"] == focal["model"].iloc[0]] if len(focal) else focal
    if focal.empty:
        return []
    focal = focal.assign(flat=focal["top5_gap"] < FLAT, rho=pd.to_numeric(focal["imbalance_ratio"], errors="coerce"))
    table = focal.sort_values(["dataset", "rho"])[["dataset", "imbalance_ratio", "best.focal_gamma", "top5_gap", "flat"]]
    table = table.rename(columns={"best.focal_gamma": "tuned γ", "top5_gap": "top-5 gap"})
    return ["Tuned focal γ per cell, with how flat the objective was there (a flat top means the γ "
            "chosen is one of several as good):", "", md_table(table.reset_index(drop=True), "{:.3g}"), ""]


def tuning_section(results_dir: Path) -> list[str]:
    """Markdown lines of the section; one line when no tuning summaries were written."""
    frame = tuning_frame(results_dir)
    if frame.empty:
        return ["## Tuning", "", "No tuning summaries in this results folder (`tuning/*.json`).", ""]
    return ["## Tuning: what was chosen, and how sure", "",
            f"Per cell: the gap between the best and the 5th-best trial's validation score (below {FLAT} "
            "the top is a plateau, so the exact configuration chosen is noise) and fANOVA parameter "
            "importances of the study.", "", md_table(_per_method(frame), "{:.4f}"), ""] + _focal_gamma(frame)
