"""datasets: the catalogue of imbalanced-classification data, all offline.

Importable from the checkout only (the folder is not installed as a top-level package, so it
never shadows Hugging Face's ``datasets``). Each source lives in one module under
``datasets/sources`` and exposes ``SOURCE`` (or ``SOURCES`` for a family); the registry discovers them.
"""

from __future__ import annotations

from . import catalogue
from .base import DataError, Dataset, Info, Prepared, Source, Split
from .imbalance import NATURAL, cv_fractions, fingerprint, largest_reachable_ratio, natural_ratio
from .preparation import prepare
from .registry import available, check_dataset, get_source, load

__all__ = [
    "NATURAL",
    "DataError",
    "Dataset",
    "Prepared",
    "Source",
    "Split",
    "Info",
    "available",
    "catalogue",
    "check_dataset",
    "fingerprint",
    "get_source",
    "cv_fractions",
    "largest_reachable_ratio",
    "load",
    "natural_ratio",
    "prepare",
]
