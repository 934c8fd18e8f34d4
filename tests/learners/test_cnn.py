"""The convolutional learner: shapes, seeding, the MLP's trainer unchanged, the NLL history, and
that it learns the digits as images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import datasets
import loss_zoo
from harness.learners import FitTask
from harness.learners.models import build_model
from harness.learners.torch_cnn import CNNLearner, SmallResNet, build_cnn
from harness.learners.trainer import TrainConfig, as_tensors, fit, nll, predict_logits
from harness.spec.schema import parse_spec

SPEC = {"name": "t", "datasets": ["images/digits"], "imbalance_ratios": [1], "methods": ["ce"],
        "model": {"name": "cnn", "channels": [8, 16]}, "training": {"max_epochs": 6, "batch_size": 64,
                                                                      "early_stopping": "none", "device": "auto"},
        "tuning": {"metric": "accuracy"}}


@pytest.fixture(scope="module")
def digits() -> datasets.Prepared:
    return datasets.prepare(datasets.load("images/digits"), 1, seed=0)


@pytest.fixture(scope="module")
def few_digits() -> datasets.Prepared:
    return datasets.prepare(datasets.load("images/digits"), 1, seed=0, max_rows=300, min_test_minority=5)


def _task(p: datasets.Prepared, loss: str = "ce", seed: int = 0, **loss_params) -> FitTask:
    return FitTask(p.train.X, p.train.y, p.validation.X, p.validation.y, loss, loss_params,
                   {"lr": 3e-3, "weight_decay": 1e-4}, seed, input_shape=p.image_shape)


def _learner(**training) -> CNNLearner:
    return CNNLearner.from_spec(parse_spec({**SPEC, "training": {**SPEC["training"], **training}}))


@pytest.mark.parametrize("n_outputs", [1, 10])
def test_logits_shape_from_rows_or_images(n_outputs):
    model = SmallResNet((1, 8, 8), (8, 16), blocks=2, n_outputs=n_outputs).eval()
    x = torch.randn(5, 64)
    want = (5,) if n_outputs == 1 else (5, n_outputs)
    assert model(x).shape == want
    torch.testing.assert_close(model(x), model(x.view(5, 1, 8, 8)))


def test_stem_stride_and_stages_downsample():
    model = SmallResNet((1, 28, 28), (4, 8, 16), stem_stride=2)
    shapes = []
    model.features.register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    feats = model.features[:-2](torch.zeros(2, 1, 28, 28))  # before pooling
    assert feats.shape == (2, 16, 4, 4)  # 28 → 14 (stem) → 14 → 7 → 4


def test_head_bias_starts_at_the_prior():
    binary = build_cnn((1, 8, 8), prior=0.1, seed=0)
    assert binary.head.bias.item() == pytest.approx(np.log(0.1 / 0.9))
    multi = build_cnn((1, 8, 8), prior=[0.5, 0.3, 0.2], n_outputs=3, seed=0)
    np.testing.assert_allclose(multi.head.bias.detach().numpy(), np.log([0.5, 0.3, 0.2]), rtol=1e-6)


def test_weights_come_from_the_seed_alone():
    torch.manual_seed(123)
    a = build_cnn((1, 8, 8), seed=7)
    torch.manual_seed(456)
    b = build_cnn((1, 8, 8), seed=7)
    c = build_cnn((1, 8, 8), seed=8)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        torch.testing.assert_close(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_same_seed_reproduces_the_fit_and_another_seed_does_not(few_digits):
    learner = _learner(max_epochs=2)
    first, again, other = (learner.fit([_task(few_digits, seed=s)])[0] for s in (1, 1, 2))
    x = few_digits.test.X
    np.testing.assert_array_equal(first.predict_logits(x), again.predict_logits(x))
    assert not np.allclose(first.predict_logits(x), other.predict_logits(x))


def test_learns_the_digits_as_images_far_above_chance(digits):
    fitted = _learner(max_epochs=3).fit([_task(digits)])[0]
    accuracy = (fitted.predict_logits(digits.test.X).argmax(1) == digits.test.y).mean()
    assert accuracy > 0.7  # chance: 0.1
    assert fitted.report.epochs_run == 3 and fitted.report.stopped_by == "max_epochs"


@pytest.mark.parametrize("loss", ["focal", "mmce", "brier", "label_smoothing", "focal_flsd"])
def test_trains_with_the_zoos_losses_binary_and_multiclass(loss):
    params = {"focal": {"gamma": 3.0}, "mmce": {"lam": 8.0}, "label_smoothing": {"epsilon": 0.05}}.get(loss, {})
    for positive in (None, 3):
        p = datasets.prepare(datasets.load("images/digits", {"positive": positive}), 1 if positive is None else 5,
                             seed=0, max_rows=300, min_test_minority=5)
        fitted = _learner(max_epochs=1).fit([_task(p, loss, **params)])[0]
        logits = fitted.predict_logits(p.test.X)
        assert logits.shape == ((len(p.test.y),) if positive is not None else (len(p.test.y), 10))
        assert np.isfinite(logits).all()


def test_history_is_the_nll_per_epoch(few_digits):
    fitted = _learner(max_epochs=3).fit([_task(few_digits)])[0]
    history = fitted.report.history
    assert len(history["train_nll"]) == len(history["val_nll"]) == 3
    # the last validation NLL is the kept (last) weights' NLL on the validation rows
    val, y_val = fitted.predict_logits(few_digits.validation.X), few_digits.validation.y
    assert history["val_nll"][-1] == pytest.approx(float(nll(torch.as_tensor(val), torch.as_tensor(y_val))), rel=1e-5)
    assert history["train_nll"][-1] < history["train_nll"][0]


def test_one_epoch_is_the_plain_torch_loop(few_digits):
    """The trainer's epoch is AdamW over seeded batches: the same as a hand-written loop."""
    X, y = as_tensors(few_digits.train.X, few_digits.train.y)
    config = TrainConfig(lr=1e-3, weight_decay=1e-4, max_epochs=1, batch_size=100, patience=1)
    ours = build_cnn((1, 8, 8), n_outputs=10, seed=3)
    fit(ours, loss_zoo.get("focal", gamma=2.0), (X, y), None, config, seed=5, score=lambda *a: 0.0)
    plain = build_cnn((1, 8, 8), n_outputs=10, seed=3)
    opt = torch.optim.AdamW(plain.parameters(), lr=1e-3, weight_decay=1e-4)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(5))
    plain.train()
    for start in range(0, len(X), 100):
        idx = order[start : start + 100]
        loss = loss_zoo.focal.focal_loss(plain(X[idx]), y[idx], gamma=2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for a, b in zip(ours.state_dict().values(), plain.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_tracking_nll_leaves_the_mlps_training_bit_identical(digits):
    X, y = as_tensors(digits.train.X, digits.train.y)
    val = as_tensors(digits.validation.X, digits.validation.y)
    config = TrainConfig(lr=1e-2, weight_decay=1e-4, max_epochs=3, batch_size=64, patience=2)
    runs = []
    for track in (False, True):
        model = build_model("mlp", 64, hidden_sizes=(16,), n_outputs=10, seed=0)
        report = fit(model, loss_zoo.get("ce"), (X, y), val, config, seed=1, score=lambda *a: 0.0, track_nll=track)
        runs.append((predict_logits(model, val[0]), report))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1].history == {} and len(runs[1][1].history["val_nll"]) == runs[1][1].epochs_run


def test_refuses_rows_without_an_image_shape(digits):
    task = FitTask(digits.train.X, digits.train.y, digits.validation.X, digits.validation.y, "ce", {},
                   {"lr": 1e-3, "weight_decay": 0.0}, 0)
    with pytest.raises(ValueError, match=r"^cnn: expected images .* got rows of 64 features with image shape None"):
        _learner().fit([task])


def test_device_auto_is_the_gpu_where_torch_sees_one():
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert _learner().device.type == want


def test_ldam_trains_on_a_cosine_head_after_the_pooling(few_digits):
    """LDAM's normalised last layer on the CNN: logits s·cos(h, w_k), so |z| ≤ s, as the authors'
    ResNet's NormedLinear (kaidic/LDAM-DRW, models/resnet_cifar.py) with the scale folded in."""
    from harness.learners.models import CosineLinear

    model = build_cnn((1, 8, 8), channels=(8,), n_outputs=10, seed=0, cosine_scale=30.0)
    assert isinstance(model.head, CosineLinear) and not hasattr(model.head, "bias")
    counts = np.bincount(few_digits.train.y, minlength=10).tolist()
    params = loss_zoo.entry("ldam").loss_params({"ldam_drw_epoch": 1.0}, counts)
    fitted = _learner(max_epochs=2).fit([_task(few_digits, "ldam", **params)])[0]
    logits = fitted.predict_logits(few_digits.test.X)
    assert logits.shape == (len(few_digits.test.y), 10) and np.isfinite(logits).all()
    assert np.abs(logits).max() <= 30.0 + 1e-4
