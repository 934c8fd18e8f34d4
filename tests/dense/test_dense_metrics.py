"""Object-level AP by hand, location-level AP against scikit-learn, the probes' declarations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from harness.metrics import binary, per_task
from harness.metrics import dense as metrics_dense


def test_object_ap_of_a_hand_computed_case():
    # two canvases, three objects, the two best peaks of each kept: canvas 0: 0.9 on an object (TP),
    # 0.8 far from any (FP); canvas 1: 0.7 on an object (TP), 0.6 a second peak near the same object,
    # already taken (FP; the other object is 5 away). The third object is never found:
    # AP = 1/3 · 1/1 + 1/3 · 2/3 = 5/9 (recall steps of 1/3 at precisions 1 and 2/3).
    maps = np.full((2, 9, 9), -5.0)
    maps[0, 2, 2], maps[0, 7, 7] = 0.9, 0.8
    maps[1, 2, 2], maps[1, 4, 3] = 0.7, 0.6
    centres = [np.array([[2.0, 2.0]]), np.array([[2.5, 2.5], [7.0, 7.0]])]
    ap = metrics_dense.object_average_precision(maps, centres, match_radius=2.5, pool=1, max_detections=2)
    assert ap == pytest.approx(5 / 9, abs=1e-12)
    # one suppression half-width of 2 merges the two peaks of canvas 1: the duplicate is gone
    # suppression over 5×5 removes the duplicate (0.6 lies within 2 of 0.7): the plateau's next
    # peak takes its place, still a false positive far from the missed object
    points, _ = metrics_dense.peaks(maps[1], pool=2, max_detections=2)
    assert [2.0, 2.0] in points.tolist() and [4.0, 3.0] not in points.tolist()


def test_object_ap_equals_sklearn_scaled_by_the_recall_ceiling():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(20, 16, 16))
    centres = [rng.uniform(2, 13, size=(int(k), 2)) for k in rng.integers(0, 3, size=20)]
    for m, c in zip(maps, centres):
        for r, col in np.round(c).astype(int):
            m[r, col] += rng.uniform(1, 4)  # a bump at most objects
    ours = metrics_dense.object_average_precision(maps, centres, match_radius=2.0)
    scores, hits = [], []
    for m, c in zip(maps, centres):
        points, s = metrics_dense.peaks(m)
        scores.append(s)
        hits.append(metrics_dense._matches(points, c, 2.0))
    s, h = np.concatenate(scores), np.concatenate(hits)
    n_objects = sum(len(c) for c in centres)
    assert ours == pytest.approx(average_precision_score(h, s) * h.sum() / n_objects, abs=1e-12)


def test_perfect_and_empty_cases():
    maps = np.zeros((1, 8, 8))
    maps[0, 3, 4] = 5.0
    assert metrics_dense.object_average_precision(maps, [np.array([[3.0, 4.0]])]) == 1.0
    assert np.isnan(metrics_dense.object_average_precision(maps, [np.zeros((0, 2))]))
    with pytest.raises(ValueError, match="finite"):
        metrics_dense.object_average_precision(np.full((1, 4, 4), np.nan), [np.zeros((0, 2))])
    with pytest.raises(ValueError, match="one centre array per map"):
        metrics_dense.object_average_precision(maps, [])


def test_centres_are_the_centroids_of_positive_components():
    t = np.zeros((1, 10, 10), dtype=np.int8)
    t[0, 1:3, 1:3] = 1
    t[0, 0, 0] = -1
    t[0, 6:9, 5:8] = 1
    (found,) = metrics_dense.object_centres(t)
    np.testing.assert_allclose(sorted(found.tolist()), [[1.5, 1.5], [7.0, 6.0]])


def test_location_ap_is_sklearns_over_the_scored_locations():
    rng = np.random.default_rng(1)
    y = (rng.random(5000) < 0.01).astype(int)
    s = rng.normal(size=5000) + 2 * y
    assert binary.get("average_precision")(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_dense_records_are_declared_with_a_direction():
    for name in ("object_average_precision", *metrics_dense.PROBES):
        assert name in metrics_dense.available()
        per_task.higher_is_better(name)  # the report can rank them
    assert per_task.higher_is_better("object_average_precision")
    with pytest.raises(TypeError, match="not a"):
        metrics_dense.available()["object_average_precision"](np.zeros(2), np.zeros(2))
