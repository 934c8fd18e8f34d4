"""Post-hoc calibration variants, each fitted on the validation split only.

- ``raw``: the model's own probabilities;
- ``temperature``: σ(z / T), T minimising validation log loss (Guo et al., ICML 2017);
- ``closed_form``: loss_zoo's posterior correction for the method's loss (identity for CE);
- ``isotonic``: isotonic regression of the labels on the validation probabilities
  (Zadrozny and Elkan, KDD 2002);
- ``logit_adjusted``: post-hoc logit adjustment, z − log(π / (1 − π)) with π the prior the model
  was trained at (Menon et al., ICLR 2021, τ = 1): the posterior at a balanced prior, so its 0.5
  threshold is the balanced-error one. The baseline a weighted loss or a resampler must beat on
  threshold metrics (a constant shift: ranking metrics are those of ``raw``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_expit
from sklearn.isotonic import IsotonicRegression

import loss_zoo
from harness.vocabulary import BINARY_VARIANTS as VARIANTS


class Calibrated(NamedTuple):
    val_prob: np.ndarray
    test_prob: np.ndarray
    test_score: np.ndarray  # for ranking metrics


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T in [e^-5, e^5] minimising the log loss of σ(z / T) on (logits, y)."""
    z = np.asarray(logits, dtype=np.float64)
    s = np.where(np.asarray(y) == 1, 1.0, -1.0)

    def nll(log_t: float) -> float:
        return float(-log_expit(s * z / np.exp(log_t)).mean())

    res = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-8})
    return float(np.exp(res.x))


def calibrate(
    variant: str,
    *,
    loss: str,
    loss_params: Mapping[str, Any],
    val_logits: np.ndarray,
    y_val: np.ndarray,
    test_logits: np.ndarray,
    prior_shift: float = 0.0,
    trained_logit_prior: float = 0.0,
) -> Calibrated | None:
    """Validation and test probabilities under ``variant``, and test ranking scores.

    The scores are the variant's logits where the map is strictly monotone (raw, temperature,
    closed form), so probabilities that round to exactly 0 or 1 cannot create ties in
    ranking metrics; isotonic regression's scores are its probabilities.
    ``prior_shift`` (closed form only) is added to the corrected logits: log-odds of the data's
    training prior minus those of the prior the model was trained at (after resampling), the
    Bayes prior-shift correction (Saerens, Latinne, Decaestecker, Neural Computation 2002).
    ``trained_logit_prior`` (logit_adjusted only): log(π / (1 − π)) of the trained-at prior.
    Returns None when the variant does not apply (a loss without a closed-form correction).
    """
    if variant == "raw":
        return Calibrated(expit(val_logits), expit(test_logits), test_logits)
    if variant == "temperature":
        t = fit_temperature(val_logits, y_val)
        return Calibrated(expit(val_logits / t), expit(test_logits / t), test_logits / t)
    if variant == "closed_form":
        if loss not in loss_zoo.available() or loss_zoo.available()[loss].posterior is None:
            return None
        val = loss_zoo.posterior_logits(loss, val_logits, **loss_params) + prior_shift
        test = loss_zoo.posterior_logits(loss, test_logits, **loss_params) + prior_shift
        return Calibrated(expit(val), expit(test), test)
    if variant == "logit_adjusted":
        val, test = val_logits - trained_logit_prior, test_logits - trained_logit_prior
        return Calibrated(expit(val), expit(test), test)
    if variant == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
        iso.fit(expit(val_logits), y_val)
        test = iso.predict(expit(test_logits))
        return Calibrated(iso.predict(expit(val_logits)), test, test)
    raise ValueError(f"calibration: unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
