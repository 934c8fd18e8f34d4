"""Which cells of a benchmark are finished, taken or failed: shared by every runner working on
one results folder (after a kill, or two runners started on the same spec at once).

- finished: the cell's rows are in ``results.csv`` (written only once the cell is tracked), or
  recorded by this runner and not yet written: the table is rewritten at most every
  :data:`FLUSH_SECONDS` and at the end, since rewriting it per cell costs the square of the
  cells (the full sweep's table reaches hundreds of MB); the cell's claim stays until its rows
  are on disk, so no other runner takes it meanwhile, and a kill loses at most that many seconds
  of cells, which a resumed run redoes (tracking skips cells it already logged);
- taken: ``claims/<cell>.claim`` names a live runner (host, pid and start time);
- failed: ``claims/<cell>.failed`` names a live runner, so its siblings stop waiting for it.

Every read-modify-write of the table happens under an exclusive file lock on ``.results.lock``
(``filelock``, portable; and a thread lock, since cells are recorded from the tracking
thread). Claims by runners that no longer live (exited, even where their parent has not yet
collected them) are taken over; claims by other hosts are trusted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from filelock import FileLock

from harness.processes import holder_alive as _alive
from harness.processes import me
from harness.store import results as results_store

if TYPE_CHECKING:
    from harness.plan.cells import Cell

FLUSH_SECONDS = 20.0


class Ledger:
    def __init__(self, out_dir: Path, cells: list[Cell], benchmark: str, spec_hash: str, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out_dir, self.cells, self.benchmark, self.spec_hash = out_dir, cells, benchmark, spec_hash
        self.csv = out_dir / "results.csv"
        self.claims = out_dir / "claims"
        self._thread_lock = threading.Lock()
        self._me = me()
        out_dir.mkdir(parents=True, exist_ok=True)
        self.claims.mkdir(exist_ok=True)
        self._file_lock = FileLock(out_dir / ".results.lock")
        self._parsed: tuple[tuple, dict[int, pd.DataFrame]] | None = None  # (file's stat, its cells)
        self._unwritten: dict[int, pd.DataFrame] = {}  # recorded here, not yet in the file
        # clock() at the last write; None: never written. No clock value can mean "never": the
        # monotonic clock counts from boot, so 0.0 is "a moment ago" on a machine just started.
        self._clock, self._written = clock, None

    @contextmanager
    def locked(self):
        with self._thread_lock, self._file_lock:
            yield

    def _slug(self, index: int) -> str:
        return results_store.slug(self.cells[index])

    def _finished(self) -> dict[int, pd.DataFrame]:
        """Rows of the finished cells by cell index: those in the table (none when there is no
        table or it is another spec's) and those recorded here but not yet written. The table is
        parsed again only when another runner changed the file (its size, time or inode): claims
        look at it for every cell, and it grows with every cell."""
        try:
            stat = os.stat(self.csv)
        except FileNotFoundError:
            return dict(self._unwritten)
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._parsed is None or self._parsed[0] != key:
            self._parsed = (key, self._parse())
        return {**self._parsed[1], **self._unwritten}

    def _parse(self) -> dict[int, pd.DataFrame]:
        previous = results_store.read_table(self.csv)
        if previous.empty or set(previous["spec_hash"]) != {self.spec_hash}:
            return {}
        groups = dict(list(previous.groupby(["dataset", "imbalance_ratio", "model", "method"], sort=False)))
        return {i: groups[key].reset_index(drop=True) for i, cell in enumerate(self.cells)
                if (key := (cell.dataset.key, cell.ratio_label, cell.model_key, cell.method)) in groups}

    @staticmethod
    def _concat(parts: dict[int, pd.DataFrame]) -> pd.DataFrame:
        return pd.concat([parts[i] for i in sorted(parts)], ignore_index=True)

    def finished(self) -> dict[int, pd.DataFrame]:
        with self.locked():
            return self._finished()

    def table(self) -> pd.DataFrame:
        """The whole table, in cell order, written out first (empty with the usual columns if none)."""
        self.flush()
        parts = self.finished()
        return self._concat(parts) if parts else results_store.table(self.benchmark, self.spec_hash, [])

    def remove_stale_temporaries(self) -> None:
        with self.locked():  # no runner is writing while we hold the lock
            for stale in self.out_dir.glob(".results.csv.*"):
                stale.unlink(missing_ok=True)

    def _holder(self, path: Path) -> str | None:
        try:
            return path.read_text()
        except FileNotFoundError:
            return None

    def try_claim(self, index: int) -> bool:
        """Take cell ``index`` unless it is finished, or taken or failed by a live runner."""
        with self.locked():
            if index in self._finished():
                return False
            for suffix in (".claim", ".failed"):
                holder = self._holder(self.claims / f"{self._slug(index)}{suffix}")
                if holder is not None and holder != self._me and _alive(holder):
                    return False
            (self.claims / f"{self._slug(index)}.failed").unlink(missing_ok=True)
            (self.claims / f"{self._slug(index)}.claim").write_text(self._me)
            return True

    def record(self, index: int, rows: pd.DataFrame | None) -> None:
        """Merge a finished cell's rows into the table (None: the cell failed: release its claim);
        the table is written when :data:`FLUSH_SECONDS` have passed since the last write."""
        with self.locked():
            if rows is None:
                (self.claims / f"{self._slug(index)}.failed").write_text(self._me)
                (self.claims / f"{self._slug(index)}.claim").unlink(missing_ok=True)
                return
            self._unwritten[index] = rows
            if self._written is None or self._clock() - self._written >= FLUSH_SECONDS:
                self._write()

    def flush(self) -> None:
        """Write the cells recorded here and not yet in the table."""
        with self.locked():
            if self._unwritten:
                self._write()

    def _write(self) -> None:
        """The table with every finished cell, atomically; then the written cells' claims go, and
        the parsed table is kept (this runner's own write is not parsed again). Under the lock."""
        parts = self._finished()
        results_store.write_csv(self._concat(parts), self.csv)
        for index in self._unwritten:
            (self.claims / f"{self._slug(index)}.claim").unlink(missing_ok=True)
        stat = os.stat(self.csv)
        self._parsed = ((stat.st_mtime_ns, stat.st_size, stat.st_ino), parts)
        self._unwritten, self._written = {}, self._clock()

    def pending(self) -> list[int]:
        """Cells neither finished nor failed in this round."""
        with self.locked():
            finished = self._finished()
            return [i for i in range(len(self.cells)) if i not in finished
                    and not ((h := self._holder(self.claims / f"{self._slug(i)}.failed")) and _alive(h))]

    def claim_all(self, order: Callable[[int], object] | None = None, *, wait: bool = True,
                  before_look: Callable[[], None] = lambda: None) -> Iterator[int | None]:
        """Claim the pending cells one by one (in table order, or by the ``order`` key) and
        yield each; then wait for the cells other runners hold, taking over those of runners
        that died. Where every pending cell is held by another live runner it sleeps a second
        and looks again, or, with ``wait=False``, yields None instead (the caller has its own
        work to collect). ``before_look`` runs before each look once a cell was claimed."""
        mine: set[int] = set()
        while True:
            if mine:
                before_look()
            pending = sorted((i for i in self.pending() if i not in mine), key=order)
            if not pending:
                return
            progressed = False
            for i in pending:
                if self.try_claim(i):
                    mine.add(i)
                    progressed = True
                    yield i
            if not progressed:  # another runner's cells: nothing to do here but wait for them
                self.flush()  # and let it see ours (it may be waiting for them too)
                if wait:
                    time.sleep(1.0)
                else:
                    yield None
