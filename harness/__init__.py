"""harness: spec, methods, training, tuning, metrics, tracking and results of the suite.

The names below load on first use, so that reading results (``harness.report``,
``harness.gate``) imports neither torch nor Optuna.
"""

from __future__ import annotations

import importlib

from . import _checkout  # noqa: F401  (must come first: makes `datasets` importable)

_LAZY = {
    "Cell": "cells", "expand": "cells", "LossClassifier": "estimator", "LightGBMLossClassifier": "lightgbm_estimator", "Outcome": "benchmark",
    "run_benchmark": "benchmark", "Spec": "spec", "load_spec": "spec", "parse_spec": "spec",
    "UserError": "errors",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Cell", "LightGBMLossClassifier", "LossClassifier", "Outcome", "Spec", "UserError", "expand", "load_spec", "parse_spec", "run_benchmark"]
