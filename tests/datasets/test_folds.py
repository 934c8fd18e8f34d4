"""Cross-validated preparation (``datasets.prepare(..., fold=(f, K))``): the K folds of one seed
partition the ρ-subsample, each sample tested exactly once, stratified; train, validation and
test of a fold never share a sample; another seed redraws the subsample."""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from datasets import imbalance
from datasets.base import Dataset


def _dataset(n0: int = 900, n1: int = 300) -> Dataset:
    y = np.r_[np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)]
    return Dataset("indexed", np.random.default_rng(0).normal(size=(len(y), 3)), y, "")


def _folds(ds: Dataset, ratio, seed: int, k: int, fractions=(0.6, 0.2, 0.2)) -> list[dict[str, set[int]]]:
    """Row indices of train / validation / test of each fold (the split ``prepare`` standardises)."""
    target = imbalance._target_counts(ds, np.bincount(ds.y), ratio, imbalance.LONG_TAILED, 0.5)
    return [{name: set(np.concatenate(parts).tolist())
             for name, parts in imbalance._fold_split(ds, target, seed, fractions, f, k).items()} for f in range(k)]


@pytest.mark.parametrize("k", [3, 5])
def test_the_folds_of_one_seed_test_every_subsampled_sample_exactly_once(k):
    ds = _dataset()
    folds = _folds(ds, 2, seed=7, k=k)
    used = folds[0]["train"] | folds[0]["validation"] | folds[0]["test"]
    assert len(used) == 600 + 300  # ρ 2: 600 of the 900 negatives, every positive
    tested = [i for f in folds for i in f["test"]]
    assert len(tested) == len(set(tested)) and set(tested) == used  # each sample tested once
    for f in range(k):
        split = folds[f]
        assert split["train"] | split["validation"] | split["test"] == used  # one subsample per seed
        assert not split["test"] & (split["train"] | split["validation"]) and not split["train"] & split["validation"]
        positives = sum(ds.y[i] for i in split["test"])
        assert abs(positives - 300 / k) < 1 and abs(len(split["test"]) - 900 / k) < 2  # stratified
        n_val, n_fit = len(split["validation"]), len(split["train"]) + len(split["validation"])
        assert abs(n_val / n_fit - 0.25) < 0.01  # train : validation as 0.6 : 0.2


def test_prepare_standardises_the_fold_split_and_fingerprints_each_fold():
    ds = _dataset()
    prepared = [datasets.prepare(ds, 2, seed=7, fold=(f, 3), min_test_minority=5) for f in range(3)]
    folds = _folds(ds, 2, seed=7, k=3)
    for p, split in zip(prepared, folds):
        assert len(p.test.y) == len(split["test"]) and len(p.train.y) == len(split["train"])
        assert abs(p.train.X.mean()) < 1e-9  # standardised on its own training split
    assert len({p.fingerprint for p in prepared}) == 3


def test_another_repeat_seed_redraws_the_subsample_and_the_partition():
    ds = _dataset()
    a, b = _folds(ds, 2, seed=1, k=4)[0], _folds(ds, 2, seed=2, k=4)[0]
    assert a["test"] != b["test"]
    assert a["train"] | a["validation"] | a["test"] != b["train"] | b["validation"] | b["test"]


def test_a_class_too_small_for_the_folds_is_refused_naming_the_ratio():
    ds = _dataset(900, 30)
    with pytest.raises(datasets.DataError, match="imbalance ratio 300 leaves 0 minority samples in the smallest of 5 test folds"):
        datasets.prepare(ds, 300, seed=0, fold=(0, 5), min_test_minority=1)
    with pytest.raises(datasets.DataError, match="fold: expected"):
        datasets.prepare(ds, 2, seed=0, fold=(5, 5))


def test_cv_fractions_keep_train_to_validation_and_test_one_in_k():
    assert datasets.cv_fractions((0.5, 0.25, 0.25), 4) == pytest.approx((0.5, 0.25, 0.25))
    assert datasets.cv_fractions((0.6, 0.2, 0.2), 5) == pytest.approx((0.6, 0.2, 0.2))
    assert datasets.cv_fractions((0.6, 0.2, 0.2), 10) == pytest.approx((0.675, 0.225, 0.1))


def test_every_fold_of_a_cell_is_reachable_or_none_is():
    """15 positives in 4 folds: 4, 4, 4, 3. With 4 needed in test, fold 0 alone would pass and
    fold 3 fail mid-cell; the smallest fold decides for all, and the reachable ratio says so."""
    ds = _dataset(900, 60)
    for f in range(4):
        with pytest.raises(datasets.DataError, match="leaves 3 minority samples in the smallest of 4 test folds.*"
                                                     "largest reachable ratio is 56.25"):
            datasets.prepare(ds, 60, seed=0, fold=(f, 4), fractions=(0.5, 0.25, 0.25), min_test_minority=4)
    assert len(datasets.prepare(ds, 56.25, seed=0, fold=(3, 4), fractions=(0.5, 0.25, 0.25), min_test_minority=4).test.y)
