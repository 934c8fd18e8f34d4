"""Class-weight schemes for weighted losses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SCHEMES = ("inverse_frequency", "effective_number")


def class_weights(
    counts: Sequence[int], *, scheme: str = "inverse_frequency", beta: float = 1.0
) -> list[float]:
    r"""Per-class weights from training-class counts, normalised so that Σ_c w_c n_c = N.

    - ``inverse_frequency``: :math:`w_c \propto (N / n_c)^{\beta}`, β ∈ [0, 1];
      β = 0 gives equal weights (plain cross-entropy), β = 1 full inverse frequency.
    - ``effective_number``: :math:`w_c \propto (1 - \beta) / (1 - \beta^{n_c})`, β ∈ [0, 1)
      (Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on Effective Number of
      Samples", CVPR 2019); β = 0 gives equal weights.

    The normalisation keeps the average per-sample weight at 1, so the loss scale, and with
    it a good learning rate, does not move with the imbalance ratio.

    Parameters
    ----------
    counts : sequence of int, each >= 1
    scheme : {"inverse_frequency", "effective_number"}
    beta : float
    """
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or n.size < 2 or not np.all(n >= 1):
        raise ValueError(f"counts: expected >= 2 class counts, each >= 1, got {list(counts)}")
    if scheme == "inverse_frequency":
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta: expected a value in [0, 1] for inverse_frequency, got {beta!r}")
        w = (n.sum() / n) ** beta
    elif scheme == "effective_number":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta: expected a value in [0, 1) for effective_number, got {beta!r}")
        w = (1.0 - beta) / -np.expm1(n * np.log(beta)) if beta > 0 else np.ones_like(n)
    else:
        raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    w = w * n.sum() / (w * n).sum()
    return [float(v) for v in w]
