"""harness: the pipeline of the suite, in layers (see docs/architecture.md).

The names below load on first use, so that reading results (``harness.report``) imports neither torch nor Optuna.
"""

from __future__ import annotations

import importlib

from harness import _checkout  # noqa: F401  (must come first: makes `datasets` importable)

_LAZY = {
    "Cell": "plan.cells", "expand": "plan.cells", "LossClassifier": "estimators.loss_classifier",
    "LightGBMLossClassifier": "estimators.lightgbm_classifier", "Outcome": "running.benchmark",
    "run_benchmark": "running.benchmark", "Spec": "spec.schema", "load_spec": "plan.checks",
    "parse_spec": "plan.checks", "UserError": "errors",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Cell", "LightGBMLossClassifier", "LossClassifier", "Outcome", "Spec", "UserError", "expand", "load_spec", "parse_spec", "run_benchmark"]
