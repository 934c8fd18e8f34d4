"""Imbalance control: seeded subsampling to a ratio, per-class splits, standardisation."""

from __future__ import annotations

import hashlib
import math

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .base import DataError, Dataset, Prepared, Split

NATURAL = "natural"
LONG_TAILED, STEP = "long_tailed", "step"
PROFILES = (LONG_TAILED, STEP, NATURAL)  # multi-class; binary data have one ratio, no profile


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def _split_sizes(k: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Sizes of (train, validation, test) for a class of k samples."""
    n_test = _round(k * fractions[2])
    n_val = _round(k * fractions[1])
    return k - n_val - n_test, n_val, n_test


def _min_class_size(fractions: tuple[float, float, float], min_test: int, folds: int | None = None) -> int:
    """Smallest class size whose test share reaches ``min_test`` samples (train non-empty); with
    ``folds``, in every one of the K test folds (the smallest holds ⌊k / K⌋)."""
    if folds is not None:
        return folds * max(min_test, 1)
    k = max(1, math.ceil((min_test - 0.5) / fractions[2]))
    while _split_sizes(k, fractions)[2] < min_test or _split_sizes(k, fractions)[0] < 1:
        k += 1
    return k


def natural_ratio(y: np.ndarray) -> float:
    counts = np.bincount(y)
    return float(counts.max() / counts[counts > 0].min())


def largest_reachable_ratio(y: np.ndarray, fractions: tuple[float, float, float], min_test: int, *,
                            profile: str = LONG_TAILED, minority_fraction: float = 0.5,
                            folds: int | None = None) -> float:
    """The largest ρ = n_majority / n_minority that keeps ``min_test`` samples of the smallest
    class in test (with ``folds``: in every test fold; multi-class: under ``profile``); 0.0 when
    no ratio can (the smallest class itself is too small)."""
    counts = np.sort(np.bincount(y)[np.bincount(y) > 0])[::-1]
    need = _min_class_size(fractions, min_test, folds)
    if counts.size == 2:
        return float(counts[0] / need) if counts[1] >= need else 0.0
    if profile == NATURAL:
        return float(counts[0] / counts[-1]) if counts[-1] >= need else 0.0
    # the class of the smallest target count must reach `need`
    best = 0.0
    for rho in np.exp(np.linspace(0, np.log(counts[0]), 2000)):
        target = _profile_counts(counts, rho, profile, minority_fraction)
        if target.min() >= need:
            best = max(best, float(target.max() / target.min()))
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


def n_minority_classes(n_classes: int, minority_fraction: float) -> int:
    """How many classes the step profile makes minority: round(μ C), at least 1, at most C - 1."""
    return int(min(max(_round(minority_fraction * n_classes), 1), n_classes - 1))


def _step_counts(available: np.ndarray, ratio: float, minority_fraction: float) -> np.ndarray:
    """Step imbalance (Buda, Maki, Mazurowski, Neural Networks 2018): the last round(μ C) classes
    (available sorted descending) get n_max / ρ samples, the others n_max, n_max as large as the
    available samples allow."""
    n_min = n_minority_classes(available.size, minority_fraction)
    decay = np.where(np.arange(available.size) < available.size - n_min, 1.0, 1.0 / ratio)
    n_max = np.min(available / decay)
    return np.clip(np.round(n_max * decay), 1, available).astype(np.int64)


def _profile_counts(available: np.ndarray, ratio: float, profile: str, minority_fraction: float) -> np.ndarray:
    """Target counts of the classes ranked by size (``available`` sorted descending)."""
    if profile == STEP:
        return _step_counts(available, ratio, minority_fraction)
    return _long_tail_counts(available, ratio)


def fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of the arrays' dtypes, shapes and bytes: equal fingerprints, identical data."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _check_profile(name: str, ratio: float | str, profile: str, minority_fraction: float) -> None:
    if profile not in PROFILES:
        raise DataError(f"{name}: profile: unknown name {profile!r}; known: {', '.join(PROFILES)}")
    if profile == NATURAL and ratio != NATURAL:
        raise DataError(f"{name}: profile 'natural' keeps the natural counts; expected imbalance_ratio 'natural', got {ratio!r}")
    if not (isinstance(minority_fraction, (int, float)) and 0 < minority_fraction < 1):
        raise DataError(f"{name}: minority_fraction: expected a number in (0, 1), got {minority_fraction!r}")


def _target_counts(dataset: Dataset, counts: np.ndarray, ratio: float | str, profile: str,
                   minority_fraction: float) -> np.ndarray:
    """Per-class sample counts after imbalance control (index = class)."""
    if dataset.n_classes == 2:
        return class_counts_at_ratio(counts, ratio)
    small = np.flatnonzero(counts < 2)
    if small.size:
        raise DataError(f"{dataset.name}: class {int(small[0])} has {int(counts[small[0]])} sample; expected at least 2 per class: no ratio is reachable")
    if ratio == NATURAL:
        return counts.copy()
    order = np.argsort(-counts, kind="stable")  # the profile runs over the classes ranked by natural size
    target = np.empty_like(counts)
    target[order] = _profile_counts(counts[order], float(ratio), profile, minority_fraction)
    return target


def _too_few_in_test(dataset: Dataset, ratio, profile: str, minority_fraction: float, target: np.ndarray,
                     parts: dict[str, list[np.ndarray]], fractions, min_test: int,
                     folds: int | None = None) -> str | None:
    """The error message when a class keeps fewer than ``min_test`` test samples (with ``folds``:
    in its smallest test fold, so every fold of a cell is reachable or none is) or no training
    sample, else None. Binary data name the minority; multi-class data the class and profile."""
    tested = [len(p) for p in parts["test"]] if folds is None else [int(n) // folds for n in target]
    short = [c for c in range(len(target)) if tested[c] < min_test or len(parts["train"][c]) < 1]
    if dataset.n_classes == 2:
        short = [int(np.argmin(target))] if int(np.argmin(target)) in short else []
    if not short:
        return None
    c = short[0]
    reachable = largest_reachable_ratio(dataset.y, fractions, min_test, profile=profile,
                                        minority_fraction=minority_fraction, folds=folds)
    largest = (f"the largest reachable ratio is {math.floor(reachable * 100) / 100}" if reachable >= 1
               else "no ratio is reachable: the smallest class is too small (lower min_test_minority)")
    where = "test" if folds is None else f"the smallest of {folds} test folds"
    if dataset.n_classes == 2:
        return (f"{dataset.name}: imbalance ratio {ratio} leaves {tested[c]} minority samples in {where} "
                f"(min_test_minority = {min_test}); {largest}")
    return (f"{dataset.name}: imbalance ratio {ratio} with profile {profile!r} leaves "
            f"{tested[c]} samples of class {c} in {where} (min_test_minority = {min_test}); {largest}")


def _posterior(dataset: Dataset, idx: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The Bayes posterior at the prepared class prior: binary P(y = 1 | x) (N,), multi-class (N, C)."""
    if dataset.n_classes == 2 and dataset.log_likelihood_ratio is not None:
        prior = target[1] / target.sum()
        logit = dataset.log_likelihood_ratio[idx] + math.log(prior / (1 - prior))
        return 1.0 / (1.0 + np.exp(-logit))
    if dataset.n_classes > 2 and dataset.log_likelihoods is not None:
        z = dataset.log_likelihoods[idx] + np.log(target / target.sum())
        z -= z.max(axis=1, keepdims=True)
        eta = np.exp(z)
        return eta / eta.sum(axis=1, keepdims=True)
    return None


def _capped(target: np.ndarray, max_rows: int | None) -> np.ndarray:
    """Class counts scaled down alike to at most ``max_rows`` in all (each class keeps one)."""
    if max_rows is None or target.sum() <= max_rows:
        return target
    scaled = np.floor(target * (max_rows / target.sum()))
    return np.maximum(scaled, 1).astype(target.dtype)


def cv_fractions(fractions: tuple[float, float, float], folds: int) -> tuple[float, float, float]:
    """The (train, validation, test) shares of one fold of ``folds``-fold cross-validation: test
    1/K, the rest cut into train and validation in the proportion of ``fractions``' first two."""
    rest = 1.0 - 1.0 / folds
    share = fractions[0] / (fractions[0] + fractions[1])
    return rest * share, rest * (1.0 - share), 1.0 / folds


def _subsample(dataset: Dataset, target: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Each class's seeded subsample of ``target[c]`` samples, in random order."""
    return [rng.permutation(np.flatnonzero(dataset.y == c))[: target[c]] for c in range(len(target))]


def _split(dataset: Dataset, target: np.ndarray, seed: int, fractions) -> dict[str, list[np.ndarray]]:
    """Each class's seeded subsample of ``target[c]`` samples, cut into train / validation / test."""
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for chosen in _subsample(dataset, target, np.random.default_rng(seed)):
        n_train, n_val, _ = _split_sizes(len(chosen), fractions)
        parts["train"].append(chosen[:n_train])
        parts["validation"].append(chosen[n_train : n_train + n_val])
        parts["test"].append(chosen[n_train + n_val :])
    return parts


def _fold_split(dataset: Dataset, target: np.ndarray, seed: int, fractions, fold: int,
                folds: int) -> dict[str, list[np.ndarray]]:
    """Fold ``fold`` of a stratified ``folds``-fold partition of the seeded subsample (the same
    subsample and partition for every fold of one seed) as test; the other folds cut per class
    into train and validation in the proportion of ``fractions``' first two."""
    rng = np.random.default_rng(seed)
    chosen = _subsample(dataset, target, rng)
    if min(len(c) for c in chosen) < folds:  # a class cannot be in every fold: no test sample of it (refused)
        return {"train": chosen, "validation": [c[:0] for c in chosen], "test": [c[:0] for c in chosen]}
    members = np.concatenate(chosen)
    labels = dataset.y[members]
    kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
    _, test_at = list(kfold.split(np.zeros(len(members)), labels))[fold]
    in_test = np.zeros(len(members), dtype=bool)
    in_test[test_at] = True
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    share = fractions[1] / (fractions[0] + fractions[1])
    for c, picked in enumerate(chosen):
        test = np.isin(picked, members[in_test & (labels == c)])
        rest = picked[~test]  # still in random order
        n_val = _round(len(rest) * share)
        parts["train"].append(rest[: len(rest) - n_val])
        parts["validation"].append(rest[len(rest) - n_val :])
        parts["test"].append(picked[test])
    return parts


def _parts(dataset: Dataset, target: np.ndarray, seed: int, fractions, fold) -> dict[str, list[np.ndarray]]:
    """The holdout split (``fold`` None) or fold (f, K) of the K-fold partition, checked."""
    if fold is None:
        return _split(dataset, target, seed, fractions)
    if not (isinstance(fold, tuple) and len(fold) == 2 and 0 <= fold[0] < fold[1] and fold[1] >= 2):
        raise DataError(f"{dataset.name}: fold: expected (f, K) with K >= 2 and 0 <= f < K, got {fold!r}")
    return _fold_split(dataset, target, seed, fractions, *fold)


def _standardised(dataset: Dataset, parts: dict[str, list[np.ndarray]], target: np.ndarray) -> dict[str, Split]:
    """Each split's rows (in index order), standardised with the training split's statistics."""
    index = {name: np.sort(np.concatenate(p)) for name, p in parts.items()}
    mean = dataset.X[index["train"]].mean(axis=0)
    std = dataset.X[index["train"]].std(axis=0)
    std[std == 0] = 1.0
    return {name: Split(((dataset.X[idx] - mean) / std), dataset.y[idx].copy(), _posterior(dataset, idx, target))
            for name, idx in index.items()}


def prepare(
    dataset: Dataset,
    ratio: float | str,
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    min_test_minority: int = 10,
    profile: str = LONG_TAILED,
    minority_fraction: float = 0.5,
    max_rows: int | None = None,
    fold: tuple[int, int] | None = None,
) -> Prepared:
    """Subsample ``dataset`` to imbalance ``ratio``, split per class and standardise.

    Parameters
    ----------
    dataset : Dataset
        Binary (positive (1) = minority) or multi-class.
    ratio : float >= 1 or "natural"
        n_majority / n_minority, held in train, validation and test (within rounding).
    seed : int
        Seeds the subsample and the split.
    fractions : (train, validation, test)
    min_test_minority : int
        Fewer test samples of the minority (multi-class: of any class) raise :class:`DataError`
        naming the class, the profile and the largest reachable ratio.
    profile : {"long_tailed", "step", "natural"}, default "long_tailed"
        Multi-class only (binary data ignore it), over the classes ranked by natural size:
        ``long_tailed`` n_k = n_max · ρ^(-k/(C-1)) (Cui et al. 2019); ``step`` the
        round(μ C) smallest classes get n_max / ρ, the others n_max (Buda et al. 2018);
        ``natural`` the counts as they are (ratio "natural").
    minority_fraction : float in (0, 1), default 0.5
        μ of the step profile: the fraction of classes that are minority (at least one, not all).
    max_rows : int, optional
        A cap on the rows kept (train + validation + test): above it every class is scaled down
        alike, so the ratio holds (within rounding). None: no cap.
    fold : (f, K), optional
        Test = fold f of a stratified K-fold partition of the subsample (the same for every f of
        one seed); train and validation share the rest as ``fractions``' first two. None: holdout.
    """
    if ratio != NATURAL and not (isinstance(ratio, (int, float)) and ratio >= 1):
        raise DataError(f"{dataset.name}: imbalance_ratio: expected a number >= 1 or 'natural', got {ratio!r}")
    if dataset.n_classes > 2:
        _check_profile(dataset.name, ratio, profile, minority_fraction)
    counts = np.bincount(dataset.y, minlength=max(dataset.n_classes, 2))
    if (counts == 0).any():
        raise DataError(f"{dataset.name}: expected every class 0..{len(counts) - 1} present, got counts {counts.tolist()}")
    target = _capped(_target_counts(dataset, counts, ratio, profile, minority_fraction), max_rows)
    parts, folds = _parts(dataset, target, seed, fractions, fold), None if fold is None else fold[1]
    fractions = fractions if folds is None else cv_fractions(fractions, folds)
    error = _too_few_in_test(dataset, ratio, profile, minority_fraction, target, parts, fractions, min_test_minority,
                             folds)
    if error:
        raise DataError(error)
    splits = _standardised(dataset, parts, target)
    fp = fingerprint(*(a for s in splits.values() for a in (s.X, s.y)))
    info = {"counts": target.tolist(), "prior": float(target[1] / target.sum()),
            **({"profile": NATURAL if ratio == NATURAL else profile} if dataset.n_classes > 2 else {})}
    return Prepared(name=dataset.name, ratio=float(target.max() / target.min()), n_classes=len(counts),
                    fingerprint=fp, info=info, **splits)
