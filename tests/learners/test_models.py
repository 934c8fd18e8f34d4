"""The model axis: cells dataset × ρ × model × method, data seeds shared across models, ensembles
as methods that are their own learner, per-learner search spaces, and bad model input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import TINY_SPEC, write_spec
from sklearn.metrics import average_precision_score

import loss_zoo
import runner
from harness import expand, parse_spec
from harness.learners import ensembles
from harness.learners.base import FitTask
from harness.plan.resolve import method_of
from harness.store.results import read_table


def _spec(**changes) -> dict:
    spec = copy.deepcopy(TINY_SPEC)
    spec.update(changes)
    if "models" in changes:
        spec.pop("model")
    return spec


def test_models_axis_cells_and_listing(capsys):
    spec = parse_spec(_spec(models=[{"name": "mlp", "hidden_sizes": [8]}, {"name": "mlp", "label": "wide", "hidden_sizes": [64]},
                                    {"name": "lightgbm", "max_rounds": 20}],
                            methods=["ce", "focal", "balanced_random_forest"]))
    cells = expand(spec)
    keys = [(c.ratio_label, c.model_key, c.method) for c in cells]
    assert len(cells) == 2 * (3 * 2 + 1)
    assert keys[:7] == [("1", "mlp", "ce"), ("1", "mlp", "focal"), ("1", "wide", "ce"), ("1", "wide", "focal"),
                        ("1", "lightgbm", "ce"), ("1", "lightgbm", "focal"), ("1", "ensemble", "balanced_random_forest")]
    assert cells[0].seed_parts == () and cells[2].seed_parts == ("wide",) and cells[6].seed_parts == ("ensemble",)


def test_each_learner_declares_its_space_and_overrides_apply_per_learner():
    spec = parse_spec(_spec(models=[{"name": "mlp"}, {"name": "lightgbm"}], methods=["focal", "rus_boost"],
                            tuning={"n_trials": 2, "search_space": {"lgbm_num_leaves": [4, 8], "lr": 0.01,
                                                                    "focal_gamma": 1.0}}))
    mlp, lgbm = spec.models
    mlp_space, lgbm_space = method_of(spec, "focal", mlp).full_space, method_of(spec, "focal", lgbm).full_space
    assert list(mlp_space)[:2] == ["lr", "weight_decay"] and "lgbm_num_leaves" not in mlp_space
    assert "lr" not in lgbm_space and lgbm_space["lgbm_num_leaves"].high == 8
    assert mlp_space["focal_gamma"].value == 1.0 == lgbm_space["focal_gamma"].value
    rus = method_of(spec, "rus_boost", mlp).full_space
    assert set(rus) == set(ensembles.SPACES["rus_boost"]) and method_of(spec, "rus_boost").loss == "none"


MODEL_ERRORS = [
    ({"model": {"name": "xgboost"}}, "model.name: unknown model 'xgboost'; known: mlp, logistic, lightgbm"),
    ({"models": [{"name": "mlp"}, {"name": "lightgbm", "hidden_sizes": [3]}]},
     "models[1].hidden_sizes: not a setting of model 'lightgbm'; its settings: label, max_rounds"),
    ({"models": [{"name": "lightgbm"}], "tuning": {"n_trials": 2, "search_space": {"lr": 0.1}}},
     "tuning.search_space.lr: a parameter of model 'mlp', which this spec does not train (models: lightgbm)"),
    ({"models": [{"name": "mlp"}, {"name": "mlp"}]}, "models: model 'mlp' appears twice; give each entry its own label"),
    ({"model": {"name": "ensemble"}}, "(ensembles are methods: list them under methods)"),
    ({"model": {"name": "mlp"}, "models": [{"name": "lightgbm"}]}, "model, models: expected one of them, got both"),
]


@pytest.mark.parametrize("changes,message", MODEL_ERRORS, ids=[m[1][:30] for m in MODEL_ERRORS])
def test_bad_model_input_one_line_exit_2_nothing_written(workdir, capsys, changes, message):
    spec = copy.deepcopy(TINY_SPEC)
    if "models" in changes and "model" not in changes:
        spec.pop("model")
    spec.update(changes)
    path = write_spec(workdir, spec)
    before = sorted(p.name for p in workdir.iterdir())
    assert runner.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_a_loss_lightgbm_cannot_take_is_one_line(workdir, capsys):
    ce = loss_zoo.entry("ce")
    lossy = loss_zoo.LossEntry("no_terms_loss", ce.function, ce.module, "test", binary_terms=None)
    with loss_zoo.registered(lossy):
        path = write_spec(workdir, _spec(models=[{"name": "lightgbm"}], methods=["ce", "no_terms_loss"]))
        assert runner.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "methods[1]: model 'lightgbm' cannot train with loss 'no_terms_loss'" in err, err
    assert not (workdir / "results").exists()


G4 = [{"name": "synthetic/gaussian_multiclass", "label": "g4", "params": {"n_samples": 1500, "n_classes": 4, "n_features": 4}}]


def test_a_binary_only_learner_on_multiclass_data_is_one_line(workdir, capsys, monkeypatch):
    """Every shipped learner trains multi-class data; one registered as binary-only is refused
    at plan time, before anything is written."""
    from harness import learners

    entry = learners.REGISTRY["lightgbm"]
    monkeypatch.setitem(learners.REGISTRY, "lightgbm", learners.LearnerEntry(entry.module, entry.cls, multiclass=False))
    monkeypatch.setattr(learners, "MULTICLASS", learners.MULTICLASS - {"lightgbm"})
    spec = _spec(datasets=G4, models=[{"name": "lightgbm"}])
    assert runner.main(["run", str(write_spec(workdir, spec))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model 'lightgbm': trains binary data only, and g4 has 4 classes" in err, err
    assert not (workdir / "results").exists()


def test_a_loss_without_multiclass_terms_on_multiclass_lightgbm_is_one_line(workdir, capsys):
    """A loss with binary terms only passes the (task-free) spec check and is refused once the
    dataset's classes are known, before anything is written."""
    ce = loss_zoo.entry("ce")
    binary_terms_only = loss_zoo.LossEntry("binary_terms_only", ce.function, ce.module, "test",
                                           binary_terms=ce.binary_terms)
    with loss_zoo.registered(binary_terms_only):
        spec = _spec(datasets=G4, models=[{"name": "lightgbm"}], methods=["ce", "binary_terms_only"])
        assert runner.main(["run", str(write_spec(workdir, spec))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert ("methods: 'binary_terms_only': model 'lightgbm' cannot train with loss 'binary_terms_only' on g4's 4 "
            "classes (its entry declares no per-sample multi-class terms for a custom objective)") in err, err
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("loss", sorted(name for name, e in loss_zoo.available().items() if not e.multiclass))
def test_a_binary_only_loss_on_multiclass_data_is_one_line(workdir, capsys, loss):
    """A loss whose entry is binary only (ASL, the dense task's CE without easy negatives) on a
    multi-class set is refused once the classes are known, before anything is written; it once
    reached the loss and raised a traceback from inside the trainer."""
    spec = _spec(datasets=G4, methods=["ce", loss])
    assert runner.main(["run", str(write_spec(workdir, spec))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert (f"methods: {loss!r}: model 'mlp' cannot train with loss {loss!r} on g4's 4 classes "
            "(not a multi-class loss); keep them apart with only: {task: binary}") in err, err
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("name", ensembles.ENSEMBLES)
def test_each_ensemble_fits_and_gives_finite_logits(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=600) > 1.3).astype(int)
    params = {k: (d.low + d.high) / 2 if isinstance(d.low, float) else (d.low + d.high) // 2
              for k, d in ensembles.SPACES[name].items()}
    learner = ensembles.EnsembleLearner(name, average_precision_score)
    fitted = learner.fit([FitTask(X[:400], y[:400], X[400:], y[400:], None, {}, params, seed=1)])[0]
    logits = fitted.predict_logits(X[400:])
    assert np.all(np.isfinite(logits)) and np.abs(logits).max() <= 16.2
    assert fitted.report.best_score > 0.5
    again = learner.fit([FitTask(X[:400], y[:400], X[400:], y[400:], None, {}, params, seed=1)])[0]
    np.testing.assert_array_equal(logits, again.predict_logits(X[400:]))


@pytest.mark.slow
def test_mlp_cells_do_not_move_when_models_are_added(workdir):
    """Data seeds leave the model out and the torch learner's seeds are unchanged: adding a
    LightGBM model and an ensemble leaves the MLP cells' values exactly as they were."""
    base = _spec(imbalance_ratios=[10], methods=["ce"], evaluation={"repetitions": 2, "plots": False})
    more = _spec(imbalance_ratios=[10], methods=["ce", "easy_ensemble"], evaluation={"repetitions": 2, "plots": False},
                 models=[TINY_SPEC["model"], {"name": "lightgbm", "max_rounds": 20}], name="tiny2")
    tables = []
    for spec in (base, more):
        path = write_spec(workdir, spec, f"{spec['name']}.yaml")
        assert runner.main(["run", str(path), "--no-tracking", "--storage", "memory", "--quiet"]) == 0
        tables.append(read_table(workdir / "results" / spec["name"] / "results.csv"))
    a, b = tables
    b_mlp = b[b["model"] == "mlp"].reset_index(drop=True)
    assert set(b["model"]) == {"mlp", "lightgbm", "ensemble"} and set(b.loc[b["model"] == "ensemble", "loss"]) == {"none"}
    np.testing.assert_array_equal(a["value"].to_numpy(), b_mlp["value"].to_numpy())
    assert "closed_form" not in set(b.loc[b["model"] == "ensemble", "calibration"])


@pytest.mark.parametrize("stacked", [True, False])
def test_early_stopping_none_trains_every_epoch_and_keeps_the_last_weights(stacked):
    from harness.learners import for_model

    spec = parse_spec(_spec(training={"max_epochs": 7, "batch_size": 128, "patience": 1, "early_stopping": "none",
                                      "stacked": stacked}))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4)).astype(np.float32)
    y = (X[:, 0] > 1.0).astype(np.int64)
    task = FitTask(X[:300], y[:300], X[300:], y[300:], "ce", {}, {"lr": 0.05, "weight_decay": 0.0}, seed=2)
    fits = for_model(spec).fit([task, task])
    for fitted in fits:
        assert fitted.report.stopped_by == "max_epochs" and fitted.report.best_epoch == 6
        assert fitted.report.epochs_run == 7
    np.testing.assert_allclose(fits[0].predict_logits(X), fits[1].predict_logits(X), rtol=1e-5, atol=1e-5)


def test_a_method_twice_with_labels_and_its_own_search_space():
    spec = parse_spec(_spec(methods=["ce", {"name": "focal", "label": "focal_g1", "search_space": {"focal_gamma": 1.0}},
                                     {"name": "focal", "label": "focal_g3", "search_space": {"focal_gamma": 3.0}}]))
    assert [c.method for c in expand(spec)][:3] == ["ce", "focal_g1", "focal_g3"]
    assert method_of(spec, "focal_g1").full_space["focal_gamma"].value == 1.0
    assert method_of(spec, "focal_g3").full_space["focal_gamma"].value == 3.0
    with pytest.raises(Exception, match=r"methods\[1\].search_space.lgbm_num_leaves: not a parameter of method 'f1'"):
        parse_spec(_spec(methods=["ce", {"name": "focal", "label": "f1", "search_space": {"lgbm_num_leaves": 4}}]))
    with pytest.raises(Exception, match="give a repeated method a label"):
        parse_spec(_spec(methods=["focal", {"name": "focal"}]))


def test_an_ensemble_that_cannot_fit_is_a_failed_fit_not_a_crash(monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("BaseClassifier in AdaBoostClassifier ensemble is worse than random")

    monkeypatch.setattr(ensembles, "build", refuse)
    X = np.zeros((20, 2))
    y = np.arange(20) % 2
    fitted = ensembles.EnsembleLearner("rus_boost", average_precision_score).fit_one(
        FitTask(X, y, X, y, None, {}, {}, seed=0))
    assert fitted.report.stopped_by == "diverged" and "worse than random" in fitted.report.reason
    assert np.isnan(fitted.predict_logits(X)).all()


def test_report_compares_ensembles_within_each_model_and_describes_the_first():
    import pandas as pd

    from harness.report.build import ensembles_per_model, first_model

    two = pd.DataFrame({"model": ["mlp", "lightgbm", "ensemble"], "method": ["ce", "ce", "rus_boost"]})
    spread = ensembles_per_model(two)
    assert sorted(zip(spread["model"], spread["method"])) == [
        ("lightgbm", "ce"), ("lightgbm", "rus_boost"), ("mlp", "ce"), ("mlp", "rus_boost")]
    rows, model = first_model(spread)
    assert model == "mlp" and set(rows["method"]) == {"ce", "rus_boost"}
    one = pd.DataFrame({"model": ["mlp", "mlp"], "method": ["ce", "focal"]})
    assert ensembles_per_model(one).equals(one) and first_model(one)[1] is None
    old = pd.DataFrame({"method": ["ce"]})  # results from before the model axis
    assert ensembles_per_model(old).equals(old) and first_model(old)[1] is None



def test_only_task_keeps_an_entry_to_binary_or_multiclass_data():
    spec = parse_spec(_spec(datasets=[{"name": "synthetic/gaussian", "label": "bin", "params": {"n_samples": 2400}},
                                      {"name": "synthetic/gaussian_multiclass", "label": "multi",
                                       "params": {"n_samples": 1200, "n_classes": 3}},
                                      {"name": "sklearn/wine"}],
                            imbalance_ratios=[1],
                            models=[{"name": "mlp"}, {"name": "lightgbm", "only": {"task": "binary"}}],
                            methods=["ce", {"name": "focal", "only": {"task": "multiclass"}}]))
    keys = [(c.dataset.key, c.model_key, c.method) for c in expand(spec)]
    assert keys == [("bin", "mlp", "ce"), ("bin", "lightgbm", "ce"), ("multi", "mlp", "ce"), ("multi", "mlp", "focal"),
                    ("sklearn/wine", "mlp", "ce"), ("sklearn/wine", "mlp", "focal")]
    unset = parse_spec(_spec(models=[{"name": "mlp"}, {"name": "lightgbm", "only": {"methods": ["ce"]}}]))
    binary = parse_spec(_spec(models=[{"name": "mlp"}, {"name": "lightgbm", "only": {"methods": ["ce"], "task": "binary"}}]))
    assert unset.spec_hash() != binary.spec_hash()  # set, it is part of the hash (unset, it is not: old hashes hold)


def test_every_learner_is_registered_once_on_each_side():
    """A model name a spec may list has settings in the schema and an entry in the learner
    registry, and the other way round."""
    from harness import learners
    from harness.spec import schema

    assert set(schema.MODEL_NAMES) == set(learners.available())
    for name in schema.MODEL_NAMES:
        entry = learners.REGISTRY[name]
        assert hasattr(entry.load(), entry.cls) and learners.space(name)
