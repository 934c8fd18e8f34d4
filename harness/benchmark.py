"""Run a whole benchmark: validate the plan, run every cell, track, store and summarise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd
import torch
from tqdm import tqdm

import datasets

from . import plots
from . import results as results_store
from .cells import Cell, expand
from .errors import UserError
from .pipeline import CellResult, DataProvider, run_cell, study_name
from .spec import Spec
from .tracking import MlflowTracker, NullTracker


@dataclass
class Outcome:
    """What a benchmark run produced."""

    table: pd.DataFrame
    results_csv: Path
    cells: list[CellResult]
    failed: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0
    tracking_seconds: float = 0.0  # the run waited for MLflow
    tracking_call_seconds: float = 0.0  # inside MLflow calls, mostly overlapped in a background thread
    optuna_seconds: float = 0.0  # in Optuna itself


def check_plan(spec: Spec, data: DataProvider) -> dict[tuple[str, object], str]:
    """Prepare every (dataset, ratio) before any work, so data errors stop the run early.

    Returns the (dataset key, ratio) pairs to skip, with the reason, when the spec says
    ``unreachable_ratio: skip``; otherwise the first data error stops the run.
    """
    skipped = {}
    for ds in spec.datasets:
        for ratio in spec.imbalance_ratios:
            try:
                prepared = data.prepared(ds, ratio, 0)
                if prepared.n_classes != 2:
                    raise UserError(f"{ds.key}: has {prepared.n_classes} classes; the benchmark pipeline trains "
                                    "binary problems (use LossClassifier or loss_zoo for multi-class)")
            except datasets.DataError as exc:
                if spec.unreachable_ratio == "skip" and "largest reachable ratio" in str(exc):
                    skipped[(ds.key, ratio)] = str(exc)
                    continue
                raise UserError(str(exc)) from None
    return skipped


def open_storage(url: str | None, journal: Path):
    """An Optuna storage: None for "memory", the journal file by default, else the URL's."""
    if url == "memory":
        return None
    if url is None:
        from optuna.storages.journal import JournalFileBackend

        journal.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
    try:
        return optuna.storages.get_storage(url)
    except Exception as exc:  # SQLAlchemy and Optuna raise many types for a bad URL
        raise UserError(f"storage: cannot open {url!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def run_benchmark(
    spec: Spec,
    *,
    results_root: Path = Path("results"),
    tracking_uri: str | None = None,
    progress: bool = True,
    threads: int = 1,
    storage: str | None = None,
    fresh: bool = False,
) -> Outcome:
    """Run every cell of ``spec``; ``tracking_uri=None`` turns tracking off.

    Writes ``results_root/<spec.name>/results.csv`` after each cell (atomically), so the table
    on disk is always complete for the cells finished so far. Optuna studies live in
    ``storage`` (an Optuna storage URL; default: the journal file
    ``results_root/<spec.name>/optuna.journal``, ``"memory"`` for none), so a rerun resumes
    them; ``fresh`` deletes this spec's stored studies first.
    """
    started = time.perf_counter()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    data = DataProvider(spec)
    skipped = check_plan(spec, data)
    for reason in skipped.values():
        print(f"skipping cells: {reason}", file=sys.stderr)
    cells: list[Cell] = [c for c in expand(spec) if (c.dataset.key, c.ratio) not in skipped]
    spec_hash = spec.spec_hash()
    tracker = MlflowTracker(tracking_uri) if tracking_uri else NullTracker()
    tracker.start(spec, spec_hash)
    out_dir = Path(results_root) / spec.name
    out_csv = out_dir / "results.csv"
    study_storage = open_storage(storage, out_dir / "optuna.journal")
    if fresh and study_storage is not None:
        for cell in cells:
            for rep in range(spec.evaluation.repetitions):
                try:
                    optuna.delete_study(study_name=study_name(spec, cell, rep), storage=study_storage)
                except KeyError:
                    pass
    done: list[CellResult] = []
    tunings = spec.evaluation.repetitions if spec.tuning.per_repetition else 1
    per_cell = tunings * spec.tuning.n_trials + spec.evaluation.repetitions
    status = "FAILED"
    try:
        with tqdm(total=len(cells) * per_cell, desc=spec.name, unit="fit", file=sys.stderr,
                  disable=not progress, dynamic_ncols=True,
                  mininterval=0.1 if sys.stderr.isatty() else 5.0) as bar:
            for i, cell in enumerate(cells):
                bar.set_postfix_str(f"cell {i + 1}/{len(cells)}: {cell.label}")
                before = bar.n
                result = run_cell(spec, cell, data, progress=lambda: bar.update(1), storage=study_storage)
                bar.update(before + per_cell - bar.n)
                artifacts = []
                if result.repetitions:
                    artifacts.append(results_store.write_predictions(result, out_dir / "predictions"))
                    if spec.evaluation.plots:
                        slug = results_store.cell_slug(result)
                        artifacts.append(plots.cell_figure(result, out_dir / "plots" / f"{slug}.png"))
                        artifacts.append(plots.tuning_figure(result, out_dir / "plots" / f"{slug}_tuning.png",
                                                             spec.tuning.metrics[0]))
                tracker.log_cell(result, artifacts=[a for a in artifacts if a is not None])
                done.append(result)
                results_store.write_csv(results_store.table(spec.name, spec_hash, done), out_csv)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        table = results_store.table(spec.name, spec_hash, done)
        summary = results_store.summary(table)
        tracker.finish(out_csv, summary.to_string() if not summary.empty else "no results", status)
    failed = [r for r in done if r.status != "ok"]
    return Outcome(table, out_csv, done, failed, time.perf_counter() - started,
                   tracking_seconds=tracker.seconds, tracking_call_seconds=getattr(tracker, "call_seconds", 0.0),
                   optuna_seconds=sum(r.optuna_seconds for r in done))
