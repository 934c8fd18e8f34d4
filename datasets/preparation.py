"""``datasets.prepare``: one entry point for every dataset, feature rows (:mod:`datasets.imbalance`)
or dense canvases (:mod:`datasets.dense`, where ρ counts locations and moves with empty canvases)."""

from __future__ import annotations

from .base import Dataset, Prepared
from .dense import prepare_dense
from .imbalance import prepare as prepare_rows


def prepare(dataset: Dataset, ratio: float | str, **options) -> Prepared:
    """:func:`datasets.imbalance.prepare` (its parameters), or for canvases
    :func:`datasets.dense.prepare_dense` with the options that apply to them (``seed``,
    ``fractions``, ``min_test_minority``, ``fold``; profiles and ``max_rows`` do not)."""
    if dataset.dense is None:
        return prepare_rows(dataset, ratio, **options)
    keep = ("seed", "fractions", "min_test_minority", "fold")
    defaults = {"fractions": (0.6, 0.2, 0.2), "min_test_minority": 10, "fold": None}
    return prepare_dense(dataset, ratio, **{**defaults, **{k: v for k, v in options.items() if k in keep}})
