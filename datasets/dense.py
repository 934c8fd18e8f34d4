"""Dense prediction data: canvases whose every location is a binary "object here" decision.

How canvases travel through the pipeline (a decision, in one place)
--------------------------------------------------------------------
The pipeline passes ``(X, y)`` arrays. For a dense set (``Dataset.dense`` is a :class:`Canvases`):

- a **row of X is a canvas**: ``X`` has shape (n_canvases, 2·S²) float32, the first S² columns
  the pixels of the S×S canvas (row-major), the last S² its **scoring mask** (1: the location
  counts, 0: it lies in an ignore band). The mask is never an input of a model: the fully
  convolutional learner (``fcn``) reads only the pixel plane and uses the mask to say which
  of its S² logits are the rows of ``y``. Canvases are square, so S follows from the width.
- **y holds one label per scored location**, canvas-major, row-major within a canvas (the
  locations whose mask is 1), so ``len(y)`` is the number of scored locations, not of canvases.
  Every location-level consumer downstream (metrics, calibration variants, the results table's
  test sizes, class counts and loss weights) sees locations without knowing about canvases;
  ignored locations count in no loss and no metric because they are not rows of ``y``.
- A model's ``predict_logits(X)`` returns one logit per scored location (aligned with ``y``); fed a
  copy of X whose mask plane is all ones (:func:`full_mask`) it returns the whole S² map of every
  canvas (object-level metrics extract peaks from it).

Only the ``fcn`` learner reads this layout (the plan refuses other learners, samplers and
ensembles on dense data: their rows would not line up).

Imbalance at fixed geometry
---------------------------
Every object canvas holds the same number of objects, each with the same P positive and I ignored
locations, so the location ratio is moved by the number of empty canvases only:
ρ = (n_obj (S² − P − I) + n_empty S²) / (n_obj P), i.e.
n_empty = n_obj (ρ P − (S² − P − I)) / S². The object canvases (and so the positives, their
appearance and the clutter around them) are the same at every ρ: the ratio is the only thing
that moves (Lin et al. 2017's regime, where background locations dominate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import DataError, Dataset, Prepared, Split
from .imbalance import _fold_split, _split, cv_fractions, fingerprint

IGNORE = -1  # per-location target of a location in an ignore band


@dataclass(frozen=True)
class Canvases:
    """The per-location truth of a dense dataset.

    Attributes
    ----------
    side : int
        S: canvases are S×S.
    targets : ndarray of int8, shape (n_canvases, S²)
        1 positive (within the positive radius of an object's centre), 0 negative,
        -1 ignored (:data:`IGNORE`: the band between the positive and the ignore radius).
    positives, ignored : int
        P and I of one object canvas (every object canvas has the same; empty ones 0 and 0).
    """

    side: int
    targets: np.ndarray
    positives: int
    ignored: int

    @property
    def locations(self) -> int:
        return self.side * self.side

    def empty_per_object(self, ratio: float) -> float:
        """n_empty / n_obj that gives location ratio ``ratio`` (negative: below the smallest)."""
        negatives = self.locations - self.positives - self.ignored
        return (ratio * self.positives - negatives) / self.locations

    @property
    def smallest_ratio(self) -> float:
        """ρ of the object canvases alone (no empty canvas)."""
        return (self.locations - self.positives - self.ignored) / self.positives


def full_mask(X: np.ndarray) -> np.ndarray:
    """A copy of canvas rows ``X`` (n, 2·S²) whose scoring mask is all ones (every location scored)."""
    out = np.array(X, dtype=np.float32, copy=True)
    out[:, out.shape[1] // 2:] = 1.0
    return out


def canvas_targets(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-location targets (n, S²) int64 of canvas rows ``X``: ``y`` where the mask is set, -1 elsewhere."""
    s2 = X.shape[1] // 2
    targets = np.full((len(X), s2), IGNORE, dtype=np.int64)
    targets[X[:, s2:] > 0.5] = y
    return targets


def side_of(width: int) -> int:
    """S of canvas rows of ``width`` = 2·S² columns; a width of another form raises ValueError."""
    side = math.isqrt(width // 2)
    if width != 2 * side * side or side < 1:
        raise ValueError(f"X: expected canvas rows of width 2·S² (pixels and scoring mask), got width {width}")
    return side


def _canvas_counts(dataset: Dataset, ratio: float) -> np.ndarray:
    """(n_empty, n_obj) canvases that reach ``ratio``; a ratio out of reach raises DataError."""
    layout: Canvases = dataset.dense
    n_obj, n_empty_pool = int((dataset.y == 1).sum()), int((dataset.y == 0).sum())
    share = layout.empty_per_object(float(ratio))
    n_empty = int(round(n_obj * share))
    largest = (n_empty_pool * layout.locations / n_obj + layout.locations - layout.positives - layout.ignored) \
        / layout.positives
    if share < -1e-9:
        raise DataError(f"{dataset.name}: imbalance ratio {ratio} is below the smallest ratio of this geometry, "
                        f"{layout.smallest_ratio:.1f} (object canvases alone); no ratio below it is reachable")
    if n_empty > n_empty_pool:
        raise DataError(f"{dataset.name}: imbalance ratio {ratio} needs {n_empty} empty canvases, the pool has "
                        f"{n_empty_pool}; the largest reachable ratio is {math.floor(largest)} (raise max_ratio)")
    return np.array([max(n_empty, 0), n_obj])


def _split_of(dataset: Dataset, idx: np.ndarray, mean: float, std: float) -> Split:
    """Canvas rows ``idx`` (pixels standardised by one scalar, mask kept) and their scored labels."""
    layout: Canvases = dataset.dense
    X = np.array(dataset.X[idx], dtype=np.float32, copy=True)
    s2 = layout.locations
    X[:, :s2] = (X[:, :s2] - mean) / std
    targets = layout.targets[idx]
    return Split(X, targets[targets != IGNORE].astype(np.int64))


def prepare_dense(dataset: Dataset, ratio: float, *, seed: int, fractions: tuple[float, float, float],
                  min_test_minority: int, fold: tuple[int, int] | None = None) -> Prepared:
    """The canvases of ``dataset`` at location ratio ``ratio``, split by canvas (stratified by
    "holds objects"), pixels standardised with one scalar mean and deviation of the training
    pixels (per-position statistics would break translation equivariance).

    ``fractions``, ``fold`` and ``min_test_minority`` mean what they mean in
    :func:`datasets.prepare`, counted in canvases for the split and in positive locations for
    the test check.
    """
    if not (isinstance(ratio, (int, float)) and ratio >= 1):
        raise DataError(f"{dataset.name}: imbalance_ratio: expected a number >= 1 for dense data, got {ratio!r}")
    target = _canvas_counts(dataset, ratio)
    if fold is None:
        parts = _split(dataset, target, seed, fractions)
    else:
        parts = _fold_split(dataset, target, seed, fractions, *fold)
        fractions = cv_fractions(fractions, fold[1])
    index = {name: np.sort(np.concatenate(p)) for name, p in parts.items()}
    s2 = dataset.dense.locations
    pixels = dataset.X[index["train"], :s2]
    mean, std = float(pixels.mean()), float(pixels.std()) or 1.0
    splits = {name: _split_of(dataset, idx, mean, std) for name, idx in index.items()}
    test_pos = int(splits["test"].y.sum())
    if test_pos < min_test_minority or int(splits["train"].y.sum()) < 1:
        raise DataError(f"{dataset.name}: imbalance ratio {ratio} leaves {test_pos} positive locations in test "
                        f"(min_test_minority = {min_test_minority}); no ratio is reachable with this pool: "
                        "raise n_object_canvases")
    counts = np.bincount(np.concatenate([s.y for s in splits.values()]), minlength=2)
    fp = fingerprint(*(a for s in splits.values() for a in (s.X, s.y)))
    info = {"counts": counts.tolist(), "prior": float(counts[1] / counts.sum()),
            "dense": {"side": dataset.dense.side, "canvases": target.tolist(),
                      "test_canvases": int(len(index["test"]))}}
    return Prepared(name=dataset.name, ratio=float(counts[0] / counts[1]), n_classes=2, fingerprint=fp, info=info,
                    **splits)
