"""Prepared data for the cells of a benchmark, loaded once and kept for reuse."""

from __future__ import annotations

import datasets
from harness.seeding import derive_seed
from harness.spec.schema import DatasetSpec, Spec


def profile_args(ds: DatasetSpec) -> dict:
    """``datasets.prepare``'s multi-class profile arguments of an entry (binary data ignore them)."""
    return {"profile": ds.profile or datasets.imbalance.LONG_TAILED,
            "minority_fraction": 0.5 if ds.minority_fraction is None else ds.minority_fraction}


class DataProvider:
    """Loads and prepares data once per (dataset, ratio, repetition or fold) and keeps it for reuse.

    Data seeds hash (benchmark seed, dataset, ratio, repetition) but not the method, so every
    method of a repetition sees the very same subsample and split: comparisons are paired.
    """

    def __init__(self, spec: Spec, max_prepared: int = 32) -> None:
        self.spec = spec
        self._pools: dict[str, datasets.Dataset] = {}
        self._prepared: dict[tuple, datasets.Prepared] = {}
        self._max = max_prepared

    def pool(self, ds: DatasetSpec) -> datasets.Dataset:
        if ds.identity not in self._pools:
            seed = derive_seed(self.spec.seed, ds.identity, "pool")
            self._pools[ds.identity] = datasets.load(ds.name, ds.params, seed=seed)
        return self._pools[ds.identity]

    def prepared(self, ds: DatasetSpec, ratio: float | str, repetition: int) -> datasets.Prepared:
        """The data of evaluated fit ``repetition``: a holdout split, or (cv) fold f of repeat r
        (:meth:`~harness.spec.schema.EvaluationSpec.fold_of`)."""
        key = (ds.identity, ds.test_profile, ratio, repetition)
        if key not in self._prepared:
            if len(self._prepared) >= self._max:
                self._prepared.pop(next(iter(self._prepared)))
            ev = self.spec.evaluation
            repeat, fold = ev.fold_of(repetition)  # every fold of a repeat shares its subsample and partition
            self._prepared[key] = datasets.prepare(
                self.pool(ds),
                ratio,
                seed=derive_seed(self.spec.seed, ds.identity, ratio, repeat, "split"),
                fold=(fold, ev.folds) if ev.protocol == "cv" else None,
                fractions=self.spec.split.fractions,
                min_test_minority=self.spec.min_test_minority,
                max_rows=self.spec.split.max_rows,
                test_profile=ds.test_profile,
                **profile_args(ds),
            )
        return self._prepared[key]
