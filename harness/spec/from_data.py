"""A user's own file in one command: ``runner.py run --data my.csv --target label``.

The spec is built here, not read from YAML: the methods of ``benchmarks/default.yaml``
(:data:`METHODS`, kept equal by a test), the schema's default model and training, a smaller
tuning budget (:data:`N_TRIALS`), and stratified cross-validation at the file's own imbalance
ratio (:func:`cv_plan`), so that :mod:`harness.report.own_data` can say, from the per-fold
scores, whether a method beats ``ce`` on *this* data.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import datasets
from datasets.sources.tabular_file import read_table
from harness.errors import UserError
from harness.spec.schema import Spec, parse_spec

#: the methods of benchmarks/default.yaml
METHODS = ["ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce",
           "random_under", "smote", "tuned_loss", "balanced_random_forest", "easy_ensemble"]
#: test folds in all (folds × repeats): 10 scores per method, so the correlated t-test has 9 degrees of freedom
FOLDS = 10
#: Optuna trials per method and fold. 11 methods × 10 folds × (8 trials + 1 refit) ≈ 1 000 fits; at the
#: ≈ 0.14 s per fit that the 60/20/20 run of a 6 366-row file took (33 cells × 12 fits in 56 s), × 1.5
#: for the larger CV training split, that is ≈ 3.5 min on 2 cores, inside the 5-minute aim with room
#: for a slower machine; the schema's 10 would be ≈ 4.3 min.
N_TRIALS = 8
#: labels listed in an error message
SHOWN_LABELS = 10


def _two_digits_down(x: float) -> float:
    """``x`` floored to two significant digits (19.7 -> 19, 4.37 -> 4.3), so it stays reachable."""
    scale = 10 ** (math.floor(math.log10(x)) - 1)
    return math.floor(x / scale + 1e-9) * scale


def choose_ratios(natural: float, largest: float) -> list[float | str]:
    """``natural`` plus two controlled ratios (no longer used by :func:`data_spec`, which stays at
    the natural ratio; kept for a spec that wants a file's controlled ratios).

    Balanced (1) when the file is imbalanced (natural ≥ 1.5), and the geometric mean of the
    natural and the largest reachable ratio when the minority class allows 1.5 × natural or more;
    when it does not, the geometric mean of 1 and natural stands in for it (both controlled
    ratios below natural); a balanced file gets the largest reachable ratio and its square root.
    Ratios are floored to two significant digits.
    """
    if natural < 1.5:
        return ["natural", _two_digits_down(math.sqrt(largest)), _two_digits_down(largest)]
    above = _two_digits_down(math.sqrt(natural * largest)) if largest >= 1.5 * natural else None
    return ["natural", 1.0, above if above is not None else _two_digits_down(math.sqrt(natural))]


def _label_list(counts: pd.Series) -> str:
    """``'no' (5 740 rows), 'yes' (626 rows)``: the first :data:`SHOWN_LABELS` labels and their counts."""
    shown = ", ".join(f"{label!r} ({n} rows)" for label, n in counts.iloc[:SHOWN_LABELS].items())
    return shown + (f" and {len(counts) - SHOWN_LABELS} more" if len(counts) > SHOWN_LABELS else "")


def binary_labels(column: pd.Series, target: str, positive: str | None, file: str) -> tuple[np.ndarray, str]:
    """The 0/1 labels of ``column`` (1 = ``positive``) and the positive label, or one
    :class:`UserError` line naming the flag.

    Rows without a label (empty or NaN) are refused, not dropped: the source that loads the file
    for the run (``datasets/sources/tabular_file.py``) refuses them too, so both read the same
    rows. ``positive`` defaults to the rarest label (ties: the first in sorted order); with more
    than two labels every other label is negative (one against the rest).
    """
    text = column.astype(str)
    missing = column.isna().to_numpy() | (text.str.strip() == "").to_numpy()
    if missing.any():
        raise UserError(f"--target: column {target!r} of {file} has {int(missing.sum())} of {len(column)} rows "
                        f"without a label (first: data row {int(np.flatnonzero(missing)[0]) + 1}); expected a label "
                        "in every row: drop or fill those rows")
    counts = text.value_counts().sort_index(kind="stable").sort_values(kind="stable")  # rarest first, then by name
    if len(counts) < 2:
        raise UserError(f"--target: column {target!r} has one class ({counts.index[0]!r}, {counts.iloc[0]} rows); "
                        "expected two (or more: the rarest is then the positive class)")
    if positive is None:
        positive = str(counts.index[0])
    elif str(positive) not in counts.index:
        raise UserError(f"--positive: {str(positive)!r} is not a label of column {target!r}; its labels: "
                        f"{_label_list(counts.sort_index())}")
    return (text == str(positive)).to_numpy().astype(np.int64), str(positive)


def cv_plan(n_minority: int, min_test_minority: int, file: str) -> tuple[int, int]:
    """``(folds, repeats)`` of the stratified cross-validation: 10 folds once when the smaller
    class fills each test fold with ``min_test_minority`` rows; otherwise as many folds as it
    can fill (at least 2), repeated until :data:`FOLDS` test folds are scored in all."""
    folds = min(FOLDS, n_minority // min_test_minority)
    if folds < 2:
        raise UserError(f"{file}: {n_minority} rows in the smaller class; at least {2 * min_test_minority} are "
                        f"needed for 2 test folds with {min_test_minority} each")
    return folds, math.ceil(FOLDS / folds)


def _name(path: Path) -> str:
    return "data-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "file")


def data_spec(path: str, target: str, positive: str | None = None, *,
              overrides: dict[str, Any] | None = None, min_test_minority: int = 10) -> Spec:
    """The built-in spec for ``path`` (CSV or Parquet) with label column ``target``, validated
    (see :func:`spec_dict`)."""
    spec = spec_dict(path, target, positive, overrides=overrides, min_test_minority=min_test_minority)
    return parse_spec(spec, source=f"--data {Path(path).name}")


def spec_dict(path: str, target: str, positive: str | None = None, *,
              overrides: dict[str, Any] | None = None, min_test_minority: int = 10) -> dict[str, Any]:
    """The built-in spec for ``path`` as plain data, before the schema checks it.

    Parameters
    ----------
    path, target : str
        The file (CSV or Parquet) and its label column.
    positive : str, optional
        The positive label; default the rarest (see :func:`binary_labels`).
    overrides : dict, optional
        Merged into the spec's sections (e.g. ``{"tuning": {"n_trials": 2}}``) to shrink the budget.
    min_test_minority : int, default 10
        Rows of the smaller class each test fold must hold (see :func:`cv_plan`).
    """
    file = Path(path).expanduser().resolve()
    try:
        frame = read_table(file)
    except datasets.DataError as exc:
        raise UserError(str(exc)) from None
    if target not in frame.columns:
        raise UserError(f"--target: column {target!r} is not in {file.name}; its columns: "
                        f"{', '.join(map(str, frame.columns))}")
    y, positive = binary_labels(frame[target], target, positive, file.name)
    folds, repeats = cv_plan(int(min(y.sum(), len(y) - y.sum())), min_test_minority, file.name)
    others = frame[target].nunique() - 1
    spec = {
        "name": _name(file),
        "description": f"{file.name}, label {target!r} (positive {positive!r} against "
                       + (f"the {others} other labels" if others > 1 else "the other")
                       + f"): the default methods, {folds}-fold stratified cross-validation"
                       + (f" repeated {repeats} times" if repeats > 1 else "") + " at the file's own ratio",
        "datasets": [{"name": "csv", "label": file.stem, "params": {"path": str(file), "target": target,
                                                                   "positive": positive}}],
        "imbalance_ratios": ["natural"],
        "methods": METHODS,
        "tuning": {"n_trials": N_TRIALS},
        "evaluation": {"protocol": "cv", "folds": folds, "repetitions": repeats},
        "min_test_minority": min_test_minority,
    }
    for section, values in (overrides or {}).items():
        spec[section] = {**spec.get(section, {}), **values} if isinstance(values, dict) else values
    return spec
