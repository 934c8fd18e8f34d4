"""harness: spec, methods, training, tuning, metrics, tracking and results of the suite."""

from . import _checkout  # noqa: F401  (must come first: makes `datasets` importable)
from .benchmark import Outcome, run_benchmark
from .cells import Cell, expand
from .errors import UserError
from .estimator import LossClassifier
from .spec import Spec, load_spec, parse_spec

__all__ = ["Cell", "LossClassifier", "Outcome", "Spec", "UserError", "expand", "load_spec", "parse_spec", "run_benchmark"]
