"""Tuning: equal budgets, reproducible and resumable studies, pruning, tuned_loss, overrides,
two objectives and per-repetition tuning."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from harness.methods import registry as methods
from harness.plan.cells import planned
from harness.plan.checks import parse_spec
from harness.plan.data import DataProvider
from harness.running.cell import run_cell
from harness.tuning.study import pick_best, study_name, tune


def _spec(**overrides) -> dict:
    spec = {
        "name": "t", "seed": 5,
        "datasets": [{"name": "synthetic/gaussian", "label": "g", "params": {"n_samples": 3000, "n_features": 3}}],
        "imbalance_ratios": [10], "methods": ["ce"],
        "model": {"name": "logistic"}, "training": {"max_epochs": 6, "batch_size": 128, "patience": 3},
        "tuning": {"n_trials": 4}, "evaluation": {"repetitions": 1, "plots": False, "calibration": ["raw"]},
    }
    for key, value in overrides.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    return spec


def _run(spec_dict, method, storage=None):
    spec = parse_spec(spec_dict)
    return run_cell(spec, planned(spec, spec.datasets[0], spec.imbalance_ratios[0], method), DataProvider(spec), storage=storage)


def test_every_method_gets_the_same_budget():
    spec = _spec(methods=["ce", "focal", "smote", "tuned_loss"])
    for method in spec["methods"]:
        result = _run(spec, method)
        assert len(result.trials) == 4, method
        assert sorted(t.number for t in result.trials) == [0, 1, 2, 3]


def test_the_same_cell_twice_gives_identical_trials():
    a, b = _run(_spec(), "focal"), _run(_spec(), "focal")
    assert [(t.params, t.values, t.state, t.curve) for t in a.trials] == [(t.params, t.values, t.state, t.curve) for t in b.trials]
    assert a.repetitions[0].metrics == b.repetitions[0].metrics


@pytest.mark.parametrize("batch_trials", [1, 3, 8])
def test_an_interrupted_study_resumes_to_the_uninterrupted_result(tmp_path, batch_trials):
    """Cut short while recording the second trial: the batch it belongs to is redone from the
    same history, so the resumed study ends as the uninterrupted one."""
    from optuna.storages.journal import JournalFileBackend

    spec = parse_spec(_spec(tuning={"n_trials": 7, "batch_trials": batch_trials}))
    cell = planned(spec, spec.datasets[0], 10.0, "focal")
    data = DataProvider(spec).prepared(spec.datasets[0], 10.0, 0)
    reference = tune(spec, cell, data)[1]

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    calls = []

    def stop_after_two():
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tune(spec, cell, data, storage=storage, progress=stop_after_two)
    stored = optuna.load_study(study_name=study_name(spec, cell, 0), storage=storage)
    # whole batches only are stored: one by one, the first trial; in batches, nothing yet
    assert [t.state.name for t in stored.trials] == (["COMPLETE"] if batch_trials == 1 else [])
    resumed = tune(spec, cell, data, storage=storage)[1]
    assert [(t.number, t.params, t.values) for t in resumed] == [(t.number, t.params, t.values) for t in reference]
    again = tune(spec, cell, data, storage=storage)[1]  # a finished study runs nothing more
    assert len(again) == 7


def test_a_pruned_trial_stops_early():
    spec = _spec(training={"max_epochs": 25, "patience": 25}, tuning={"n_trials": 12},
                 datasets=[{"name": "synthetic/classification", "params": {"n_samples": 4000, "flip_y": 0.1}}])
    spec["tuning"]["search_space"] = {"lr": [1e-5, 0.5]}
    result = _run(spec, "ce")
    pruned = [t for t in result.trials if t.state == "PRUNED"]
    assert pruned, [t.state for t in result.trials]
    for t in pruned:
        assert t.stopped_by == "pruned" and len(t.curve) < 25


@pytest.mark.parametrize("loss", list(methods.LOSSES))
def test_tuned_loss_can_choose_each_of_its_options(loss):
    spec = _spec(methods=["tuned_loss"], tuning={"n_trials": 2, "search_space": {"loss": loss},
                                                 "tuned_loss": {"losses": list(methods.LOSSES)}})
    result = _run(spec, "tuned_loss")
    assert result.status == "ok"
    assert {t.params["loss"] for t in result.trials} == {loss}
    assert result.repetitions[0].loss == loss


def test_tuned_loss_explores_every_loss_and_sampler():
    method = methods.tuned_loss(list(methods.LOSSES), samplers=["none", "random_under", "smote"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_losses, seen_samplers = set(), set()
    for _ in range(80):
        trial = study.ask()
        params = method.suggest(trial)
        seen_losses.add(params["loss"])
        seen_samplers.add(params["sampler"])
        loss, sampler = method.resolve(params)
        assert set(methods.LOSSES[loss].space) <= set(params)  # the chosen loss's parameters are drawn
        study.tell(trial, 0.0)
    assert seen_losses == set(methods.LOSSES) and seen_samplers == {"none", "random_under", "smote"}


def test_search_space_can_be_narrowed_and_fixed():
    spec = _spec(methods=["focal"], tuning={"search_space": {"focal_gamma": [1.0, 1.5], "focal_alpha": None, "lr": 0.02}})
    result = _run(spec, "focal")
    for t in result.trials:
        assert 1.0 <= t.params["focal_gamma"] <= 1.5
        assert t.params["focal_alpha"] is None and t.params["lr"] == 0.02
    assert result.search_space["lr"] == "= 0.02"


def test_two_objectives_keep_a_pareto_front_and_pick_by_the_documented_rule():
    spec = parse_spec(_spec(methods=["focal"], tuning={"n_trials": 6, "metric": ["average_precision", "ece"]}))
    cell = planned(spec, spec.datasets[0], 10.0, "focal")
    study, records = tune(spec, cell, DataProvider(spec).prepared(spec.datasets[0], 10.0, 0))
    assert len(study.directions) == 2 and all(len(t.values) == 2 for t in records if t.values)
    best = pick_best(study, ["average_precision", "ece"])
    assert best.number in {t.number for t in study.best_trials}
    front = np.array([t.values for t in study.best_trials])
    # the pick is not dominated and is the front member nearest the utopia point
    ap, ece = best.values
    assert not any(a >= ap and e <= ece and (a, e) != (ap, ece) for a, e in front)


def test_per_repetition_tuning_tunes_each_repetition():
    spec = _spec(evaluation={"repetitions": 2}, tuning={"n_trials": 3, "per_repetition": True})
    result = _run(spec, "ce")
    assert sorted((t.repetition, t.number) for t in result.trials) == [(r, n) for r in (0, 1) for n in range(3)]
    assert len(result.repetitions) == 2


def test_a_diverging_learning_rate_fails_the_cell_and_the_run_exits_non_zero(workdir, capsys):
    from conftest import write_spec

    import runner

    spec = _spec(methods=["ce", "focal"], tuning={"n_trials": 2, "search_space": {"lr": 1e12}})
    spec["training"] = {"max_epochs": 3, "batch_size": 64, "patience": 3}
    spec["model"] = {"name": "mlp", "hidden_sizes": [16]}
    path = write_spec(workdir, spec)
    code = runner.main(["run", str(path), "--no-tracking", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 cell(s) failed" in err and "non-finite" in err


@pytest.mark.parametrize("method", ["tuned_loss", "focal", "smote"])
def test_stacked_training_changes_speed_not_results(method):
    """Trials of a batch and the repetitions train as one stack (training.stacked, the
    default) or one by one: the same trials, choices and test metrics to float tolerance.
    Resampled training sets share a stack where their sizes agree, and train alone otherwise."""
    base = _spec(model={"name": "mlp", "hidden_sizes": [8]}, tuning={"n_trials": 6, "batch_trials": 3},
                 evaluation={"repetitions": 3})
    runs = {}
    for stacked in (True, False):
        runs[stacked] = _run({**base, "training": {**base["training"], "stacked": stacked}}, method)
    a, b = runs[True], runs[False]
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.state for t in a.trials] == [t.state for t in b.trials]
    np.testing.assert_allclose([t.value for t in a.trials if t.value is not None],
                               [t.value for t in b.trials if t.value is not None], rtol=1e-5)
    assert a.best_params == b.best_params and len(a.repetitions) == 3
    for ra, rb in zip(a.repetitions, b.repetitions):
        np.testing.assert_allclose(ra.logits, rb.logits, rtol=1e-4, atol=1e-4)
        for metric, value in ra.metrics["raw"].items():
            assert value == pytest.approx(rb.metrics["raw"][metric], rel=1e-4, abs=1e-5), metric


def test_batch_trials_are_asked_together_and_trained_as_one():
    """With batch_trials = 4, the trials of a batch start at the same moment (one stack) and
    each later batch sees the earlier ones' results."""
    result = _run(_spec(tuning={"n_trials": 8, "batch_trials": 4}), "focal")
    starts = [t.start_ms for t in result.trials]
    assert len(set(starts[:4])) == 1 and len(set(starts[4:])) == 1 and starts[4] >= max(t.end_ms for t in result.trials[:4])
    one_by_one = _run(_spec(tuning={"n_trials": 8, "batch_trials": 1}), "focal")
    assert len({t.start_ms for t in one_by_one.trials}) == 8


def test_a_batch_stored_only_in_part_is_redone(tmp_path):
    """A kill while a batch was being written leaves part of it in storage: it is ignored and
    the batch redone from the same history, so the study still ends as an uninterrupted one."""
    spec = parse_spec(_spec(tuning={"n_trials": 6, "batch_trials": 3}))
    cell = planned(spec, spec.datasets[0], 10.0, "focal")
    data = DataProvider(spec).prepared(spec.datasets[0], 10.0, 0)
    full = optuna.storages.get_storage(f"sqlite:///{tmp_path}/full.db")
    reference = tune(spec, cell, data, storage=full)[1]
    stored = optuna.load_study(study_name=study_name(spec, cell, 0), storage=full).trials
    assert [t.user_attrs["batch"][::2] for t in stored] == [[0, 3]] * 3 + [[3, 3]] * 3
    cut = optuna.storages.get_storage(f"sqlite:///{tmp_path}/cut.db")
    study = optuna.create_study(storage=cut, study_name=study_name(spec, cell, 0), direction="maximize")
    study.add_trials(stored[:4])  # batch 0 whole, batch 1 cut after its first trial
    resumed = tune(spec, cell, data, storage=cut)[1]
    assert [(t.number, t.params, t.values) for t in resumed] == [(t.number, t.params, t.values) for t in reference]
