"""A user's own file in one command: ``runner.py run --data my.csv --target label``.

The spec is built here, not read from YAML: the methods of ``benchmarks/default.yaml``
(:data:`METHODS`, kept equal by a test), the schema's default model, training, tuning and
evaluation, and three imbalance ratios chosen from the file itself (:func:`choose_ratios`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

import datasets
from datasets.sources.tabular_file import read_table
from harness.errors import UserError
from harness.spec.schema import Spec, parse_spec

#: the methods of benchmarks/default.yaml
METHODS = ["ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce",
           "random_under", "smote", "tuned_loss", "balanced_random_forest", "easy_ensemble"]


def _two_digits_down(x: float) -> float:
    """``x`` floored to two significant digits (19.7 -> 19, 4.37 -> 4.3), so it stays reachable."""
    scale = 10 ** (math.floor(math.log10(x)) - 1)
    return math.floor(x / scale + 1e-9) * scale


def choose_ratios(natural: float, largest: float) -> list[float | str]:
    """``natural`` plus two controlled ratios.

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


def _name(path: Path) -> str:
    return "data-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "file")


def data_spec(path: str, target: str, positive: str | None = None, *,
              overrides: dict[str, Any] | None = None, min_test_minority: int = 10) -> Spec:
    """The built-in spec for ``path`` (CSV or Parquet) with label column ``target``.

    ``positive`` defaults to the rarest label. ``overrides`` merge into the spec's sections
    (e.g. ``{"tuning": {"n_trials": 2}}``) to shrink the budget.
    """
    file = Path(path).expanduser().resolve()
    try:
        frame = read_table(file)
    except datasets.DataError as exc:
        raise UserError(str(exc)) from None
    if target not in frame.columns:
        raise UserError(f"--target: column {target!r} is not in {file.name}; its columns: "
                        f"{', '.join(map(str, frame.columns))}")
    labels = frame[target].astype(str)
    if positive is None:
        counts = labels.value_counts()
        positive = str(counts.index[counts.to_numpy().argmin()])
    y = (labels == str(positive)).to_numpy().astype(np.int64)
    if not 0 < y.sum() < len(y):
        seen = ", ".join(sorted(labels.unique())[:10])
        raise UserError(f"--positive: expected a label of column {target!r} other than all of them, got {positive!r} "
                        f"(labels: {seen})")
    largest = datasets.largest_reachable_ratio(y, (0.6, 0.2, 0.2), min_test_minority)
    if largest < 1:
        raise UserError(f"{file.name}: {int(min(y.sum(), len(y) - y.sum()))} rows in the smaller class; at least "
                        f"{math.ceil(min_test_minority / 0.2)} are needed to keep {min_test_minority} in test")
    spec = {
        "name": _name(file),
        "description": f"{file.name}, label {target!r} (positive {positive!r}): the default methods at the natural "
                       "and two controlled imbalance ratios",
        "datasets": [{"name": "csv", "label": file.stem, "params": {"path": str(file), "target": target,
                                                                   "positive": str(positive)}}],
        "imbalance_ratios": choose_ratios(datasets.natural_ratio(y), largest),
        "methods": METHODS,
        "min_test_minority": min_test_minority,
    }
    for section, values in (overrides or {}).items():
        spec[section] = {**spec.get(section, {}), **values} if isinstance(values, dict) else values
    return parse_spec(spec, source=f"--data {file.name}")
