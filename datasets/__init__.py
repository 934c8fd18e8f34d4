"""datasets: the catalogue of imbalanced-classification data, all offline.

Importable from the checkout only (the folder is not installed as a top-level package, so it
never shadows Hugging Face's ``datasets``). Each source lives in one module under
``datasets/sources`` and exposes ``SOURCE`` (or ``SOURCES`` for a family); the registry discovers them.
"""

from __future__ import annotations

import importlib
import pkgutil
from difflib import get_close_matches
from typing import Any

from . import sources as _sources
from .base import DataError, Dataset, Prepared, Source, Split
from .imbalance import NATURAL, fingerprint, largest_reachable_ratio, natural_ratio, prepare


def _discover() -> dict[str, Source]:
    found = {}
    for info in pkgutil.iter_modules(_sources.__path__):
        module = importlib.import_module(f"{_sources.__name__}.{info.name}")
        for source in getattr(module, "SOURCES", ()) or (getattr(module, "SOURCE", None),):
            if source is not None:
                found[source.name] = source
    return found


_REGISTRY = _discover()


def available() -> dict[str, Source]:
    """Catalogue entries by name."""
    return dict(_REGISTRY)


def get_source(name: str) -> Source:
    """The source called ``name``; an unknown name lists close matches and the catalogue."""
    if name not in _REGISTRY:
        close = get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise DataError(f"dataset: unknown name {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def load(name: str, params: dict[str, Any] | None = None, *, seed: int = 0) -> Dataset:
    """Load catalogue entry ``name`` with ``params``; ``seed`` matters for generated data."""
    source = get_source(name)
    return source.load(source.make_params(params), seed)


__all__ = [
    "NATURAL",
    "DataError",
    "Dataset",
    "Prepared",
    "Source",
    "Split",
    "available",
    "fingerprint",
    "get_source",
    "largest_reachable_ratio",
    "load",
    "natural_ratio",
    "prepare",
]
