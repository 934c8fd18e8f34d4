"""What runs inside a worker process (a local pool's or a Dask worker's): one cell, or one
worker's share of a cell's trials. Each process keeps its data cache and study storage across
tasks, runs torch single-threaded and deterministic, as a local run does, so the results are
identical wherever a cell runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from harness import quiet
from harness.methods import user_losses
from harness.plan.cells import Cell
from harness.plan.data import DataProvider
from harness.running.cell import run_cell
from harness.running.outputs import write_cell_outputs
from harness.spec.schema import Spec
from harness.store.records import CellResult
from harness.tuning.storage import open_storage
from harness.tuning.study import tune


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to run cells of one benchmark (sent with every task)."""

    spec: Spec
    threads: int
    storage: str | None
    journal: Path
    out_dir: Path
    write_outputs: bool  # False on a cluster: the driver writes predictions and figures

    @property
    def key(self) -> tuple:
        return (self.spec.spec_hash(), self.threads, self.storage, str(self.journal))


_WORKER: dict = {}
_WORKER_LOCK = threading.Lock()  # a Dask worker with several threads still runs one cell at a time


def _state(config: WorkerConfig) -> dict:
    """This process's data cache and storage for ``config``'s benchmark."""
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    quiet.libraries()
    if _WORKER.get("key") != config.key:
        user_losses.register(config.spec)  # a spawned or remote worker has not planned the spec
        _WORKER.clear()
        _WORKER.update(key=config.key, data=DataProvider(config.spec),
                       storage=open_storage(config.storage, config.journal))
    return _WORKER


def cell_task(config: WorkerConfig, cell: Cell) -> tuple[CellResult, list[Path] | None]:
    """Run ``cell``; its result and, where this worker writes them, its output files."""
    with _WORKER_LOCK:
        state = _state(config)
        result = run_cell(config.spec, cell, state["data"], storage=state["storage"])
        return result, write_cell_outputs(config.spec, result, config.out_dir) if config.write_outputs else None


def tune_task(config: WorkerConfig, cell: Cell, worker: int) -> int:
    """Worker ``worker``'s share of the trials of ``cell``'s studies; the trials it ran."""
    with _WORKER_LOCK:
        state, spec = _state(config), config.spec
        ran = 0
        for rep in range(spec.evaluation.fits if spec.tuning.per_repetition else 1):
            prepared = state["data"].prepared(cell.dataset, cell.ratio, rep)
            study, _ = tune(spec, cell, prepared, repetition=rep, storage=state["storage"], shared=worker)
            ran += sum(1 for t in study.trials if t.user_attrs.get("done") and t.user_attrs.get("worker") == worker)
        return ran
