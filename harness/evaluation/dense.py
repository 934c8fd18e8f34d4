"""The dense task's scores of one evaluated fit, beside the location-level metrics every cell has:
object-level AP on the test canvases' full logit maps, and the fit's mechanism probes."""

from __future__ import annotations

import numpy as np

import datasets
from datasets.dense import canvas_targets, full_mask
from harness.learners import Fitted
from harness.metrics import dense as metrics_dense
from harness.store.records import RepetitionRecord


def dense_scores(prepared: datasets.Prepared, fitted: Fitted) -> dict[str, float]:
    """``object_average_precision`` of the test canvases (peaks of every location's logit, the
    ignored ones included: a detector scores them too) and the fit's probes."""
    test = prepared.test
    side = prepared.info["dense"]["side"]
    maps = fitted.predict_logits(full_mask(test.X)).reshape(-1, side, side)
    centres = metrics_dense.object_centres(canvas_targets(test.X, test.y).reshape(-1, side, side))
    return {"object_average_precision": metrics_dense.object_average_precision(maps, centres),
            **fitted.report.probes}


def add_dense_scores(record: RepetitionRecord, prepared: datasets.Prepared, fitted: Fitted) -> None:
    """Put :func:`dense_scores` under every calibration variant of ``record`` (peaks and probes do
    not depend on a monotone recalibration), so any variant's rows carry them."""
    scores = {k: v for k, v in dense_scores(prepared, fitted).items() if np.isfinite(v)}
    for variant in record.metrics:
        record.metrics[variant].update(scores)
