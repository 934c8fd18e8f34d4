"""Where Optuna studies live: the journal file by default, any Optuna storage URL, or memory."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

import optuna

from harness.errors import UserError


def open_storage(url: str | None, journal: Path | None):
    """An Optuna storage: None for "memory", the journal file by default (or the one named by
    ``journal:PATH``), else the database at the SQLAlchemy URL."""
    if url == "memory":
        return None
    if url is not None and url.startswith("journal:"):
        url, journal = None, Path(url.removeprefix("journal:"))
    if url is None:
        from optuna.storages.journal import JournalFileBackend

        journal.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
    for attempt in range(3):
        try:
            return optuna.storages.get_storage(url)
        except Exception as exc:  # SQLAlchemy and Optuna raise many types for a bad URL
            # workers opening a fresh database at once race to create Optuna's tables: try again
            if attempt < 2 and ("already exists" in str(exc) or "duplicate key" in str(exc)):
                time.sleep(0.5 * (attempt + 1))
                continue
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"storage: cannot open {url!r}: {first}") from None


def delete_studies(storage, names: Iterable[str]) -> None:
    """Delete these studies where they exist (``--fresh``)."""
    for name in names:
        with contextlib.suppress(KeyError):  # no such study yet
            optuna.delete_study(study_name=name, storage=storage)
