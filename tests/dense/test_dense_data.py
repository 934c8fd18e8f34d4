"""The dense canvases: fixed geometry, ρ moved by empty canvases only, the canvas-row layout."""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from datasets.dense import IGNORE, canvas_targets, full_mask, side_of

SMALL = {"n_object_canvases": 6, "max_ratio": 500, "size": 24}


@pytest.fixture(scope="module")
def pool():
    return datasets.load("dense/digit_canvases", SMALL, seed=5)


def test_every_object_canvas_has_the_same_positives_and_ignored_locations(pool):
    t = pool.dense.targets
    objects = pool.y == 1
    assert np.all((t[objects] == 1).sum(axis=1) == pool.dense.positives)
    assert np.all((t[objects] == IGNORE).sum(axis=1) == pool.dense.ignored)
    assert np.all(t[~objects] == 0)  # empty canvases: every location a negative
    # the mask plane says which locations are scored
    np.testing.assert_array_equal(pool.X[:, 24 * 24:] > 0.5, t != IGNORE)


@pytest.mark.parametrize("ratio", [50, 120, 400])
def test_the_location_ratio_is_reached_by_empty_canvases_alone(pool, ratio):
    p = datasets.prepare(pool, ratio, seed=1, min_test_minority=5)
    assert p.ratio == pytest.approx(ratio, rel=0.05)
    assert p.info["dense"]["canvases"][1] == 6  # every object canvas, at every ratio
    for split in (p.train, p.validation, p.test):
        assert len(split.y) == int((split.X[:, 24 * 24:] > 0.5).sum())  # one label per scored location
    # the labels put back on the canvases are the source's targets (ignored stay ignored)
    rebuilt = canvas_targets(p.test.X, p.test.y)
    assert set(np.unique(rebuilt)) <= {IGNORE, 0, 1} and (rebuilt == 1).sum() == p.test.y.sum()


def test_folds_partition_the_canvases(pool):
    folds = [datasets.prepare(pool, 120, seed=1, fold=(f, 3), min_test_minority=1) for f in range(3)]
    tested = sum(len(f.test.X) for f in folds)
    assert tested == sum(folds[0].info["dense"]["canvases"])


def test_unreachable_ratios_say_which_and_why(pool):
    low = pool.dense.smallest_ratio
    with pytest.raises(datasets.DataError, match="below the smallest ratio"):
        datasets.prepare(pool, low / 2, seed=1)
    with pytest.raises(datasets.DataError, match="largest reachable ratio"):
        datasets.prepare(pool, 5000, seed=1)


def test_the_same_seed_gives_the_same_pool_and_another_seed_another():
    a, b = (datasets.load("dense/digit_canvases", SMALL, seed=s) for s in (1, 1))
    c = datasets.load("dense/digit_canvases", SMALL, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("params,field", [({"size": 8}, "size"), ({"contrast": 0.0}, "contrast"),
                                          ({"positive_radius": 4.0, "ignore_radius": 3.0}, "ignore_radius"),
                                          ({"objects_per_canvas": 50}, "objects_per_canvas"), ({"digit": 12}, "digit")])
def test_bad_parameters_are_one_line_naming_the_field(params, field):
    with pytest.raises(datasets.DataError, match=rf"dense/digit_canvases: {field}: expected"):
        datasets.load("dense/digit_canvases", params)


def test_layout_helpers():
    X = np.zeros((2, 2 * 9), dtype=np.float32)
    X[:, 9:] = 1
    X[0, 9 + 4] = 0
    assert side_of(18) == 3
    with pytest.raises(ValueError, match="width 2·S²"):
        side_of(17)
    full = full_mask(X)
    assert full[:, 9:].min() == 1 and X[0, 13] == 0  # a copy
    targets = canvas_targets(X, np.arange(17) % 2)
    assert targets[0, 4] == IGNORE and (targets >= 0).sum() == 17


def test_the_catalogue_lists_the_dense_task_with_its_sizes():
    from datasets import catalogue

    entry = catalogue.entries(catalogue.Filters(collection="dense"))[0]
    assert entry.name == "dense/digit_canvases" and entry.info.rows > 1_000_000
    assert entry.largest_ratio >= 10_000
