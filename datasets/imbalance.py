"""Imbalance control: seeded subsampling to a ratio, per-class splits, standardisation."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .base import DataError, Dataset, Prepared, Split

NATURAL = "natural"


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def _split_sizes(k: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Sizes of (train, validation, test) for a class of k samples."""
    n_test = _round(k * fractions[2])
    n_val = _round(k * fractions[1])
    return k - n_val - n_test, n_val, n_test


def _min_class_size(fractions: tuple[float, float, float], min_test: int) -> int:
    """Smallest class size whose test share reaches ``min_test`` samples (train non-empty)."""
    k = max(1, math.ceil((min_test - 0.5) / fractions[2]))
    while _split_sizes(k, fractions)[2] < min_test or _split_sizes(k, fractions)[0] < 1:
        k += 1
    return k


def natural_ratio(y: np.ndarray) -> float:
    counts = np.bincount(y)
    return float(counts.max() / counts[counts > 0].min())


def largest_reachable_ratio(y: np.ndarray, fractions: tuple[float, float, float], min_test: int) -> float:
    """The largest ρ = n_majority / n_minority that keeps ``min_test`` samples of the smallest
    class in test; 0.0 when no ratio can (the smallest class itself is too small)."""
    counts = np.sort(np.bincount(y)[np.bincount(y) > 0])[::-1]
    need = _min_class_size(fractions, min_test)
    if counts.size == 2:
        return float(counts[0] / need) if counts[1] >= need else 0.0
    # long-tailed profile: class of rank k gets n_max · ρ^(-k/(C-1)); the smallest must reach `need`
    best = 0.0
    for rho in np.exp(np.linspace(0, np.log(counts[0]), 2000)):
        target = _long_tail_counts(counts, rho)
        if target[-1] >= need:
            best = max(best, float(target[0] / target[-1]))
    return best


def class_counts_at_ratio(counts: np.ndarray, ratio: float | str) -> np.ndarray:
    """Binary class counts (negative, positive) after reaching ``ratio`` by subsampling.

    The positive class (1) is the minority. Above the natural ratio the minority is
    subsampled; below it, the majority.
    """
    n_maj, n_min = int(counts[0]), int(counts[1])
    if ratio == NATURAL:
        return np.array([n_maj, n_min])
    natural = n_maj / n_min
    if ratio >= natural:
        return np.array([n_maj, max(1, _round(n_maj / ratio))])
    return np.array([max(1, _round(n_min * ratio)), n_min])


def _long_tail_counts(available: np.ndarray, ratio: float) -> np.ndarray:
    """Counts n_k = n_max · ρ^(-k/(C-1)) for classes ranked by size (available sorted
    descending), n_max as large as the available samples allow (the CIFAR-LT convention)."""
    c = available.size
    decay = ratio ** (-np.arange(c) / (c - 1))
    n_max = np.min(available / decay)
    return np.clip(np.round(n_max * decay), 1, available).astype(np.int64)


def fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of the arrays' dtypes, shapes and bytes: equal fingerprints, identical data."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def prepare(
    dataset: Dataset,
    ratio: float | str,
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    min_test_minority: int = 10,
) -> Prepared:
    """Subsample ``dataset`` to imbalance ``ratio``, split per class and standardise.

    Parameters
    ----------
    dataset : Dataset
        Binary (positive (1) = minority) or multi-class.
    ratio : float >= 1 or "natural"
        n_majority / n_minority, held in train, validation and test (within rounding).
        Multi-class: the long-tailed profile n_k = n_max · ρ^(-k/(C-1)) over the classes
        ranked by natural size, so the largest class has ρ times the smallest.
    seed : int
        Seeds the subsample and the split.
    fractions : (train, validation, test)
    min_test_minority : int
        Fewer minority samples in test raise :class:`DataError` naming the largest reachable ratio.
    """
    if ratio != NATURAL and not (isinstance(ratio, (int, float)) and ratio >= 1):
        raise DataError(f"{dataset.name}: imbalance_ratio: expected a number >= 1 or 'natural', got {ratio!r}")
    n_classes = dataset.n_classes
    counts = np.bincount(dataset.y, minlength=max(n_classes, 2))
    if (counts == 0).any():
        raise DataError(f"{dataset.name}: expected every class 0..{len(counts) - 1} present, got counts {counts.tolist()}")
    if n_classes == 2:
        target = class_counts_at_ratio(counts, ratio)
    elif ratio == NATURAL:
        target = counts.copy()
    else:  # long-tailed profile over the classes ranked by their natural size
        order = np.argsort(-counts, kind="stable")
        target = np.empty_like(counts)
        target[order] = _long_tail_counts(counts[order], float(ratio))
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for c in range(len(counts)):
        members = np.flatnonzero(dataset.y == c)
        chosen = rng.permutation(members)[: target[c]]
        n_train, n_val, _ = _split_sizes(len(chosen), fractions)
        parts["train"].append(chosen[:n_train])
        parts["validation"].append(chosen[n_train : n_train + n_val])
        parts["test"].append(chosen[n_train + n_val :])
    smallest = int(np.argmin(target))
    n_test_minority = len(parts["test"][smallest])
    if n_test_minority < min_test_minority or len(parts["train"][smallest]) < 1:
        reachable = largest_reachable_ratio(dataset.y, fractions, min_test_minority)
        largest = (f"the largest reachable ratio is {math.floor(reachable * 100) / 100}" if reachable >= 1
                   else "no ratio is reachable: the smallest class is too small (lower min_test_minority)")
        raise DataError(
            f"{dataset.name}: imbalance ratio {ratio} leaves {n_test_minority} minority samples in test "
            f"(min_test_minority = {min_test_minority}); {largest}"
        )
    index = {name: np.sort(np.concatenate(p)) for name, p in parts.items()}
    mean = dataset.X[index["train"]].mean(axis=0)
    std = dataset.X[index["train"]].std(axis=0)
    std[std == 0] = 1.0
    prior = target[1] / target.sum()
    splits = {}
    for name, idx in index.items():
        posterior = None
        if dataset.log_likelihood_ratio is not None and n_classes == 2:
            logit = dataset.log_likelihood_ratio[idx] + math.log(prior / (1 - prior))
            posterior = 1.0 / (1.0 + np.exp(-logit))
        splits[name] = Split(((dataset.X[idx] - mean) / std), dataset.y[idx].copy(), posterior)
    fp = fingerprint(*(a for s in splits.values() for a in (s.X, s.y)))
    realised = float(target.max() / target.min())
    return Prepared(
        name=dataset.name,
        ratio=realised,
        n_classes=len(counts),
        fingerprint=fp,
        info={"counts": target.tolist(), "prior": float(prior)},
        **splits,
    )
