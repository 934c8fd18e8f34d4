r"""Metrics of the dense task (canvases, :mod:`datasets.dense`), with their properties declared.

Location-level average precision needs nothing new: the scored locations are the rows of ``y``
and the binary registry's ``average_precision`` is AP over them (ignored locations are not
rows). Declared here:

- ``object_average_precision`` (kind ``object``): detections are the local maxima of each
  canvas's logit map (max-pool suppression: a location is a peak when it equals the maximum of
  its (2k+1)² neighbourhood, k = ``pool``, ties kept), at most ``max_detections`` per canvas by
  score; they are matched greedily in descending score to the nearest unmatched object centre of
  their canvas within ``match_radius`` (COCO's greedy matching, with centre distance for IoU), and
  AP is the step-wise area :math:`\sum_k (R_k - R_{k-1}) P_k` with recall over *all* objects
  (a missed object lowers the recall ceiling). Lin et al. 2017 report COCO AP on boxes; this is its
  point-object analogue.
- the mechanism probes (kind ``probe``): CE's easy-negative shares of the gradient, measured
  while training (:mod:`harness.learners.easy_negatives`); lower means the easy negatives pull less.

Peaks come from scipy's ``maximum_filter`` and components from ``scipy.ndimage.label``; the
matching loop is written here (neither scikit-learn nor torchmetrics matches points by distance).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from harness.metrics.binary import Metric

PROBES = ("easy_negative_logit_share_p50", "easy_negative_logit_share_p90",
          "easy_negative_param_share_p50", "easy_negative_param_share_p90")


def object_centres(targets: np.ndarray) -> list[np.ndarray]:
    """Object centres of each canvas: the centroids (row, column) of the 4-connected components of
    positive locations of ``targets`` (n, S, S) (1 positive, 0 negative, -1 ignored)."""
    out = []
    for t in targets:
        labels, n = ndimage.label(t == 1)
        out.append(np.array(ndimage.center_of_mass(t == 1, labels, range(1, n + 1)), dtype=np.float64).reshape(n, 2))
    return out


def peaks(score_map: np.ndarray, *, pool: int = 1, max_detections: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of one (S, S) map (max-pool suppression): their (row, column) (k, 2) and scores (k,),
    highest first, at most ``max_detections``."""
    is_peak = score_map == ndimage.maximum_filter(score_map, size=2 * pool + 1, mode="nearest")
    where = np.argwhere(is_peak)
    scores = score_map[is_peak]
    order = np.argsort(-scores, kind="stable")[:max_detections]
    return where[order].astype(np.float64), scores[order]


def _matches(points: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    """True-positive flags of detections ``points`` (already in descending score) against ``centres``."""
    taken = np.zeros(len(centres), dtype=bool)
    hit = np.zeros(len(points), dtype=bool)
    for i, p in enumerate(points):
        if not len(centres):
            break
        d = np.hypot(*(centres - p).T)
        d[taken] = np.inf
        j = int(np.argmin(d))
        if d[j] <= radius:
            taken[j], hit[i] = True, True
    return hit


def object_average_precision(score_maps: np.ndarray, centres: list[np.ndarray], *, match_radius: float = 3.0,
                             pool: int = 1, max_detections: int = 10) -> float:
    """Object-level AP of peaks of ``score_maps`` (n, S, S) against ``centres`` (one (k_i, 2) array
    per canvas); see the module docstring. NaN when there is no object.

    Parameters
    ----------
    score_maps : ndarray, shape (n, S, S)
        Any scores monotone in the probability (logits do).
    centres : list of n arrays, shape (k_i, 2)
    match_radius : float > 0, default 3.0
        Largest centre distance (in locations) of a match.
    pool : int >= 0, default 1
        Suppression half-width: peaks are maxima of their (2·pool+1)² neighbourhood.
    max_detections : int >= 1, default 10
        Detections kept per canvas (highest scores).
    """
    maps = np.asarray(score_maps, dtype=np.float64)
    if maps.ndim != 3 or len(centres) != len(maps):
        raise ValueError(f"score_maps: expected (n, S, S) with one centre array per map, got {maps.shape} and {len(centres)}")
    if not np.all(np.isfinite(maps)):
        raise ValueError("score_maps: expected finite scores, got NaN or inf")
    n_objects = sum(len(c) for c in centres)
    if n_objects == 0:
        return float("nan")
    scores, hits = [], []
    for m, c in zip(maps, centres):
        points, s = peaks(m, pool=pool, max_detections=max_detections)
        scores.append(s)
        hits.append(_matches(points, np.asarray(c, dtype=np.float64).reshape(-1, 2), match_radius))
    s, h = np.concatenate(scores), np.concatenate(hits)
    order = np.argsort(-s, kind="mergesort")
    s, h = s[order], h[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # tied scores form one threshold, as in scikit-learn
    tp = np.cumsum(h)[last].astype(np.float64)
    precision, recall = tp / (last + 1), tp / n_objects
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _not_pointwise(name: str):
    def fn(*args, **kwargs):
        raise TypeError(f"{name}: not a (y_true, prob) metric; see harness.metrics.dense")
    return fn


_REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("object_average_precision", "object", True, _not_pointwise("object_average_precision"),
               "object-level AP: peaks (max-pool suppression) matched to object centres within 3 locations",
               task="dense"),
        *(Metric(name, "probe", False, _not_pointwise(name),
                 f"share of CE's {'logit gradient Σ|∂L/∂z|' if 'logit' in name else 'parameter-gradient norm'} from "
                 f"negatives with p_t > 0.{name[-2:]}, mean over training (mechanism probe)", task="dense")
          for name in PROBES),
    )
}


def available() -> dict[str, Metric]:
    """Dense metrics by name."""
    return dict(_REGISTRY)
