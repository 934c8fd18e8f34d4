"""``runner.py run SPEC --against DIR`` on a published-like folder made here from a tiny run: only
the new method's cells run, on the published splits; a tampered fingerprint or a CE re-check
outside the gate's tolerances stops with one line (exit 2); the report reads the published rows
plus the new ones."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import TINY_SPEC, write_spec

import loss_zoo
import runner
from harness import run_benchmark
from harness.plan.checks import parse_spec
from harness.store.results import read_parquet, read_table, write_parquet
from harness.store.run_spec import write_run_spec

LOSS = "import torch.nn.functional as F\ndef fn(logits, targets):\n" \
       "    return F.softplus(-(2.0 * targets - 1) * logits) + 0.1 * logits ** 2\n"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A published-like folder: the per-fold table and spec.json of a tiny run (ce and focal)."""
    root = tmp_path_factory.mktemp("published")
    spec = parse_spec({**TINY_SPEC, "name": "tinypub"})
    outcome = run_benchmark(spec, results_root=root / "run", tracking_uri=None, progress=False, storage="memory")
    folder = root / "full"
    folder.mkdir()
    write_parquet(outcome.table, folder / "results.parquet")
    write_run_spec(spec, folder)
    return folder


@pytest.fixture(autouse=True)
def _registry():
    with loss_zoo.registered():
        yield


def _user_spec(workdir, **extra) -> str:
    (workdir / "mine.py").write_text(LOSS)
    spec = {"name": "mine_vs", "datasets": TINY_SPEC["datasets"], "imbalance_ratios": [1, 10],
            "methods": ["ce", {"name": "mine", "function": "mine.py:fn"}], **extra}
    return str(write_spec(workdir, spec))


def _copy(published, tmp_path):
    folder = tmp_path / "pub"
    shutil.copytree(published, folder)
    return folder


def _against(spec_path, folder, *more) -> int:
    return runner.main(["run", spec_path, "--against", str(folder), "--no-tracking", "--quiet", "--recheck", "1",
                        "--storage", "memory", *more])


def test_against_runs_only_the_new_cells_and_reports_them_with_the_published(workdir, published, capsys):
    assert _against(_user_spec(workdir), published) == 0
    out = capsys.readouterr().out
    assert "4 splits match the published fingerprints" in out  # 1 dataset × 2 ratios × 2 repetitions
    assert "ce re-check: 1 cells (gauss ρ=10 mlp ce)" in out and "metrics within the gate's tolerances" in out
    assert "mine vs ce · binary · mlp · average_precision: too few datasets (1 < 5) for a verdict" in out
    new = read_table(workdir / "results" / "mine_vs")
    assert set(new["method"]) == {"mine"} and set(new["imbalance_ratio"]) == {"1", "10"}
    both = read_table(workdir / "results" / "mine_vs" / "against")
    assert set(both["method"]) == {"ce", "focal", "mine"}
    pub = read_parquet(published / "results.parquet")
    assert len(both) == len(pub) + len(new)
    fp = both.groupby(["imbalance_ratio", "repetition"])["dataset_fingerprint"].nunique()
    assert (fp == 1).all()  # the new cells trained on the published splits
    assert "mine" in (workdir / "results" / "mine_vs" / "against" / "report.md").read_text()
    assert not (published / "report.md").exists()  # nothing written into the published folder


def test_a_tampered_fingerprint_stops_with_one_line_before_any_cell(workdir, published, tmp_path, capsys):
    folder = _copy(published, tmp_path)
    table = read_parquet(folder / "results.parquet")
    hit = (table["imbalance_ratio"] == "10") & (table["repetition"] == 1)
    table.loc[hit, "dataset_fingerprint"] = "0123456789abcdef"
    write_parquet(table, folder / "results.parquet")
    assert _against(_user_spec(workdir), folder) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --against: gauss ρ=10 repeat 1 fold 0: the split "
                                                   "prepared here has fingerprint ")
    assert "has fingerprint 0123456789abcdef: the data or its preparation changed" in err
    assert not (workdir / "results").exists()


def test_a_published_sweep_that_skipped_an_unreachable_ratio_is_compared_and_costed_without_it(
        workdir, tmp_path, capsys):
    """The full sweep skips the ratios a small set cannot reach (``unreachable_ratio: skip``): the
    new cells skip them too, and so does the estimate of a full re-run, which used to prepare them
    and stop with a traceback after every new cell had run."""
    spec = parse_spec({**TINY_SPEC, "name": "skippub", "imbalance_ratios": [10, 5000], "methods": ["ce"],
                       "unreachable_ratio": "skip", "evaluation": {"repetitions": 1}})
    outcome = run_benchmark(spec, results_root=tmp_path / "run", tracking_uri=None, progress=False, storage="memory")
    assert set(outcome.table["imbalance_ratio"]) == {"10"}
    folder = tmp_path / "pub"
    folder.mkdir()
    write_parquet(outcome.table, folder / "results.parquet")
    write_run_spec(spec, folder)
    mine = _user_spec(workdir, imbalance_ratios=[10, 5000], unreachable_ratio="skip", evaluation={"repetitions": 1})
    assert _against(mine, folder) == 0
    captured = capsys.readouterr()
    assert "1 splits match the published fingerprints" in captured.out and "5000" in captured.err
    assert "A full re-run of this comparison (2 cells: every published method and the new ones)" in captured.out
    assert set(read_table(workdir / "results" / "mine_vs")["imbalance_ratio"]) == {"10"}


def test_a_ce_recheck_outside_the_tolerance_stops_with_one_line(workdir, published, tmp_path, capsys):
    folder = _copy(published, tmp_path)
    table = read_parquet(folder / "results.parquet")
    hit = (table["method"] == "ce") & (table["metric"] == "roc_auc")
    table.loc[hit, "value"] = table.loc[hit, "value"] - 0.2
    write_parquet(table, folder / "results.parquet")
    assert _against(_user_spec(workdir), folder) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --against: ce re-check: 1 of ")
    assert "gauss ρ=10 mlp ce roc_auc" in err and "this machine does not reproduce the published cells" in err
    assert not (workdir / "results" / "mine_vs" / "results.csv").exists()  # the new cells never ran


@pytest.mark.parametrize("change,message", [
    ({"datasets": ["keel/glass1"]}, "datasets[0]: 'keel/glass1' is not in the published sweep (known: gauss)"),
    ({"imbalance_ratios": [1, 5]}, "imbalance_ratios[1]: 5.0 is not in the published sweep"),
    ({"methods": ["ce", "focal"]}, "methods: every method is in the published table already (ce, focal)"),
])
def test_a_spec_outside_the_published_sweep_is_one_line(workdir, published, capsys, change, message):
    spec_path = _user_spec(workdir, **change)
    assert _against(spec_path, published) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_published_spec_that_no_longer_hashes_the_same_is_refused(workdir, published, tmp_path, capsys):
    folder = _copy(published, tmp_path)
    text = (folder / "spec.json").read_text().replace('"n_trials": 3', '"n_trials": 4')
    (folder / "spec.json").write_text(text)
    assert _against(_user_spec(workdir), folder) == 2
    assert "hashes to" in capsys.readouterr().err


def test_the_recheck_counts_improvements_beyond_the_tolerance_too():
    from harness.report.against import recheck

    rows = pd.DataFrame({"dataset": "d", "imbalance_ratio": "1", "model": "mlp", "method": "ce", "calibration": "raw",
                         "metric": "roc_auc", "value": [0.80, 0.81], "spec_hash": "x", "benchmark": "b",
                         "git_commit": "c", "versions": "python=3"})
    assert recheck(rows, rows).passed
    assert not recheck(rows, rows.assign(value=rows["value"] + 0.05)).passed  # better, still not the same cell
    assert recheck(rows, rows.assign(value=rows["value"] + 0.005)).passed  # within the 0.01 floor


def test_a_published_model_that_lists_its_methods_trains_only_the_new_ones_and_rechecks_ce(tmp_path):
    """The full sweep's LightGBM lists its published methods (``only.methods``): the new cells'
    spec gives it the new methods instead (a new method's own ``only`` keeps it off), and the CE
    re-check gives it CE alone; either used to be refused for listing a method that does not run."""
    from harness.plan import against
    from harness.plan.cells import grid

    models = [{"name": "mlp", "hidden_sizes": [8]},
              {"name": "lightgbm", "max_rounds": 20, "only": {"methods": ["ce", "focal"], "task": "binary"}}]
    spec = parse_spec({**{k: v for k, v in TINY_SPEC.items() if k != "model"}, "name": "pub",
                       "methods": ["ce", "focal", "weighted_ce"], "models": models})
    write_run_spec(spec, tmp_path)
    rows = pd.DataFrame({"dataset": "gauss", "imbalance_ratio": "10", "model": ["mlp", "lightgbm"], "method": "ce",
                         "n_train": 500})
    write_parquet(rows, tmp_path / "results.parquet")
    published = against.load_published(tmp_path)
    user = parse_spec({**{k: v for k, v in TINY_SPEC.items() if k != "model"}, "name": "mine",
                       "models": [models[0], {"name": "lightgbm"}],
                       "methods": ["ce", "label_smoothing", {"name": "ohem", "only": {"models": ["mlp"]}}]})
    new, keys = against.new_cells_spec(user, published, "mine.yaml")
    assert keys == ["label_smoothing", "ohem"] and new.method_keys == keys
    lightgbm = next(m for m in new.models if m.name == "lightgbm")
    assert lightgbm.only.methods == ["label_smoothing", "ohem"] and lightgbm.only.task == "binary"
    cells = {(method, model.key) for _, _, method, model in grid(new)}
    assert cells == {("label_smoothing", "mlp"), ("label_smoothing", "lightgbm"), ("ohem", "mlp")}
    recheck = against.recheck_spec(user, published, rows.assign(fold=0, repeat=0), 1, "mine.yaml")
    assert recheck.method_keys == ["ce"] and next(m for m in recheck.models if m.name == "lightgbm").only.methods == ["ce"]


def test_against_publish_writes_one_answer_that_a_later_against_reads(workdir, published, tmp_path, capsys):
    """``--publish`` re-publishes the published table plus the new cells as one answer: the
    combined spec (the published one with the new method), which loads again as a published sweep,
    so the next loss compares against both; every row carries its name and hash; provenance names
    the published spec file once the new method is added to it (else the user's spec, with a
    note); a reproduction measured on the published cells is kept and says which spec it measured.
    A user spec that leaves out part of the published grid cannot publish."""
    from harness.plan import against

    folder = _copy(published, tmp_path)
    (folder / "CHANGELOG.md").write_text("# by hand\n")
    (folder / "reproduction.json").write_text(json.dumps(_reproduction(against.load_published(folder).spec)))
    spec_path = _user_spec(workdir)
    combined_file = write_spec(workdir, {**TINY_SPEC, "name": "tinypub", "methods": [
        "ce", "focal", {"name": "mine", "function": "mine.py:fn"}]}, "pub.yaml")
    (folder / "provenance.json").write_text(json.dumps({"spec": str(combined_file)}))
    assert _against(spec_path, folder, "--publish", str(folder)) == 0
    captured = capsys.readouterr()
    assert "published: " in captured.out and "does not hash" not in captured.err
    again = against.load_published(folder)
    assert again.methods() == {"ce", "focal", "mine"} and again.spec.method_keys == ["ce", "focal", "mine"]
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["spec_hash"] == again.spec.spec_hash() and prov["spec"] == str(combined_file)
    table = read_parquet(folder / "results.parquet")
    assert set(table["spec_hash"]) == {again.spec.spec_hash()} and set(table["benchmark"]) == {"tinypub"}
    assert (folder / "CHANGELOG.md").read_text() == "# by hand\n"  # written by hand: kept
    report = (folder / "report.md").read_text()
    assert f"at random of spec `{published_hash(published)}` (the cells before later methods" in report
    assert (folder / "reproduction.json").is_file() and (folder / "summary.csv").is_file()
    tuned = pd.read_csv(folder / "tuning.csv")  # the new cells' tuning summaries: the report's tuning section
    assert sorted(zip(tuned["method"], tuned["imbalance_ratio"].astype(str))) == [("mine", "1"), ("mine", "10")]
    assert "## Tuning: what was chosen" in report and "| mlp | mine | 2 |" in report
    partial = _user_spec(workdir, imbalance_ratios=[10], methods=["ce", {"name": "mine2", "function": "mine.py:fn"}])
    assert _against(partial, folder, "--publish", str(folder)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--publish: imbalance_ratios: the new methods must cover the published sweep" in err
    other = _user_spec(workdir, methods=["ce", {"name": "mine3", "function": "mine.py:fn"}])
    assert _against(other, folder, "--publish", str(folder)) == 0  # pub.yaml lacks mine3: SPEC is named instead
    assert "does not hash to the combined spec" in capsys.readouterr().err
    assert json.loads((folder / "provenance.json").read_text())["spec"] == other
    tuned = pd.read_csv(folder / "tuning.csv")  # the published cells' summaries are carried on
    assert tuned.groupby("method").size().to_dict() == {"mine": 2, "mine3": 2}


def published_hash(folder) -> str:
    from harness.plan import against

    return against.load_published(folder).spec.spec_hash()


def _reproduction(spec) -> dict:
    """A reproduction.json as benchmarks/reproduce.py writes it, measured on ``spec``'s cells."""
    machine = {"cpu_model": "AMD EPYC"}
    return {"datasets": ["gauss"], "machine": machine, "published_machine": {"cpu_model": "Intel"},
            "spec_hash": spec.spec_hash(), "measured": "2026-12-02", "cells_reproduced": 4, "cells_compared": 4,
            "tolerance": 1e-4, "by_model": {"mlp": {"reproduced": 4, "compared": 4}}, "not_reproduced": []}
