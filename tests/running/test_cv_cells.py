"""A cross-validated cell: tuning sees fold 0's train and validation only — never its test
fold —, every fold is scored once, and each fold's row says where it sits and what it held."""

from __future__ import annotations

import numpy as np
from conftest import TINY_SPEC

from harness.learners import for_model
from harness.plan.cells import expand
from harness.plan.data import DataProvider
from harness.running.cell import run_cell
from harness.spec.schema import parse_spec
from harness.store import results as results_store


class _Spy:
    """A learner that records every batch of fits it is given, then fits them."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def fit(self, tasks):
        self.calls.append(list(tasks))
        return self.inner.fit(tasks)


def _rows(a: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in np.ascontiguousarray(a)}


def test_tuning_never_sees_the_outer_test_fold_and_every_fold_is_scored_once():
    spec = parse_spec({**TINY_SPEC, "imbalance_ratios": [10], "methods": ["ce"],
                       "evaluation": {"protocol": "cv", "folds": 3, "repetitions": 1}})
    data = DataProvider(spec)
    cell = expand(spec, data)[0]
    spy = _Spy(for_model(spec, cell.model))
    result = run_cell(spec, cell, data, learner=spy)
    assert result.status == "ok", result.reason
    *tuning, evaluation = spy.calls
    fold0 = data.prepared(cell.dataset, cell.ratio, 0)
    seen = set().union(*(_rows(t.X_train) | _rows(t.X_val) for batch in tuning for t in batch))
    assert seen and not seen & _rows(fold0.test.X)  # the test fold of the tuning never trained or validated it
    assert len(evaluation) == 3 and [r.fold for r in result.repetitions] == [0, 1, 2]
    frame = results_store.table("tiny", spec.spec_hash(), [result])
    per_fold = frame.drop_duplicates(["repeat", "fold"]).set_index("fold")
    prepared = [data.prepared(cell.dataset, cell.ratio, f) for f in range(3)]
    assert per_fold["n_test"].tolist() == [len(p.test.y) for p in prepared]
    assert per_fold["n_train"].tolist() == [len(p.train.y) + len(p.validation.y) for p in prepared]
    assert per_fold["n_test_minority"].tolist() == [int(p.test.y.sum()) for p in prepared]
    assert per_fold["valid"].all() and (per_fold["repeat"] == 0).all()
    assert per_fold["dataset_fingerprint"].nunique() == 3
