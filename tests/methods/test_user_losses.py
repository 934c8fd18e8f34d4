"""A user's own loss from one file: loaded, probed and registered when the spec is planned; bad
files stop with one line naming the field and the value (exit 2, nothing written); the file's
contents are in the spec hash; the MLP trains it by autograd, to what training the same function
by hand gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, write_spec

import loss_zoo
import runner
from harness import load_spec
from harness.errors import UserError
from harness.methods import user_losses
from harness.plan.checks import parse_spec

EXAMPLE = ROOT / "benchmarks" / "examples" / "squared_hinge.py"

CE_FILE = '''
import torch.nn.functional as F

def ce(logits, targets):
    if logits.ndim == 1:
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction="none")
    return F.cross_entropy(logits, targets, reduction="none")
'''


@pytest.fixture(autouse=True)
def _registry():
    """Every test leaves the loss registry as it found it."""
    with loss_zoo.registered():
        yield


def _with_function(spec: dict, function: str, name: str = "mine") -> dict:
    return {**spec, "methods": ["ce", {"name": name, "function": function}]}


BAD_FILES = [
    # (file contents or None for no file, reference suffix, expected message)
    (None, "missing.py:fn", "methods[1].function: expected FILE.py:FN with an existing file (relative to the "
                            "working directory), got 'missing.py:fn': no file 'missing.py'"),
    ("def other(logits, targets):\n    return logits\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: 'loss.py' has no function 'fn' (its functions: other)"),
    ("def fn(logits):\n    return logits\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: expected fn(logits, targets, **params), got fn(logits)"),
    ("def fn(logits, targets, scale):\n    return logits * scale\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: expected a default (or a SPACE range) for every parameter after logits, "
     "targets; ['scale'] have none"),
    ("import torch\ndef fn(logits, targets):\n    return torch.log(torch.sigmoid(logits) - 0.5)\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: expected finite losses on a binary probe batch"),
    ("def fn(logits, targets):\n    return logits.sum()\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: expected per-sample losses of shape (12,) on a binary probe batch "
     "(logits (12,), targets (12,)), got shape ()"),
    ("def fn(logits, targets):\n    return logits.detach() ** 2\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: expected losses differentiable in the logits"),
    ("raise RuntimeError('boom')\n", "loss.py:fn",
     "methods[1].function: loss.py:fn: importing 'loss.py' raised RuntimeError: boom"),
    ("from harness.space import Int\nSPACE = {'k': Int(1, 3)}\ndef fn(logits, targets, k=1):\n    return logits**2\n",
     "loss.py:fn", "methods[1].function: loss.py:fn: SPACE: k: expected harness.space.Float or OptionalFloat"),
    ("from harness.space import Float\nSPACE = {'m': Float(0, 1)}\ndef fn(logits, targets):\n    return logits**2\n",
     "loss.py:fn", "methods[1].function: loss.py:fn: SPACE names ['m'], not keyword parameters of fn(logits, targets)"),
]


@pytest.mark.parametrize("contents,reference,message", BAD_FILES, ids=[m[2].split(": ")[-1][:40] for m in BAD_FILES])
def test_bad_loss_file_one_line_exit_2_nothing_written(workdir, tiny_spec, capsys, contents, reference, message):
    if contents is not None:
        (workdir / "loss.py").write_text(contents)
    spec_path = write_spec(workdir, _with_function(tiny_spec, reference))
    before = sorted(p.name for p in workdir.iterdir())
    code = runner.main(["run", str(spec_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {spec_path}: "), err
    assert message in err
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_a_zoo_name_is_refused_and_a_sampler_too(workdir, tiny_spec):
    (workdir / "loss.py").write_text(CE_FILE)
    with pytest.raises(UserError, match=r"methods\[1\].name: 'focal' is a loss of the zoo; give your function its own"):
        parse_spec(_with_function(tiny_spec, "loss.py:ce", name="focal"))
    with pytest.raises(UserError, match=r"methods\[1\].*name: expected a plain loss name for a function entry"):
        parse_spec(_with_function(tiny_spec, "loss.py:ce", name="mine+smote"))
    with pytest.raises(UserError, match=r"methods\[1\].function: String should match pattern"):
        parse_spec(_with_function(tiny_spec, "loss.txt:ce"))


def test_the_file_contents_are_in_the_spec_hash_and_specs_without_one_keep_theirs(workdir, tiny_spec):
    plain = load_spec(write_spec(workdir, tiny_spec, "plain.yaml")).spec_hash()
    (workdir / "loss.py").write_text(CE_FILE)
    first = parse_spec(_with_function(tiny_spec, "loss.py:ce")).spec_hash()
    assert parse_spec(_with_function(tiny_spec, "loss.py:ce")).spec_hash() == first
    (workdir / "loss.py").write_text(CE_FILE + "\n# edited\n")
    assert parse_spec(_with_function(tiny_spec, "loss.py:ce")).spec_hash() != first
    assert plain == parse_spec(tiny_spec).spec_hash()
    assert "function" not in parse_spec(tiny_spec).model_dump(mode="json")["methods"][0]


def test_the_example_registers_with_its_space_and_both_tasks(workdir, tiny_spec):
    shutil.copy(EXAMPLE, workdir / "squared_hinge.py")
    spec = parse_spec({**_with_function(tiny_spec, "squared_hinge.py:squared_hinge", name="sqh"),
                       "tuning": {"n_trials": 3, "search_space": {"sqh_margin": [0.5, 1.0]}}})
    entry = loss_zoo.entry("sqh")
    assert entry.binary and entry.multiclass and entry.per_sample is not None
    assert entry.space["sqh_margin"].low == 0.5 and entry.defaults() == {"sqh_margin": 1.0}
    assert entry.loss_params({"sqh_margin": 0.7}, [5, 5]) == {"margin": 0.7}
    z, y = torch.tensor([0.5, -2.0, 3.0]), torch.tensor([1, 0, 0])
    expected = torch.relu(0.7 - (2.0 * y - 1) * z) ** 2
    torch.testing.assert_close(loss_zoo.get("sqh", margin=0.7, reduction="none")(z, y), expected)
    from harness.plan.resolve import method_of

    assert method_of(spec, "sqh").full_space["sqh_margin"].high == 1.0  # narrowed by the spec


def test_a_binary_only_function_is_a_binary_loss(workdir, tiny_spec):
    (workdir / "loss.py").write_text("import torch\ndef fn(logits, targets):\n"
                                     "    return torch.nn.functional.softplus(-(2.0 * targets - 1) * logits)\n")
    parse_spec(_with_function(tiny_spec, "loss.py:fn"))
    entry = loss_zoo.entry("mine")
    assert entry.binary and not entry.multiclass


def test_the_mlp_trains_the_function_by_autograd_as_a_hand_written_loop_does(workdir):
    """The torch learner fits a user loss one model at a time (no stacked form): the same model
    as ``trainer.fit`` with the user's function wrapped by hand (an independent module)."""
    from harness.learners.base import FitTask
    from harness.learners.models import build_model
    from harness.learners.torch_mlp import TorchLearner
    from harness.learners.trainer import TrainConfig, as_tensors, fit

    (workdir / "loss.py").write_text(CE_FILE)
    loss_zoo.register(user_losses.entry_for("mine", "loss.py:ce"), replace=True)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 3)).astype(np.float32), (rng.random(120) < 0.3).astype(np.int64)
    config = TrainConfig(lr=0.01, weight_decay=0.0, max_epochs=3, batch_size=32, patience=3)
    score = lambda yt, p: float(-np.mean((p - yt) ** 2))  # noqa: E731
    learner = TorchLearner("mlp", (8,), 0.0, config, score, True, "loss", True, torch.device("cpu"))
    task = FitTask(X[:80], y[:80], X[80:], y[80:], "mine", {}, {"lr": 0.01, "weight_decay": 0.0}, seed=4)
    [fitted] = learner.fit([task])

    class ByHand(torch.nn.Module):
        def forward(self, z, t):
            return F.binary_cross_entropy_with_logits(z, t.float())

    model = build_model("mlp", 3, hidden_sizes=(8,), dropout=0.0, prior=float(y[:80].mean()), seed=4)
    fit(model, ByHand(), as_tensors(X[:80], y[:80]), as_tensors(X[80:], y[80:]), config, seed=4, score=score)
    with torch.no_grad():
        expected = model(torch.as_tensor(X[80:])).double().numpy()
    np.testing.assert_allclose(fitted.predict_logits(X[80:]), expected, rtol=1e-5, atol=1e-6)


def test_the_example_spec_is_valid_and_plans_both_models(monkeypatch):
    from harness.plan.cells import expand

    monkeypatch.chdir(ROOT)  # the spec names its file relative to the repository root

    spec = load_spec(ROOT / "benchmarks" / "examples" / "user_loss.yaml")
    cells = expand(spec)
    assert {(c.model_key, c.method) for c in cells} == {(m, k) for m in ("mlp", "lightgbm")
                                                         for k in ("ce", "squared_hinge")}
    assert Path(spec.methods[1].function.split(":")[0]).name == "squared_hinge.py"
