r"""The fully convolutional learner (model ``fcn``): one logit per canvas location, for the dense
task (:mod:`datasets.dense`).

Data. A row of ``X`` is a canvas: S² pixels, then S² scoring-mask values (1 scored, 0 ignored;
:mod:`datasets.dense` says why the mask travels in X). The net reads the pixel plane only; the
mask picks which of its S² logits are returned, so ``predict_logits(X)`` is aligned with the
per-location labels ``y`` (canvas-major, row-major). Training rebuilds each canvas's targets
(S², with -1 where ignored) from the mask and ``y``, so mini-batches are canvases.

Net. Conv(3×3, dilation d_k) + ReLU per entry of ``channels``, then a 1×1 conv to one logit
(padding keeps S×S). Hidden layers take torch's default initialisation from the seed; the
final layer Lin et al.'s: weights N(0, 0.01²) and bias b = −log((1 − π)/π), π = 0.01, so every
location starts at p = π whatever the loss (Lin, Goyal, Girshick, He, Dollár, ICCV 2017, § 3.3).

Loss. Every loss is normalised by positives, as Lin does: a batch's loss is
Σ_i ℓ_i / P̄, the sum over its scored locations of the loss's per-location terms
(``reduction="none"``) divided by P̄ = (positive training locations) × (batch canvases) /
(training canvases), the mean positive count of a batch. P̄ is a constant of the fit (not the
batch's own count, which is 0 for most batches at ρ = 10⁴), so an epoch's summed loss is
Σ_all ℓ_i / P, Lin's normaliser over the epoch. A batch-level loss that declares
``grouped_terms`` (OHEM) mines within each canvas (Shrivastava et al. mine per image) and its
mined terms are normalised the same way. MMCE is left out: its kernel sum is quadratic in the
locations (10⁵–10⁷ per epoch).

Mechanism. :mod:`harness.learners.easy_negatives` measures CE's easy-negative shares at
initialisation and after every epoch; their means are the fit report's ``probes``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import loss_zoo
from datasets.dense import canvas_targets, side_of
from harness.learners import easy_negatives
from harness.learners.base import FitReport, FitTask, Fitted
from harness.learners.early_stopping import EarlyStopping
from harness.learners.trainer import TrainConfig, predict_logits, probabilities
from harness.metrics import per_task
from harness.space import INF, Float
from harness.spec.schema import Spec

#: The fcn's tuned parameters: AdamW's learning rate and weight decay.
SPACE = {
    "lr": Float(1e-4, 3e-2, log=True, valid=(0.0, INF)),
    "weight_decay": Float(1e-6, 1e-2, log=True, valid=(0.0, INF)),
}
PRIOR = 0.01  # π of Lin et al.'s initialisation


def cannot_take(loss: str, n_classes: int = 2) -> str | None:
    """Why the fcn cannot train with ``loss`` (None: it can); ``n_classes``: the learner
    interface's, always 2 here (every location is a binary decision)."""
    entry = loss_zoo.entry(loss)
    if loss == "mmce":
        return "MMCE's kernel sum is quadratic in the scored locations; left out of the dense task"
    if not entry.binary:
        return "every location is a binary decision; the loss takes multi-class logits only"
    return None


class FCN(nn.Module):
    """Fully convolutional net: canvas rows (N, 2·S²) in, logits of the scored locations out.

    Parameters
    ----------
    side : int
        S.
    channels, dilations : sequences of int, one entry per hidden conv layer
    """

    def __init__(self, side: int, channels: Sequence[int], dilations: Sequence[int]) -> None:
        super().__init__()
        self.side = side
        layers: list[nn.Module] = []
        width = 1
        for c, d in zip(channels, dilations):
            layers += [nn.Conv2d(width, c, 3, padding=d, dilation=d), nn.ReLU()]
            width = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 1)

    def maps(self, X: torch.Tensor) -> torch.Tensor:
        """Logits of every location, (N, S²), from the pixel plane of canvas rows (N, 2·S²)."""
        s2 = self.side * self.side
        pixels = X[:, :s2].reshape(-1, 1, self.side, self.side)
        return self.head(self.body(pixels)).reshape(-1, s2)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits of the scored locations (mask plane > 0.5), canvas-major: shape (M,)."""
        s2 = self.side * self.side
        return self.maps(X)[X[:, s2:] > 0.5]


def build_fcn(side: int, channels: Sequence[int], dilations: Sequence[int], *, seed: int, prior: float = PRIOR) -> FCN:
    """An :class:`FCN` drawn from ``seed`` alone, its head at Lin et al.'s prior initialisation."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FCN(side, channels, dilations)
        with torch.no_grad():
            nn.init.normal_(model.head.weight, std=0.01)
            model.head.bias.fill_(-math.log((1 - prior) / prior))
    return model


class DenseLoss(nn.Module):
    """A zoo loss over scored locations, normalised by positives (see the module docstring).

    ``forward(logits (M,), targets)``: ``targets`` (B, S²) with -1 where ignored (a training
    batch of B canvases; normalised by ``per_batch_positives``), or (M,) labels (a whole split:
    normalised by its own positive count).
    """

    def __init__(self, loss: nn.Module, per_batch_positives: float) -> None:
        super().__init__()
        self.loss, self.per_batch_positives = loss, per_batch_positives

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        grouped = getattr(self.loss, "grouped_terms", None)
        if targets.dim() == 2:
            keep = targets >= 0
            labels, norm = targets[keep], self.per_batch_positives
            groups = None if grouped is None else torch.arange(len(targets))[:, None].expand_as(targets)[keep]
        else:
            labels, groups, norm = targets, torch.zeros_like(targets), max(float(targets.sum()), 1.0)
        terms = grouped(logits, labels, groups) if grouped is not None else self.loss(logits, labels)
        return terms.sum() / norm


@dataclass(frozen=True)
class FCNLearner:
    """Fits :class:`~harness.learners.base.FitTask` objects on canvas rows one at a time with
    AdamW (``lr``, ``weight_decay`` from each task) and the spec's early-stopping rule."""

    name: str
    channels: tuple[int, ...]
    dilations: tuple[int, ...]
    config: TrainConfig
    score: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool
    stop_on: str
    probes: bool

    @classmethod
    def from_spec(cls, spec: Spec, model=None) -> FCNLearner:
        model = model if model is not None else spec.model
        training = spec.training
        config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=training.max_epochs,
                             batch_size=training.batch_size, patience=training.patience)
        metric = spec.tuning.metrics[0]
        stop_on = {"loss": "loss", "metric": "score", "none": "none"}[training.early_stopping]
        return cls(model.name, tuple(model.channels), tuple(model.dilations), config, per_task.monitor(metric),
                   per_task.higher_is_better(metric), stop_on, model.probes)

    def fit(self, tasks: Sequence[FitTask]) -> list[Fitted]:
        return [self._fit_one(task) for task in tasks]

    def _fit_one(self, task: FitTask) -> Fitted:
        side = side_of(task.X_train.shape[1])
        model = build_fcn(side, self.channels, self.dilations, seed=task.seed)
        X = torch.as_tensor(task.X_train, dtype=torch.float32)
        targets = torch.as_tensor(canvas_targets(task.X_train, task.y_train))
        per_batch = float((targets == 1).sum()) * min(self.config.batch_size, len(X)) / len(X)
        loss = DenseLoss(loss_zoo.get(task.loss, **task.loss_params, reduction="none"), max(per_batch, 1e-12))
        measured = self.probes and task.on_step is None  # the evaluated fits, not the tuning trials
        probe = easy_negatives.probe_set(X, targets, seed=task.seed) if measured else None
        validation = (torch.as_tensor(task.X_val, dtype=torch.float32), torch.as_tensor(task.y_val, dtype=torch.long))
        report = fit_canvases(model, loss, (X, targets), validation, self.config, task, score=self.score,
                              higher_is_better=self.higher_is_better, stop_on=self.stop_on, probe=probe)
        return Fitted(report, _predictor(model))


def _epoch(model: FCN, loss: DenseLoss, train, optimizer, order: torch.Tensor, batch_size: int) -> torch.Tensor:
    """One pass over the canvases in ``order``; the summed batch losses."""
    X, targets = train
    model.train()
    total = torch.zeros(())
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        value = loss(model(X[idx]), targets[idx])
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        total += value.detach()
    return total


def fit_canvases(model: FCN, loss: DenseLoss, train, validation, config: TrainConfig, task: FitTask, *,
                 score, higher_is_better: bool, stop_on: str, probe=None) -> FitReport:
    """Train ``model`` in place on canvas batches (AdamW; the rule of
    :class:`~harness.learners.early_stopping.EarlyStopping`; best or last weights kept as it
    says); the report's ``probes`` hold the mean easy-negative shares when ``probe`` is given."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=task.params["lr"], weight_decay=task.params["weight_decay"])
    stopping = EarlyStopping(config.patience, stop_on, higher_is_better)
    generator = torch.Generator().manual_seed(task.seed)
    X_val, y_val = validation
    y_val_np = y_val.numpy()
    history = [easy_negatives.shares(model, probe)] if probe is not None else []
    best_state = None
    for epoch in range(config.max_epochs):
        order = torch.randperm(len(train[0]), generator=generator)
        if not torch.isfinite(_epoch(model, loss, train, optimizer, order, config.batch_size)):
            stopping.diverged(epoch)
            break
        if probe is not None:
            history.append(easy_negatives.shares(model, probe))
        val_logits = predict_logits(model, X_val, batch_size=256)
        value = float(score(y_val_np, probabilities(val_logits)))
        verdict = stopping.observe(epoch, value, lambda: loss(val_logits, y_val))
        if verdict.improved:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if verdict.stop or stopping.prune(epoch, value, task.on_step):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    report = stopping.report()
    report.probes = easy_negatives.mean_shares(history)
    return report


def _predictor(model: FCN) -> Callable[[np.ndarray], np.ndarray]:
    def predict(X: np.ndarray) -> np.ndarray:
        return predict_logits(model, torch.as_tensor(X, dtype=torch.float32), batch_size=256).double().numpy()

    return predict
