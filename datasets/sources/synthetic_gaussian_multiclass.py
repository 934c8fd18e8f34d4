"""K isotropic Gaussian classes whose Bayes posterior is known in closed form.

Class k is N(μ_k, I). ``layout="simplex"``: μ_k = (s / √2) e_k, every pair of means at distance
s (needs n_features >= n_classes); ``layout="circle"``: the means on a circle in the first two
features, neighbours at distance s. An imbalance profile only changes the class priors π, so at
every profile the posterior is η_k(x) ∝ π_k N(x; μ_k, I), i.e. softmax_k(x·μ_k - |μ_k|²/2 + log π_k):
the source stores the class log-likelihoods (up to the term shared by all classes) and
:func:`datasets.prepare` adds the prepared priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import DataError, Dataset, Source

NAME = "synthetic/gaussian_multiclass"
LAYOUTS = ("simplex", "circle")


@dataclass(frozen=True)
class GaussianMulticlassParams:
    """n_samples: size of the balanced pool (n_samples // n_classes per class) before imbalance
    is applied; separation: distance between (neighbouring) class means in units of the
    identity covariance; layout: ``simplex`` or ``circle``."""

    n_samples: int = 30000
    n_classes: int = 5
    n_features: int = 10
    separation: float = 3.0
    layout: str = "simplex"

    def check(self) -> None:
        if not isinstance(self.n_classes, int) or self.n_classes < 3:
            raise DataError(f"{NAME}: n_classes: expected an integer >= 3 (synthetic/gaussian is the binary one), got {self.n_classes!r}")
        if not isinstance(self.n_samples, int) or self.n_samples < 10 * self.n_classes:
            raise DataError(f"{NAME}: n_samples: expected an integer >= 10 n_classes = {10 * self.n_classes}, got {self.n_samples!r}")
        if self.layout not in LAYOUTS:
            raise DataError(f"{NAME}: layout: expected one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        least = self.n_classes if self.layout == "simplex" else 2
        if not isinstance(self.n_features, int) or self.n_features < least:
            raise DataError(f"{NAME}: n_features: expected an integer >= {least} for layout {self.layout!r}, got {self.n_features!r}")
        if not isinstance(self.separation, (int, float)) or not self.separation > 0:
            raise DataError(f"{NAME}: separation: expected a number > 0, got {self.separation!r}")


def class_means(params: GaussianMulticlassParams) -> np.ndarray:
    """The class means, shape (n_classes, n_features)."""
    mu = np.zeros((params.n_classes, params.n_features))
    if params.layout == "simplex":
        mu[:, : params.n_classes] = np.eye(params.n_classes) * params.separation / np.sqrt(2.0)
    else:
        angle = 2 * np.pi * np.arange(params.n_classes) / params.n_classes
        radius = params.separation / (2 * np.sin(np.pi / params.n_classes))
        mu[:, 0], mu[:, 1] = radius * np.cos(angle), radius * np.sin(angle)
    return mu


def log_likelihoods(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """log N(x; μ_k, I) up to the term -|x|²/2 - d/2 log 2π shared by all classes, shape (n, C)."""
    return X @ mu.T - 0.5 * np.sum(mu**2, axis=1)


def _load(params: GaussianMulticlassParams, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    per_class = params.n_samples // params.n_classes
    mu = class_means(params)
    y = np.repeat(np.arange(params.n_classes, dtype=np.int64), per_class)
    X = rng.standard_normal((y.size, params.n_features)) + mu[y]
    return Dataset(NAME, X, y, SOURCE.citation, log_likelihoods=log_likelihoods(X, mu))


SOURCE = Source(
    name=NAME,
    params=GaussianMulticlassParams,
    load=_load,
    citation="Generated: K classes N(mu_k, I), means on a simplex or circle; posterior in closed form.",
    description="K isotropic Gaussian classes, known Bayes posterior at every class-prior profile",
)
