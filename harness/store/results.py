"""The results store: a long-format table, written atomically, and its summary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harness.files import write_atomic
from harness.store.provenance import git_commit, versions_string
from harness.vocabulary import HEADLINE  # noqa: F401  (the summary's default metrics)

if TYPE_CHECKING:
    from harness.store.records import CellResult

COLUMNS = [
    "benchmark", "dataset", "imbalance_ratio", "model", "method", "loss", "sampler", "repetition", "seed",
    "calibration", "metric", "value", "dataset_fingerprint", "spec_hash", "git_commit", "versions",
    "n_classes",
]
BINARY_CLASSES = 2  # what a table written before the n_classes column holds


def rows(benchmark: str, spec_hash: str, result: CellResult) -> list[dict]:
    """Long-format rows of one cell: one per repetition × calibration × metric."""
    common = {
        "benchmark": benchmark,
        "dataset": result.cell.dataset.key,
        "imbalance_ratio": result.cell.ratio_label,
        "model": result.cell.model_key,
        "method": result.cell.method,
    }
    provenance = {"spec_hash": spec_hash, "git_commit": git_commit(), "versions": versions_string()}
    return [
        {**common, "loss": rep.loss, "sampler": rep.sampler or "none",
         "repetition": rep.repetition, "seed": rep.seed, "calibration": calibration,
         "metric": metric, "value": value, "dataset_fingerprint": rep.fingerprint, **provenance,
         "n_classes": _n_classes(rep.logits)}
        for rep in result.repetitions
        for calibration, scores in rep.metrics.items()
        for metric, value in scores.items()
    ]


def _n_classes(logits) -> int:
    return BINARY_CLASSES if logits.ndim == 1 else int(logits.shape[1])


def _columns(name: str, values) -> dict:
    """``{name: values}`` for (N,) values, ``{name_0: ..., name_{C-1}: ...}`` for (N, C) ones."""
    values = np.asarray(values)
    return {name: values} if values.ndim == 1 else {f"{name}_{k}": values[:, k] for k in range(values.shape[1])}


def slugify(text: str) -> str:
    """``text`` with every run of characters unsafe in file names replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text)


def cell_slug(result: CellResult) -> str:
    """A file-name-safe name of a cell, e.g. ``gaussian-8d__rho10__mlp__focal``."""
    return slug(result.cell)


def slug(cell) -> str:
    """A file-name-safe name of a :class:`~harness.plan.cells.Cell`: dataset, ratio, model, method."""
    return slugify(f"{cell.dataset.key}__rho{cell.ratio_label}__{cell.model_key}__{cell.method}")


def predictions_frame(result: CellResult) -> pd.DataFrame:
    """Test predictions of every repetition: labels, logits, each variant's probability, posterior
    (multi-class: one column per class, ``logit_k``, ``prob_<variant>_k``, ``posterior_k``)."""
    frames = []
    for rep in result.repetitions:
        data = {"repetition": rep.repetition, "seed": rep.seed, "y_true": rep.y_true, **_columns("logit", rep.logits)}
        for variant, p in rep.probs.items():
            data.update(_columns(f"prob_{variant}", p))
        if rep.posterior is not None:
            data.update(_columns("posterior", rep.posterior))
        frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_predictions(result: CellResult, directory: Path) -> Path | None:
    """``<directory>/<cell slug>.parquet`` (no pickle: plain Parquet columns)."""
    frame = predictions_frame(result)
    if frame.empty:
        return None
    path = directory / f"{cell_slug(result)}.parquet"
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return path


def table(benchmark: str, spec_hash: str, results: Iterable[CellResult]) -> pd.DataFrame:
    data = [row for r in results for row in rows(benchmark, spec_hash, r)]
    return pd.DataFrame(data, columns=COLUMNS)


def read_csv(path: Path) -> pd.DataFrame:
    """A results table as written: text columns as text (fingerprints stay hex), numbers as numbers."""
    dtypes = {c: str for c in COLUMNS if c not in ("repetition", "seed", "value", "n_classes")}
    df = pd.read_csv(path, dtype={**dtypes, "repetition": "int64", "seed": "int64", "value": "float64",
                                  "n_classes": "int64"}, keep_default_na=False, na_values=[""])
    if "n_classes" not in df:
        df["n_classes"] = BINARY_CLASSES
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """The table as CSV, atomically. Written by pyarrow (eight times faster than pandas here, and
    the table is rewritten after every cell): floats in their shortest exact form, so they read
    back to the very same values; text quoted only where needed; missing values empty."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    table = pa.Table.from_pandas(df, preserve_index=False)
    options = pa_csv.WriteOptions(quoting_style="needed")
    write_atomic(path, lambda tmp: pa_csv.write_csv(table, str(tmp), write_options=options), fault="write_results")




def summary(df: pd.DataFrame, *, metrics: list[str] | None = None, calibrations: list[str] | None = None) -> pd.DataFrame:
    """Mean ± std over repetitions: one row per cell (and calibration), one column per metric."""
    if metrics is not None:
        df = df[df["metric"].isin(metrics)]
    if calibrations is not None:
        df = df[df["calibration"].isin(calibrations)]
    if df.empty:
        return pd.DataFrame()
    keys = ["dataset", "imbalance_ratio", "model", "method", "calibration"]
    grouped = df.groupby(keys + ["metric"], sort=False)["value"].agg(["mean", "std"]).reset_index()
    grouped["cell"] = [
        f"{m:.4f} ± {s:.4f}" if pd.notna(s) else f"{m:.4f}" for m, s in zip(grouped["mean"], grouped["std"])
    ]
    wide = grouped.pivot(index=keys, columns="metric", values="cell")
    order = [m for m in (metrics or []) if m in set(df["metric"])] or list(dict.fromkeys(df["metric"]))
    return wide[order].reindex(pd.MultiIndex.from_frame(df[keys].drop_duplicates()))
