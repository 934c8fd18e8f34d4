"""Imbalance control and the Gaussian source."""

from __future__ import annotations

import numpy as np
import pytest

import datasets


@pytest.fixture(scope="module")
def pool():
    return datasets.load("synthetic/gaussian", {"n_samples": 6000, "n_features": 3, "separation": 1.5}, seed=1)


@pytest.mark.parametrize("ratio", [1, 3, 10, 50])
def test_ratio_holds_in_every_split(pool, ratio):
    prepared = datasets.prepare(pool, ratio, seed=0)
    for split in (prepared.train, prepared.validation, prepared.test):
        neg, pos = split.counts(2)
        assert pos >= 1
        assert neg / pos == pytest.approx(ratio, rel=0.1)
    total = [sum(s.counts(2)[c] for s in (prepared.train, prepared.validation, prepared.test)) for c in (0, 1)]
    assert total[0] / total[1] == pytest.approx(ratio, rel=0.01)
    n = sum(total)
    assert len(prepared.test.y) / n == pytest.approx(0.2, abs=0.01)


def test_same_seed_same_split_other_seed_other_subsample(pool):
    a, b, c = (datasets.prepare(pool, 10, seed=s) for s in (5, 5, 6))
    assert a.fingerprint == b.fingerprint
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert a.fingerprint != c.fingerprint


def test_standardised_with_training_statistics(pool):
    prepared = datasets.prepare(pool, 10, seed=0)
    np.testing.assert_allclose(prepared.train.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(prepared.train.X.std(axis=0), 1, atol=1e-12)
    assert abs(prepared.test.X.mean()) > 1e-6  # test is not standardised on itself


@pytest.mark.parametrize("ratio", [1, 10])
def test_gaussian_posterior_agrees_with_monte_carlo(ratio):
    """Among samples whose stated posterior falls in a bin, the positive rate matches the bin."""
    ds = datasets.load("synthetic/gaussian", {"n_samples": 200000, "n_features": 2, "separation": 1.0}, seed=0)
    prepared = datasets.prepare(ds, ratio, seed=0, fractions=(0.2, 0.2, 0.6))
    post, y = prepared.test.posterior, prepared.test.y
    edges = np.quantile(post, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(edges, post, side="right") - 1, 0, 9)
    for b in range(10):
        members = idx == b
        se = np.sqrt(post[members].mean() * (1 - post[members].mean()) / members.sum())
        assert abs(y[members].mean() - post[members].mean()) < 4 * se + 1e-3
    assert post.mean() == pytest.approx(1 / (1 + ratio), rel=0.05)


def test_unreachable_ratio_names_dataset_ratio_and_largest(pool):
    with pytest.raises(datasets.DataError, match=r"synthetic/gaussian: imbalance ratio 1000 .*largest reachable ratio is 62.5"):
        datasets.prepare(pool, 1000, seed=0)
    assert datasets.prepare(pool, 62.5, seed=0).test.counts(2)[1] == 10  # the largest is reachable
    with pytest.raises(datasets.DataError, match="leaves 9 minority samples"):
        datasets.prepare(pool, 64, seed=0)


def test_unknown_dataset_suggests_close_match():
    with pytest.raises(datasets.DataError, match="did you mean synthetic/gaussian"):
        datasets.get_source("synthetic/gausian")


def test_bad_params_name_the_parameter():
    with pytest.raises(datasets.DataError, match="unknown parameter 'n_sample'"):
        datasets.load("synthetic/gaussian", {"n_sample": 10})
    with pytest.raises(datasets.DataError, match="separation"):
        datasets.load("synthetic/gaussian", {"separation": -1})


# --- the catalogue ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n, s in datasets.available().items() if n != "csv" and s.info is None))
def test_every_catalogue_entry_loads(name):
    """Generated and scikit-learn entries; the shipped files: tests/datasets/test_catalogue.py."""
    ds = datasets.load(name)
    assert ds.X.ndim == 2 and ds.X.shape[0] == ds.y.shape[0] > 100
    assert np.isfinite(ds.X).all() and ds.n_classes >= 2
    assert ds.citation
    if ds.n_classes == 2:
        if datasets.natural_ratio(ds.y) > 1.05:  # generated pools are balanced up to noise
            assert (ds.y == 1).sum() < (ds.y == 0).sum()  # positive = minority
        ratio = min(datasets.natural_ratio(ds.y), datasets.largest_reachable_ratio(ds.y, (0.6, 0.2, 0.2), 10))
        if ratio >= 1:
            prepared = datasets.prepare(ds, ratio, seed=0)
            assert prepared.test.counts(2)[1] >= 10


def test_keel_files_parse_to_their_known_sizes():
    for name, rows, positives, features in [("pima", 768, 268, 8), ("yeast4", 1484, 51, 8),
                                             ("abalone19", 4174, 32, 10), ("page-blocks0", 5472, 559, 10)]:
        ds = datasets.load(f"keel/{name}")
        assert ds.X.shape == (rows, features) and ds.y.sum() == positives
    abalone = datasets.load("keel/abalone19")
    np.testing.assert_array_equal(np.unique(abalone.X[:, :3]), [0.0, 1.0])  # Sex one-hot encoded


def test_keel_natural_ratios_span_2_to_130():
    ratios = [datasets.catalogue.info(n).natural_ratio for n in datasets.available() if n.startswith("keel/")]
    assert len(ratios) >= 10 and min(ratios) < 2 and max(ratios) > 125


@pytest.mark.parametrize("name,ratio", [("sklearn/wine", 1.4), ("sklearn/digits_multiclass", 3.0)])
def test_multiclass_long_tailed_profile_holds_in_every_split(name, ratio):
    ds = datasets.load(name)
    prepared = datasets.prepare(ds, ratio, seed=0)
    c = prepared.n_classes
    total = sum(np.array(s.counts(c)) for s in (prepared.train, prepared.validation, prepared.test))
    ranked = np.sort(total)[::-1]
    expected = ranked[0] * ratio ** (-np.arange(c) / (c - 1))
    np.testing.assert_allclose(ranked, expected, atol=1.0)
    for split in (prepared.train, prepared.validation, prepared.test):
        counts = np.array(split.counts(c))
        assert counts.max() / counts.min() == pytest.approx(ratio, rel=0.2)


# --- bad data: one line naming the culprit ------------------------------------------------

def _csv(tmp_path, frame, name="data.csv"):
    import pandas as pd

    path = tmp_path / name
    (pd.DataFrame(frame).to_parquet if name.endswith(".parquet") else pd.DataFrame(frame).to_csv)(path, index=False)
    return str(path)


def test_csv_and_parquet_files_load_with_categorical_columns(tmp_path):
    frame = {"a": np.arange(40.0), "colour": ["red", "blue"] * 20, "label": ["yes"] * 8 + ["no"] * 32}
    for name in ("data.csv", "data.parquet"):
        ds = datasets.load("csv", {"path": _csv(tmp_path, frame, name), "target": "label", "positive": "yes"})
        assert ds.X.shape == (40, 3) and ds.y.sum() == 8


@pytest.mark.parametrize("frame,params,message", [
    ({"a": [1.0, np.nan, 3.0, 4.0], "y": [0, 1, 0, 1]}, {"target": "y", "positive": 1}, "features hold NaN or inf"),
    ({"a": [1.0, np.inf, 3.0, 4.0], "y": [0, 1, 0, 1]}, {"target": "y", "positive": 1}, "features hold NaN or inf"),
    ({"a": [1.0, 2.0, 3.0, 4.0], "y": [1, 1, 1, 1]}, {"target": "y", "positive": 1}, "every row has label 1"),
    ({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}, {"target": "label", "positive": 1}, "target: column 'label' not in"),
    ({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}, {"target": "y", "positive": 7}, "positive: label 7 never occurs"),
])
def test_bad_files_give_one_clear_line(tmp_path, frame, params, message):
    with pytest.raises(datasets.DataError, match=message):
        datasets.load("csv", {"path": _csv(tmp_path, frame), **params})


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(datasets.DataError, match="does not exist"):
        datasets.load("csv", {"path": str(tmp_path / "none.csv"), "target": "y", "positive": 1})
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(datasets.DataError, match="cannot read"):
        datasets.load("csv", {"path": str(bad), "target": "y", "positive": 1})


def test_ratio_below_one_and_unreachable_ratios():
    ds = datasets.load("keel/yeast4")
    with pytest.raises(datasets.DataError, match="imbalance_ratio: expected a number >= 1"):
        datasets.prepare(ds, 0.5, seed=0)
    with pytest.raises(datasets.DataError, match="largest reachable ratio is 29.85"):
        datasets.prepare(ds, 50, seed=0)
    with pytest.raises(datasets.DataError, match="no ratio is reachable"):
        datasets.prepare(datasets.load("keel/abalone19"), "natural", seed=0)


@pytest.mark.parametrize("ratio", [1, 10, "natural"])
def test_max_rows_scales_every_class_alike(pool, ratio):
    full = datasets.prepare(pool, ratio, seed=0)
    capped = datasets.prepare(pool, ratio, seed=0, max_rows=900)
    n = [sum(len(s.y) for s in (p.train, p.validation, p.test)) for p in (full, capped)]
    assert n[0] > 900 >= n[1] >= 900 - 2
    assert capped.ratio == pytest.approx(full.ratio, rel=0.05)
    same = datasets.prepare(pool, ratio, seed=0, max_rows=n[0])
    assert same.fingerprint == full.fingerprint  # a cap above the rows changes nothing
