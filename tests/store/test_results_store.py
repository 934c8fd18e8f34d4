"""The results table has one reader, ``harness.store.results.read_table``: it reads what the
writer wrote back equal (dtypes included), upgrades older tables, keeps ratio labels as text, and
names the folder when there is no table; nothing else in the harness parses a results table."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from harness.errors import UserError
from harness.store import results as results_store
from harness.store.records import RepetitionRecord
from harness.store.results import BINARY_CLASSES, COLUMNS, DTYPES, read_table

OLD_TABLE = ROOT / "tests" / "data" / "results_small.csv"  # written before the model and n_classes columns


def _result(ratio: str, method: str, logits: np.ndarray, values: tuple[float, float]) -> SimpleNamespace:
    """A finished cell as :func:`results_store.rows` reads it (two repetitions, two variants)."""
    cell = SimpleNamespace(dataset=SimpleNamespace(key="gaussian-8d"), ratio_label=ratio, model_key="mlp",
                           method=method)
    reps = [RepetitionRecord(r, 1000 + r, {"lr": 0.01 * (r + 1)}, method, None if r == 0 else "random_under",
                             {"raw": {"ece": values[0], "roc_auc": values[1]},
                              "temperature": {"ece": values[0] / 3, "roc_auc": values[1]}},
                             {}, "0123456789012345" if r == 0 else "00ab", 1, 0, 0,
                             np.arange(len(logits)) % 2, logits, {}, repeat=0, fold=r, n_train=40 + r)
            for r in range(2)]
    return SimpleNamespace(cell=cell, repetitions=reps)


def _written(tmp_path) -> pd.DataFrame:
    """A table as the run builds it, written by the store's writer into ``tmp_path/results.csv``."""
    results = [_result("natural", "ce", np.zeros(5), (0.1 + 0.2, 1.0)),  # 1.0 is written "1"
               _result("2.5", "focal", np.zeros(5), (np.nan, 1 / 3)),  # a metric without a value
               _result("10", "ce", np.zeros((5, 4)), (1e-17, 0.9))]  # a 4-class cell
    frame = results_store.table("smoke", "123456789012", results)  # an all-digit spec hash
    results_store.write_csv(frame, tmp_path / "results.csv")
    return frame


def test_reads_the_writers_table_back_equal(tmp_path):
    frame = _written(tmp_path)
    back = read_table(tmp_path)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.dtypes.to_dict() == {c: pd.Series(dtype=t).dtype for c, t in DTYPES.items()}
    assert list(back.columns) == COLUMNS
    assert back["n_classes"].tolist() == [2] * 16 + [4] * 8
    pd.testing.assert_frame_equal(read_table(tmp_path / "results.csv"), back)  # the file itself, too


def test_ratio_labels_hashes_and_na_like_text_stay_text(tmp_path):
    _written(tmp_path)
    back = read_table(tmp_path)
    assert list(dict.fromkeys(back["imbalance_ratio"])) == ["natural", "2.5", "10"]
    assert set(back["spec_hash"]) == {"123456789012"} and "0123456789012345" in set(back["dataset_fingerprint"])
    only_numbers = tmp_path / "numbers"  # pandas alone would read these as floats: 2.5, 10.0
    only_numbers.mkdir()
    table = back[back["imbalance_ratio"] != "natural"].assign(dataset="NA", sampler="None")
    results_store.write_csv(table, only_numbers / "results.csv")
    again = read_table(only_numbers)
    assert list(dict.fromkeys(again["imbalance_ratio"])) == ["2.5", "10"]
    assert set(again["dataset"]) == {"NA"} and set(again["sampler"]) == {"None"}
    assert again["imbalance_ratio"].dtype == pd.Series(dtype=str).dtype


def test_an_old_table_reads_with_its_upgrades():
    old = read_table(OLD_TABLE)
    plain = pd.read_csv(OLD_TABLE)  # an independent read of the same file
    assert "n_classes" not in plain and "model" not in plain
    assert old["n_classes"].dtype == "int64" and set(old["n_classes"]) == {BINARY_CLASSES}
    assert "model" not in old  # not filled: its readers default it (see results_store.upgrade)
    fits = ["repeat", "fold", "n_train", "n_test", "n_test_minority", "valid", "params"]
    assert list(old.columns) == [*plain.columns, "n_classes", *fits]
    # a holdout table: each repetition its own repeat, fold 0, sizes unknown, every fit counted valid
    assert (old["repeat"] == plain["repetition"]).all() and set(old["fold"]) == {0}
    assert old["n_test"].isna().all() and old["valid"].all() and set(old["params"]) == {""}
    assert old["imbalance_ratio"].tolist() == plain["imbalance_ratio"].astype(str).tolist()
    assert (old["value"].to_numpy() == plain["value"].to_numpy()).all()
    assert old["imbalance_ratio"].dtype == old["spec_hash"].dtype == pd.Series(dtype=str).dtype


def test_a_missing_table_is_one_line_naming_the_folder(tmp_path):
    folder = str(tmp_path / "never-run")
    with pytest.raises(UserError) as caught:
        read_table(folder)
    assert str(caught.value) == f"results: no results.csv in {folder!r}; run the benchmark first"
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="no results.csv in"):
        read_table(tmp_path / "never-run" / "results.csv")
    empty = read_table(folder, missing_ok=True)
    assert empty.empty and list(empty.columns) == COLUMNS
    assert empty.dtypes.to_dict() == {c: pd.Series(dtype=t).dtype for c, t in DTYPES.items()}


# Every pandas/pyarrow table read in harness/ and runner.py that is not results.csv, by its call.
OTHER_FILES = {
    ("harness/report/sections.py", "pd.read_parquet(file)"): "predictions",
    ("harness/report/sections.py", "pd.read_parquet(file) if file is not None else pd.DataFrame()"): "predictions",
    ("harness/report/figures.py", "pd.read_parquet(file)"): "predictions",
    ("harness/report/tuning.py", 'return pd.read_csv(results_dir / TUNING_TABLE, dtype={"imbalance_ratio": str})'): "a published folder's tuning summaries",
}
READ = re.compile(r"\bread_(?:csv|parquet|feather|json|excel|fwf)\(|\b(?:pd|pandas)\.read_table\(")


def test_only_the_store_reads_results_tables():
    """A source scan: ``read_csv(``/``read_parquet(`` (and pandas' ``read_table``) appear only in
    ``harness/store/results.py`` and in the reads of other files listed in OTHER_FILES."""
    found = set()
    for path in [*sorted((ROOT / "harness").rglob("*.py")), ROOT / "runner.py"]:
        name = path.relative_to(ROOT).as_posix()
        if name == "harness/store/results.py":
            continue
        for line in path.read_text().splitlines():
            if READ.search(line):
                call = line.strip().split("= ", 1)[-1]
                found.add((name, call))
    assert found - set(OTHER_FILES) == set(), "results.csv is read by harness.store.results.read_table only"
    assert set(OTHER_FILES) <= found, "OTHER_FILES lists a read that is gone: drop it from the list"
