"""Two Gaussian classes whose Bayes posterior is known in closed form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import DataError, Dataset, Source


@dataclass(frozen=True)
class GaussianParams:
    """n_samples: size of the balanced pool (half per class) before imbalance is applied;
    separation: distance between the class means in units of the (identity) covariance."""

    n_samples: int = 20000
    n_features: int = 10
    separation: float = 2.0

    def check(self) -> None:
        if not isinstance(self.n_samples, int) or self.n_samples < 20:
            raise DataError(f"synthetic/gaussian: n_samples: expected an integer >= 20, got {self.n_samples!r}")
        if not isinstance(self.n_features, int) or self.n_features < 1:
            raise DataError(f"synthetic/gaussian: n_features: expected an integer >= 1, got {self.n_features!r}")
        if not isinstance(self.separation, (int, float)) or not self.separation > 0:
            raise DataError(f"synthetic/gaussian: separation: expected a number > 0, got {self.separation!r}")


def _load(params: GaussianParams, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n_pos = params.n_samples // 2
    n_neg = params.n_samples - n_pos
    mu = np.full(params.n_features, params.separation / np.sqrt(params.n_features))
    X = rng.standard_normal((params.n_samples, params.n_features))
    y = np.concatenate([np.zeros(n_neg, dtype=np.int64), np.ones(n_pos, dtype=np.int64)])
    X[n_neg:] += mu
    # log N(x; mu, I) - log N(x; 0, I) = mu.x - |mu|^2 / 2
    llr = X @ mu - 0.5 * float(mu @ mu)
    return Dataset("synthetic/gaussian", X, y, SOURCE.citation, log_likelihood_ratio=llr)



SOURCE = Source(
    name="synthetic/gaussian",
    params=GaussianParams,
    load=_load,
    citation="Generated: N(0, I) vs N(mu, I), |mu| = separation; posterior in closed form.",
    description="two isotropic Gaussian classes, known Bayes posterior",
)
