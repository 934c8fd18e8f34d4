"""The results store: a long-format table, written atomically (:func:`write_csv`) and read back
(:func:`read_table`, the one reader of ``results.csv``), and its summary."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harness.errors import UserError
from harness.files import write_atomic
from harness.store.provenance import git_commit, versions_string

if TYPE_CHECKING:
    from harness.store.records import CellResult

COLUMNS = [
    "benchmark", "dataset", "imbalance_ratio", "model", "method", "loss", "sampler", "repetition", "seed",
    "calibration", "metric", "value", "dataset_fingerprint", "spec_hash", "git_commit", "versions",
    "n_classes", "repeat", "fold", "n_train", "n_test", "n_test_minority", "valid", "params",
]
BINARY_CLASSES = 2  # what a table written before the n_classes column holds


def rows(benchmark: str, spec_hash: str, result: CellResult) -> list[dict]:
    """Long-format rows of one cell: one per repetition × calibration × metric."""
    common = {
        "benchmark": benchmark,
        "dataset": result.cell.dataset.key,
        "imbalance_ratio": result.cell.ratio_label,
        "model": result.cell.model_key,
        "method": result.cell.method,
    }
    provenance = {"spec_hash": spec_hash, "git_commit": git_commit(), "versions": versions_string()}
    return [
        {**common, "loss": rep.loss, "sampler": rep.sampler or "none",
         "repetition": rep.repetition, "seed": rep.seed, "calibration": calibration,
         "metric": metric, "value": value, "dataset_fingerprint": rep.fingerprint, **provenance,
         "n_classes": _n_classes(rep.logits), **_fit_columns(rep)}
        for rep in result.repetitions
        for calibration, scores in rep.metrics.items()
        for metric, value in scores.items()
    ]


def _fit_columns(rep) -> dict:
    """What a re-analysis needs of one evaluated fit: where it sits (repeat, fold), how much it
    learnt from and was tested on, whether it is a valid predictor, and its tuned parameters."""
    return {"repeat": rep.repeat, "fold": rep.fold, "n_train": rep.n_train, "n_test": rep.n_test,
            "n_test_minority": rep.n_test_minority, "valid": not rep.constant,
            "params": json.dumps(rep.params, sort_keys=True, default=float)}


def _n_classes(logits) -> int:
    return BINARY_CLASSES if logits.ndim == 1 else int(logits.shape[1])


def _columns(name: str, values) -> dict:
    """``{name: values}`` for (N,) values, ``{name_0: ..., name_{C-1}: ...}`` for (N, C) ones."""
    values = np.asarray(values)
    return {name: values} if values.ndim == 1 else {f"{name}_{k}": values[:, k] for k in range(values.shape[1])}


def slugify(text: str) -> str:
    """``text`` with every run of characters unsafe in file names replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text)


def cell_slug(result: CellResult) -> str:
    """A file-name-safe name of a cell, e.g. ``gaussian-8d__rho10__mlp__focal``."""
    return slug(result.cell)


def slug(cell) -> str:
    """A file-name-safe name of a :class:`~harness.plan.cells.Cell`: dataset, ratio, model, method."""
    return slugify(f"{cell.dataset.key}__rho{cell.ratio_label}__{cell.model_key}__{cell.method}")


def predictions_frame(result: CellResult) -> pd.DataFrame:
    """Test predictions of every repetition: labels, logits, each variant's probability, posterior
    (multi-class: one column per class, ``logit_k``, ``prob_<variant>_k``, ``posterior_k``)."""
    frames = []
    for rep in result.repetitions:
        data = {"repetition": rep.repetition, "seed": rep.seed, "y_true": rep.y_true, **_columns("logit", rep.logits)}
        for variant, p in rep.probs.items():
            data.update(_columns(f"prob_{variant}", p))
        if rep.posterior is not None:
            data.update(_columns("posterior", rep.posterior))
        frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_predictions(result: CellResult, directory: Path) -> Path | None:
    """``<directory>/<cell slug>.parquet`` (no pickle: plain Parquet columns)."""
    frame = predictions_frame(result)
    if frame.empty:
        return None
    path = directory / f"{cell_slug(result)}.parquet"
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return path


def table(benchmark: str, spec_hash: str, results: Iterable[CellResult]) -> pd.DataFrame:
    data = [row for r in results for row in rows(benchmark, spec_hash, r)]
    return pd.DataFrame(data, columns=COLUMNS).astype({c: DTYPES[c] for c in ("n_train", "n_test", "n_test_minority")})


NUMBERS = {"repetition": "int64", "seed": "int64", "value": "float64", "n_classes": "int64", "repeat": "int64",
           "fold": "int64", "n_train": "Int64", "n_test": "Int64", "n_test_minority": "Int64", "valid": "bool"}
TEXT = [c for c in COLUMNS if c not in NUMBERS]
DTYPES = {**{c: str for c in TEXT}, **NUMBERS}
FILE = "results.csv"
PUBLISHED = "results.parquet"  # the published copy of the table (harness.report.publish)
# Missing values: only an empty field (the writer's spelling) in text columns, so labels such as
# "NA", "None" or "null" stay text; numbers also take pandas' spellings of NaN (hand-made tables).
_TEXT_NA = [""]
_NUMBER_NA = ["", "nan", "NaN", "-nan", "-NaN", "NA", "N/A", "NULL", "null", "None", "<NA>"]


def read_table(path_or_folder: str | Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """The results table of a folder (or the table file itself), the one reader of ``results.csv``
    — and of a published folder's ``results.parquet`` where no ``results.csv`` is.

    One dtype policy, the one the writer's table has: text columns as text (``str``; so ratio
    labels stay "natural", "10", "2.5" and hex fingerprints, hashes and commits stay hex, whatever
    their digits), ``repetition``, ``seed`` and ``n_classes`` as int64, ``value`` as float64 (read
    back to the very values written). Columns not in :data:`COLUMNS` are read as pandas infers them.
    A table written before a column existed gets that column as :func:`upgrade` lists it.

    A missing table raises :class:`~harness.errors.UserError` naming the folder, or gives an empty
    table with today's columns when ``missing_ok``.
    """
    given = path_or_folder
    path = Path(given)
    parquet = path if path.suffix == ".parquet" else path / PUBLISHED
    if path.suffix != ".csv" and not (path / FILE).is_file() and parquet.is_file():
        return read_parquet(parquet)
    csv = path if path.suffix == ".csv" else path / FILE
    if not csv.is_file():
        if missing_ok:
            return upgrade(pd.DataFrame({c: pd.Series(dtype=DTYPES[c]) for c in COLUMNS}))
        folder = str(given) if csv is not path else str(csv.parent)
        raise UserError(f"results: no {csv.name} in {folder!r}; run the benchmark first")
    header = pd.read_csv(csv, nrows=0).columns
    df = pd.read_csv(csv, dtype={c: t for c, t in DTYPES.items() if c in header}, keep_default_na=False,
                     na_values={c: _TEXT_NA if DTYPES.get(c) is str else _NUMBER_NA for c in header})
    return upgrade(df)


def read_parquet(path: Path, *, columns: list[str] | None = None, filters: list | None = None) -> pd.DataFrame:
    """A published ``results.parquet`` (:func:`write_parquet`) with the dtypes of :func:`read_table`;
    ``columns`` and ``filters`` (pyarrow's, e.g. ``[("dataset", "in", names)]``) read a part of it
    (some columns only: as they are, not :func:`upgrade`-d)."""
    df = pd.read_parquet(path, columns=columns, filters=filters)
    for column, dtype in DTYPES.items():
        if column in df:
            df[column] = df[column].astype(object).where(df[column].notna(), "").astype(str) if dtype is str \
                else df[column].astype(dtype)
    return upgrade(df) if columns is None else df


def read_published(folder: Path, *, columns: list[str] | None = None, datasets: list[str] | None = None) -> pd.DataFrame:
    """A published folder's ``results.parquet``, or part of it: some ``columns``, the rows of some
    ``datasets`` (read by pyarrow's filters: the whole table is a million rows)."""
    filters = None if datasets is None else [("dataset", "in", list(datasets))]
    return read_parquet(Path(folder) / PUBLISHED, columns=columns, filters=filters)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """The table as compressed Parquet, atomically: text columns dictionary-encoded (a few
    thousand distinct labels over a million rows), zstd; read back by :func:`read_parquet` to the
    very values (floats stored as float64)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    write_atomic(path, lambda tmp: pq.write_table(table, str(tmp), compression="zstd", compression_level=9,
                                                  use_dictionary=True))


def upgrade(df: pd.DataFrame) -> pd.DataFrame:
    """A table written by an older version in today's shape (in place; returned). Every change of
    the format since the first table (2026-11-26, d8b3826), one entry each:

    - 2026-11-27, 9405ad9 (the model axis): ``model`` added. Not filled here: a table without it
      stays without it, because its readers default it differently on purpose (the gate: "mlp",
      the learner of every cell then; the decision table's regimes: "spec model"; the report's
      prediction files: "mlp"), and filling it would change the report of such a table.
    - 2026-11-27, b5e36d9 (multi-class cells): ``n_classes`` added; before it, every cell was
      binary: :data:`BINARY_CLASSES`.
    - 2026-12-02 (cross-validated cells, issue 26): ``repeat``, ``fold``, ``n_train``, ``n_test``,
      ``n_test_minority``, ``valid``, ``params`` added. Before them every table was a holdout one:
      repeat = repetition, fold 0; the sizes unknown (missing); every fit counted valid (it was
      not checked); the parameters unknown (empty text).
    """
    if "n_classes" not in df:
        df["n_classes"] = np.full(len(df), BINARY_CLASSES, dtype="int64")
    if "repeat" not in df and "repetition" in df:
        df["repeat"] = df["repetition"].astype("int64")
    defaults = {"fold": 0, "n_train": pd.NA, "n_test": pd.NA, "n_test_minority": pd.NA, "valid": True, "params": ""}
    for column, value in defaults.items():
        if column not in df:
            df[column] = pd.Series([value] * len(df), index=df.index, dtype=DTYPES[column])
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """The table as CSV, atomically. Written by pyarrow (eight times faster than pandas here, and
    the table is rewritten after every cell): floats in their shortest exact form, so they read
    back to the very same values; text quoted only where needed; missing values empty."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    table = pa.Table.from_pandas(df, preserve_index=False)
    options = pa_csv.WriteOptions(quoting_style="needed")
    write_atomic(path, lambda tmp: pa_csv.write_csv(table, str(tmp), write_options=options), fault="write_results")




def summary(df: pd.DataFrame, *, metrics: list[str] | None = None, calibrations: list[str] | None = None) -> pd.DataFrame:
    """Mean ± std over repetitions: one row per cell (and calibration), one column per metric."""
    if metrics is not None:
        df = df[df["metric"].isin(metrics)]
    if calibrations is not None:
        df = df[df["calibration"].isin(calibrations)]
    if df.empty:
        return pd.DataFrame()
    keys = ["dataset", "imbalance_ratio", "model", "method", "calibration"]
    grouped = df.groupby(keys + ["metric"], sort=False)["value"].agg(["mean", "std"]).reset_index()
    grouped["cell"] = [
        f"{m:.4f} ± {s:.4f}" if pd.notna(s) else f"{m:.4f}" for m, s in zip(grouped["mean"], grouped["std"])
    ]
    wide = grouped.pivot(index=keys, columns="metric", values="cell")
    order = [m for m in (metrics or []) if m in set(df["metric"])] or list(dict.fromkeys(df["metric"]))
    return wide[order].reindex(pd.MultiIndex.from_frame(df[keys].drop_duplicates()))
