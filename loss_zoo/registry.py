"""The loss registry: one :class:`~loss_zoo.entry.LossEntry` per name, the built-in ones
first, in a fixed order (the first six: ``tuned_loss``'s default choices, in that order).

:func:`register` adds a loss for the whole process (a plugin); :func:`registered` adds or
replaces one for a ``with`` block and then restores the registry (tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from difflib import get_close_matches

import numpy as np
from torch import nn

from .asymmetric import ASL
from .brier import BRIER
from .ce import BALANCED_SOFTMAX, CE, LOGIT_ADJUSTED_CE, WEIGHTED_CE
from .drop_easy import CE_DROP_EASY
from .dual_focal import DUAL_FOCAL
from .entry import LossEntry
from .focal import CLASS_BALANCED_FOCAL, FOCAL, FOCAL_FLSD
from .hard_mining import OHEM
from .label_smoothing import LABEL_SMOOTHING
from .ldam import LDAM
from .mmce import MMCE
from .poly import POLY1

_REGISTRY: dict[str, LossEntry] = {
    e.name: e for e in (CE, WEIGHTED_CE, FOCAL, FOCAL_FLSD, CLASS_BALANCED_FOCAL, LOGIT_ADJUSTED_CE,
                        # added after the published sweep (not tuned_loss's default choices)
                        BALANCED_SOFTMAX, LABEL_SMOOTHING, BRIER, POLY1, ASL, DUAL_FOCAL, OHEM, MMCE, LDAM,
                        CE_DROP_EASY)
}


def entry(name: str) -> LossEntry:
    """The entry registered as ``name``; unknown names list close matches and the known ones."""
    if name not in _REGISTRY:
        close = get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"loss: unknown name {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def available() -> dict[str, LossEntry]:
    """Registered losses by name (a copy), in registration order."""
    return dict(_REGISTRY)


def entry_of(loss: nn.Module) -> LossEntry | None:
    """The entry whose module class built ``loss`` (None: not a registered loss)."""
    return next((e for e in _REGISTRY.values() if type(loss) is e.module), None)


def register(new: LossEntry, *, replace: bool = False) -> LossEntry:
    """Add ``new`` to the registry for this process; returns it.

    Every consumer (``loss_zoo.get``, the stacked trainer, ``harness.methods.registry``, the spec schema,
    ``LossClassifier``) sees it from then on. An existing name raises unless ``replace``.
    """
    if not isinstance(new, LossEntry):
        raise TypeError(f"entry: expected a LossEntry, got {type(new).__name__}")
    if new.name in _REGISTRY and not replace:
        raise ValueError(f"entry.name: expected a new name, got {new.name!r} (already registered; pass replace=True)")
    taken = {p: e.name for e in _REGISTRY.values() if e.name != new.name for p in e.space}
    clashes = sorted(p for p in new.space if p in taken)
    if clashes:
        raise ValueError(f"entry.space: expected parameter names of its own (e.g. {new.name}_<param>), "
                         f"got {clashes}, already tuned by {sorted({taken[p] for p in clashes})}")
    _REGISTRY[new.name] = new
    return new


@contextmanager
def registered(*entries: LossEntry) -> Iterator[tuple[LossEntry, ...]]:
    """Register ``entries`` (adding or replacing) for a ``with`` block, then restore the registry
    as it was, order included."""
    saved = dict(_REGISTRY)
    try:
        for e in entries:
            register(e, replace=True)
        yield entries
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(saved)


def get(name: str, **params) -> nn.Module:
    """Build the registered loss ``name`` with its own parameters (as ``entry(name).module``)."""
    return entry(name).module(**params)


def posterior_logits(name: str, logits, **params) -> np.ndarray:
    """Posterior logits (binary: logit η; multi-class: log η) for a model trained with loss ``name``.

    ``params`` are the loss's own parameters (as for :func:`get`, without ``reduction``).
    Raises ValueError for a loss without a closed-form correction.
    """
    found = entry(name)
    if found.posterior is None:
        raise ValueError(f"loss: {name!r} has no closed-form posterior correction")
    params.pop("reduction", None)
    return found.posterior(logits, **params)
