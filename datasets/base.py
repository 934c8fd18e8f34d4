"""Plain data types passed between the catalogue, imbalance control and the harness."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


class DataError(ValueError):
    """A user-facing data problem: the message is one line naming the dataset and the value."""


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset before any imbalance is applied.

    Attributes
    ----------
    name : str
        Catalogue name, e.g. ``synthetic/gaussian``.
    X : ndarray of float64, shape (n, d)
    y : ndarray of int64, shape (n,)
        Binary data use 1 for the positive (minority) class.
    citation : str
    log_likelihood_ratio : ndarray of float64, shape (n,), optional
        ``log p(x | y=1) - log p(x | y=0)`` where the generating process is known; the Bayes
        posterior at class prior π is then ``sigmoid(llr + log(π / (1 - π)))``.
    kinds : (int, int), optional
        (numeric, categorical) counts of the original columns before one-hot encoding;
        None: every column of ``X`` is numeric.
    log_likelihoods : ndarray of float64, shape (n, C), optional
        Multi-class: ``log p(x | y=k)`` up to a term shared by all classes, where the generating
        process is known; the Bayes posterior at class priors π is ``softmax(ll + log π)``.
    image_shape : (channels, height, width), optional
        Images: each row of ``X`` is one image flattened in C order, so ``X[i].reshape(image_shape)``
        is image i; ``channels * height * width == d``. None: tabular rows.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    citation: str
    log_likelihood_ratio: np.ndarray | None = None
    log_likelihoods: np.ndarray | None = None
    kinds: tuple[int, int] | None = None
    image_shape: tuple[int, int, int] | None = None
    dense: Any = None  # a datasets.dense.Canvases: canvas rows and per-location targets (see that module)

    @property
    def feature_kinds(self) -> tuple[int, int]:
        """(numeric, categorical) original columns."""
        return self.kinds if self.kinds is not None else (int(self.X.shape[1]), 0)

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1


@dataclass(frozen=True)
class Info:
    """What a fixed dataset holds, known without loading it (checked against the files by a test).

    Attributes
    ----------
    rows : int
    numeric, categorical : int
        Original columns of each kind (categorical ones are one-hot encoded on loading).
    class_counts : tuple of int
        Samples per class label 0..C-1 (binary: negative, positive).
    largest : float, optional
        The largest reachable ratio where the class counts do not decide it (dense canvases:
        the pool's empty canvases do); None: computed from the counts.
    """

    rows: int
    numeric: int
    categorical: int
    class_counts: tuple[int, ...]
    largest: float | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_counts)

    @property
    def task(self) -> str:
        return "binary" if self.n_classes == 2 else "multiclass"

    @property
    def natural_ratio(self) -> float:
        return max(self.class_counts) / min(self.class_counts)


@dataclass(frozen=True)
class Source:
    """One catalogue entry: a name, a parameter dataclass and a loader.

    ``load(params, seed)`` returns a :class:`Dataset`; ``seed`` only matters for generated data.
    ``collection`` groups entries for specs and filters (e.g. ``keel-binary``); ``info``
    describes a fixed dataset without loading it (None: load the defaults to describe it).
    """

    name: str
    params: type
    load: Callable[[Any, int], Dataset]
    citation: str
    description: str
    collection: str = ""
    info: Info | None = None

    def make_params(self, values: Mapping[str, Any] | None):
        """Validate ``values`` against the parameter dataclass; unknown keys name the known ones."""
        values = dict(values or {})
        known = [f.name for f in fields(self.params)]
        for key in values:
            if key not in known:
                raise DataError(
                    f"{self.name}: unknown parameter {key!r}; known: {', '.join(known) or 'none'}"
                )
        try:
            params = self.params(**values)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{self.name}: {exc}") from None
        check = getattr(params, "check", None)
        if check is not None:
            check()
        return params


@dataclass(frozen=True)
class Split:
    """One split of a prepared dataset."""

    X: np.ndarray
    y: np.ndarray
    posterior: np.ndarray | None = None  # true P(y = 1 | x) (n,), or P(y = k | x) (n, C) multi-class

    def counts(self, n_classes: int) -> list[int]:
        return np.bincount(self.y, minlength=n_classes).tolist()


@dataclass(frozen=True)
class Prepared:
    """A dataset at one imbalance ratio, split, standardised and fingerprinted.

    ``image_shape`` is the dataset's (channels, height, width) when its rows are flattened images
    (:attr:`Dataset.image_shape`), else None.
    """

    name: str
    ratio: float
    n_classes: int
    train: Split
    validation: Split
    test: Split
    fingerprint: str
    info: dict = field(default_factory=dict)
    image_shape: tuple[int, int, int] | None = None

    @property
    def n_features(self) -> int:
        return int(self.train.X.shape[1])
