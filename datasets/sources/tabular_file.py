"""A user's own CSV or Parquet file: ``csv`` with ``path``, ``target`` and, for a binary
problem, ``positive``; without it every label is its own class (multi-class when there are more
than two)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..base import DataError, Dataset, Source


@dataclass(frozen=True)
class FileParams:
    """path: a .csv or .parquet file; target: the label column; positive: the label of the
    positive (minority) class, every other label is negative; none: each label is a class
    (classes 0..C-1 in sorted label order; with two labels, the rarer is class 1). Text columns
    are one-hot encoded."""

    path: str = ""
    target: str = ""
    positive: str | int | float | bool | None = None

    def check(self) -> None:
        if not self.path:
            raise DataError("csv: path: expected the path of a .csv or .parquet file, got none")
        if not self.target:
            raise DataError("csv: target: expected the name of the label column, got none")


def read_table(path: Path) -> pd.DataFrame:
    """The file as a table; a missing, unreadable or row-less file raises ``DataError`` naming it."""
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"csv: path: file {str(path)!r} does not exist") from None
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"csv: path: cannot read {str(path)!r}: {first}") from None
    if frame.empty:
        raise DataError(f"csv: path: {str(path)!r} has no rows (columns: {', '.join(map(str, frame.columns)) or 'none'})")
    return frame


def _load(params: FileParams, seed: int) -> Dataset:
    path = Path(params.path).expanduser()
    frame = read_table(path)
    if params.target not in frame.columns:
        raise DataError(f"csv: target: column {params.target!r} not in {path.name} (columns: {', '.join(map(str, frame.columns))})")
    labels = frame.pop(params.target)
    _check_labelled(labels, params.target, path.name)
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        frame = pd.get_dummies(frame, columns=text, dtype=np.float64)
    X = frame.to_numpy(dtype=np.float64)
    if params.positive is None:
        return Dataset(f"csv:{path.name}", X, _classes(labels, path.name), f"user file {path}")
    positive = params.positive
    matches = labels.astype(str) == str(positive)
    if not matches.any():
        seen = ", ".join(map(str, sorted(labels.astype(str).unique())[:10]))
        raise DataError(f"csv: positive: label {positive!r} never occurs in column {params.target!r} (labels: {seen})")
    if matches.all():
        raise DataError(f"csv: {path.name}: every row has label {positive!r}: expected two classes")
    return Dataset(f"csv:{path.name}", X, matches.to_numpy().astype(np.int64), f"user file {path}")


def _check_labelled(labels: pd.Series, target: str, name: str) -> None:
    """Every row has a label: rows without one (empty or NaN) are refused, not dropped, so that the
    rows trained on are the rows in the file (``run --data`` refuses them the same way)."""
    missing = labels.isna().to_numpy() | (labels.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise DataError(f"csv: target: column {target!r} of {name} has {int(missing.sum())} of {len(labels)} rows "
                        f"without a label (first: data row {int(np.flatnonzero(missing)[0]) + 1}); expected a label "
                        "in every row")


def _classes(labels: pd.Series, name: str) -> np.ndarray:
    """Class indices 0..C-1 of the labels (sorted as text); two labels: the rarer is class 1."""
    names, y = np.unique(labels.astype(str).to_numpy(), return_inverse=True)
    if names.size < 2:
        raise DataError(f"csv: {name}: every row has label {names[0]!r}: expected at least two classes")
    if names.size == 2 and np.bincount(y)[1] > np.bincount(y)[0]:
        y = 1 - y
    return y.astype(np.int64)


SOURCE = Source(
    name="csv",
    params=FileParams,
    load=_load,
    citation="a user's file",
    description="your own CSV or Parquet file (params: path, target, positive; no positive: every label a class)",
)
