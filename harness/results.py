"""The results store: a long-format table, written atomically, and its summary."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import methods as methods_registry
from .pipeline import CellResult
from .provenance import git_commit, versions_string

COLUMNS = [
    "benchmark", "dataset", "imbalance_ratio", "method", "loss", "sampler", "repetition", "seed",
    "calibration", "metric", "value", "dataset_fingerprint", "spec_hash", "git_commit", "versions",
]


def rows(benchmark: str, spec_hash: str, result: CellResult) -> list[dict]:
    """Long-format rows of one cell: one per repetition × calibration × metric."""
    method = methods_registry.get(result.cell.method)
    out = []
    for rep in result.repetitions:
        for metric, value in rep.metrics.items():
            out.append(
                {
                    "benchmark": benchmark,
                    "dataset": result.cell.dataset.key,
                    "imbalance_ratio": result.cell.ratio_label,
                    "method": method.name,
                    "loss": method.loss,
                    "sampler": method.sampler or "none",
                    "repetition": rep.repetition,
                    "seed": rep.seed,
                    "calibration": "raw",
                    "metric": metric,
                    "value": value,
                    "dataset_fingerprint": rep.fingerprint,
                    "spec_hash": spec_hash,
                    "git_commit": git_commit(),
                    "versions": versions_string(),
                }
            )
    return out


def table(benchmark: str, spec_hash: str, results: Iterable[CellResult]) -> pd.DataFrame:
    data = [row for r in results for row in rows(benchmark, spec_hash, r)]
    return pd.DataFrame(data, columns=COLUMNS)


def write_atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` to a temporary file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(df: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.17g"))


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over repetitions: one row per cell, one column per metric."""
    if df.empty:
        return pd.DataFrame()
    keys = ["dataset", "imbalance_ratio", "method", "calibration"]
    grouped = df.groupby(keys + ["metric"], sort=False)["value"].agg(["mean", "std"]).reset_index()
    grouped["cell"] = [
        f"{m:.4f} ± {s:.4f}" if pd.notna(s) else f"{m:.4f}" for m, s in zip(grouped["mean"], grouped["std"])
    ]
    wide = grouped.pivot(index=keys, columns="metric", values="cell")
    order = list(dict.fromkeys(df["metric"]))
    return wide[order].reindex(pd.MultiIndex.from_frame(df[keys].drop_duplicates()))
