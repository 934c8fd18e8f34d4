"""Names declared once: tasks, calibration variants, headline metrics, metric families, and the
method names that are not losses. Plain data, no imports: the schema validates against it, the
pipeline and the report read it.

The metrics themselves (name, direction, kind) are declared in :mod:`harness.metrics`; the
losses in :mod:`loss_zoo`; the methods in :mod:`harness.methods`.
"""

from __future__ import annotations

# -- tasks ----------------------------------------------------------------------------------------
BINARY, MULTICLASS = "binary", "multiclass"


def task_of(n_classes: int) -> str:
    """``binary`` for C = 2, else ``multiclass``."""
    return BINARY if n_classes <= 2 else MULTICLASS


# -- calibration variants (fitted on the validation split only) ------------------------------------
BINARY_VARIANTS = ("raw", "temperature", "closed_form", "isotonic", "logit_adjusted")
MULTICLASS_VARIANTS = ("raw", "temperature", "closed_form", "vector_scaling", "logit_adjusted")
VARIANT_COUNTERPARTS = {"isotonic": "vector_scaling"}  # binary variant -> the multi-class one in its place
ALL_VARIANTS = tuple(dict.fromkeys(BINARY_VARIANTS + MULTICLASS_VARIANTS))

# -- method names that are not losses --------------------------------------------------------------
TUNED = "tuned_loss"  # the loss (and sampler) as a tuned hyperparameter
NO_SAMPLER = "none"  # results column ``sampler`` of a method without resampling
NO_LOSS = "none"  # results column ``loss`` of an ensemble method
#: ``tuned_loss``'s default choices: the six losses of the published sweep, frozen so that a loss added
#: to the zoo later changes neither a published spec's hash nor its results; a spec makes any other
#: registered loss a choice by listing it in ``tuning.tuned_loss.losses``
TUNED_LOSS_DEFAULTS = ("ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce")

# -- headline metrics ------------------------------------------------------------------------------
#: the run's printed summary and the published summary table (binary data)
HEADLINE = ["roc_auc", "average_precision", "f1_val_threshold", "brier", "log_loss", "ece", "true_calibration_error"]
#: the same on multi-class data
HEADLINE_MULTICLASS = ["average_precision_macro", "balanced_accuracy", "tail_accuracy", "top_label_ece",
                       "classwise_ece", "true_calibration_error"]
#: the report's metric-against-ρ panels (binary data; multi-class data uses HEADLINE_MULTICLASS)
FIGURE_METRICS = ["average_precision", "roc_auc", "ece", "brier", "log_loss"]

# -- metric families: what the report decides on, one verdict per family ---------------------------
FAMILIES = {
    "ranking": ("average_precision", "roc_auc"),
    "decisions": ("f1_val_threshold", "mcc_val_threshold"),
    "probabilities": ("ece", "log_loss", "brier"),
}
FAMILIES_MULTICLASS = {  # the same families on multi-class data, decided apart from binary rows
    "ranking": ("average_precision_macro", "roc_auc_macro"),
    "decisions": ("balanced_accuracy", "f1_macro"),
    "probabilities": ("top_label_ece", "log_loss", "brier_multiclass"),
}
