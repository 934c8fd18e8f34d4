"""Resampling baselines from imbalanced-learn, applied to the training split only.

Each sampler declares its search space in one place. ``<name>_balance`` ∈ [0, 1] sets the
minority : majority ratio after resampling on a scale that is valid at every imbalance:
0 keeps the training ratio r, 1 balances the classes, in between r + balance · (1 - r).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from harness.space import INF, Dist, Float, Int


@dataclass(frozen=True)
class Sampler:
    """A named imbalanced-learn sampler: its search space and a factory.

    ``make(strategy, k_neighbors, seed)`` returns the imblearn object; ``k_neighbors`` is None
    for samplers without neighbours.
    """

    name: str
    make: Callable[[float, int | None, int], Any]
    neighbours: bool

    @property
    def space(self) -> dict[str, Dist]:
        space: dict[str, Dist] = {f"{self.name}_balance": Float(0.0, 1.0, valid=(0.0, 1.0))}
        if self.neighbours:
            space[f"{self.name}_k_neighbors"] = Int(1, 10, valid=(1, INF))
        return space


_SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in (
        Sampler("random_over", lambda r, k, seed: RandomOverSampler(sampling_strategy=r, random_state=seed), False),
        Sampler("random_under", lambda r, k, seed: RandomUnderSampler(sampling_strategy=r, random_state=seed), False),
        Sampler("smote", lambda r, k, seed: SMOTE(sampling_strategy=r, k_neighbors=k, random_state=seed), True),
        Sampler("adasyn", lambda r, k, seed: ADASYN(sampling_strategy=r, n_neighbors=k, random_state=seed), True),
        Sampler("borderline_smote",
                lambda r, k, seed: BorderlineSMOTE(sampling_strategy=r, k_neighbors=k, random_state=seed), True),
        Sampler("smote_tomek", lambda r, k, seed: SMOTETomek(
            sampling_strategy=r, smote=SMOTE(sampling_strategy=r, k_neighbors=k, random_state=seed),
            random_state=seed), True),
        Sampler("smote_enn", lambda r, k, seed: SMOTEENN(
            sampling_strategy=r, smote=SMOTE(sampling_strategy=r, k_neighbors=k, random_state=seed),
            random_state=seed), True),
    )
}


def available() -> dict[str, Sampler]:
    return dict(_SAMPLERS)


def resample(name: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *, seed: int):
    """Resample the training split (X, y) with sampler ``name``; returns (X', y').

    Binary, positive (1) = minority. A balance that does not raise the minority share, or a
    minority too small for neighbours, returns the data unchanged. Multi-class (C > 2): the
    same balance per class (:func:`_multiclass_targets`).
    """
    sampler = _SAMPLERS[name]
    if y.max() > 1:
        return _resample_multiclass(sampler, params, X, y, seed=seed)
    n_neg, n_pos = np.bincount(y, minlength=2)[:2]
    r = n_pos / n_neg
    target = r + float(params[f"{name}_balance"]) * (1.0 - r)
    if target <= r * (1 + 1e-9) or n_pos < 2:
        return X, y
    if name not in _UNDER and int(n_neg * min(target, 1.0) - n_pos) <= 0:
        return X, y  # not one new sample: imbalanced-learn would raise
    k = None
    if sampler.neighbours:
        k = int(min(params[f"{name}_k_neighbors"], n_pos - 1))
    try:
        X_res, y_res = sampler.make(min(target, 1.0), k, seed).fit_resample(X, y)
    except ValueError as exc:  # ADASYN's own rounding of its per-sample counts can create none
        if "No samples will be generated" in str(exc):
            return X, y
        raise
    return np.asarray(X_res, dtype=np.float64), np.asarray(y_res, dtype=np.int64)


_UNDER = {"random_under"}  # samplers that lower the larger classes; the others raise the smaller ones


def _multiclass_targets(name: str, balance: float, counts: np.ndarray) -> dict[int, int]:
    """Per-class target counts of ``<name>_balance`` = b for C > 2, the binary scale per class:
    over-samplers raise each class to n_k + b · (n_max − n_k), under-samplers lower each to
    n_k − b · (n_k − n_min); only the classes that change are listed."""
    if name in _UNDER:
        target = np.rint(counts - balance * (counts - counts.min())).astype(int)
        return {k: int(t) for k, t in enumerate(target) if t < counts[k]}
    target = np.rint(counts + balance * (counts.max() - counts)).astype(int)
    return {k: int(t) for k, t in enumerate(target) if t > counts[k]}


def _resample_multiclass(sampler: Sampler, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, *, seed: int):
    """:func:`resample` for C > 2 classes, with a per-class ``sampling_strategy`` dict. Classes
    too small for neighbours (fewer than 2 samples) stay as they are."""
    counts = np.bincount(y)
    strategy = _multiclass_targets(sampler.name, float(params[f"{sampler.name}_balance"]), counts)
    k = None
    if sampler.neighbours:
        strategy = {c: t for c, t in strategy.items() if counts[c] >= 2}
        k = int(min([params[f"{sampler.name}_k_neighbors"], *(counts[c] - 1 for c in strategy)]))
    if not strategy:
        return X, y
    X_res, y_res = sampler.make(strategy, k, seed).fit_resample(X, y)
    return np.asarray(X_res, dtype=np.float64), np.asarray(y_res, dtype=np.int64)
