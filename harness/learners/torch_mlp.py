"""The torch learner: a logistic model or an MLP, trained with any loss of the zoo.

Tasks whose models share an architecture and data sizes, and whose losses have the common
per-sample form, train as one stacked model (``training.stacked``, :mod:`harness.learners.batched`);
the others one by one with :func:`harness.learners.trainer.fit`. Each model gets what training it
alone gives, to float tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import torch

import loss_zoo
from harness.learners.base import FitReport, FitTask, Fitted
from harness.learners.batched import Member, can_batch, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit, predict_logits
from harness.metrics import per_task
from harness.space import INF, Float
from harness.spec.schema import Spec

#: The torch learner's tuned parameters: AdamW's learning rate and weight decay.
SPACE = {
    "lr": Float(1e-4, 3e-1, log=True, valid=(0.0, INF)),
    "weight_decay": Float(1e-6, 1e-2, log=True, valid=(0.0, INF)),
}


def resolve_device(name: str) -> torch.device:
    """``training.device``: "auto" is CUDA when torch sees a GPU, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass(frozen=True)
class TorchLearner:
    """Fits :class:`~harness.learners.base.FitTask` objects with AdamW (``lr``,
    ``weight_decay`` from each task's parameters) and early stopping.

    ``score`` is the validation score watched per epoch (reported to ``on_step``; with
    ``stop_on="score"`` also what early stopping follows), ``stop_on="loss"`` follows the
    task's own loss on the validation split.
    """

    name: str
    hidden_sizes: tuple[int, ...]
    dropout: float
    config: TrainConfig
    score: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool
    stop_on: str
    stacked: bool
    device: torch.device

    #: whether each fit records its per-epoch training and validation NLL (``FitReport.history``)
    track_nll: ClassVar[bool] = False

    @classmethod
    def from_spec(cls, spec: Spec, model=None) -> TorchLearner:
        """The learner of ``model`` (a torch entry of ``spec.models``; default the first)."""
        model = model if model is not None else spec.model
        return cls(model.name, tuple(model.hidden_sizes), model.dropout, **training_settings(spec))

    def _build(self, task: FitTask, n_features: int, outputs: dict, cosine_scale: float | None = None) -> torch.nn.Module:
        """The model of ``task``, its weights drawn from ``task.seed`` alone, on the CPU; a
        cosine-normalised last layer with scale ``cosine_scale`` where the loss trains on one (LDAM)."""
        return build_model(self.name, n_features, hidden_sizes=self.hidden_sizes, dropout=self.dropout,
                           **outputs, seed=task.seed, cosine_scale=cosine_scale)

    def _member(self, task: FitTask, tensors: dict) -> Member:
        def cached(X: np.ndarray, y: np.ndarray):
            # tasks on the same arrays share one copy: the stack then gathers from it
            key = (id(X), id(y))
            if key not in tensors:
                tensors[key] = (X, y, tuple(t.to(self.device) for t in as_tensors(X, y)))
            return tensors[key][2]

        n_classes = max(2, int(max(task.y_train.max(), task.y_val.max())) + 1)
        counts = np.bincount(task.y_train, minlength=n_classes).tolist()
        loss = loss_zoo.get(task.loss, **task.loss_params)
        head = loss_zoo.entry(task.loss).head  # LDAM: a cosine-normalised last layer with its scale s
        model = self._build(task, task.X_train.shape[1], _outputs(counts), head(loss) if head else None).to(self.device)
        return Member(model, loss,
                      cached(task.X_train, task.y_train), cached(task.X_val, task.y_val),
                      task.params["lr"], task.params["weight_decay"], task.seed, task.on_step)

    def _stack_groups(self, members: list[Member]) -> list[list[int]]:
        """Indices of the members that train as one stack, grouped by data sizes."""
        if not self.stacked:
            return []
        groups: dict[tuple, list[int]] = {}
        for i, m in enumerate(members):
            if can_batch([m]):
                groups.setdefault((tuple(m.train[0].shape), tuple(m.validation[0].shape)), []).append(i)
        return list(groups.values())

    def fit(self, tasks: Sequence[FitTask]) -> list[Fitted]:
        """Fit every task: stacks where they can share one, the rest one by one."""
        tensors: dict = {}
        members = [self._member(task, tensors) for task in tasks]
        reports: dict[int, FitReport] = {}
        for group in self._stack_groups(members):
            out = fit_batched([members[i] for i in group], self.config, score=self.score,
                              higher_is_better=self.higher_is_better, stop_on=self.stop_on)
            reports.update(zip(group, out))
        for i, m in enumerate(members):
            if i not in reports:
                reports[i] = fit(m.model, m.loss, m.train, m.validation,
                                 replace(self.config, lr=m.lr, weight_decay=m.weight_decay), seed=m.seed,
                                 score=self.score, higher_is_better=self.higher_is_better,
                                 on_epoch=m.on_epoch, stop_on=self.stop_on, track_nll=self.track_nll)
        return [Fitted(reports[i], _predictor(m.model)) for i, m in enumerate(members)]


def training_settings(spec: Spec) -> dict:
    """The torch learners' settings from the spec's ``training`` and tuning metric: the keyword
    arguments ``config``, ``score``, ``higher_is_better``, ``stop_on``, ``stacked``, ``device``."""
    metric = spec.tuning.metrics[0]  # on multi-class data its counterpart (harness.metrics.per_task)
    training = spec.training
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=training.max_epochs,
                         batch_size=training.batch_size, patience=training.patience)
    stop_on = {"loss": "loss", "metric": "score", "none": "none"}[training.early_stopping]
    return {"config": config, "score": per_task.monitor(metric), "higher_is_better": per_task.higher_is_better(metric),
            "stop_on": stop_on, "stacked": training.stacked, "device": resolve_device(training.device)}


def _outputs(counts: list[int]) -> dict:
    """One output and the positive share for binary data; C outputs and every class's share for C > 2."""
    if len(counts) == 2:
        return {"prior": counts[1] / sum(counts)}
    return {"n_outputs": len(counts), "prior": [c / sum(counts) for c in counts]}


def _predictor(model: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    def predict(X: np.ndarray) -> np.ndarray:
        return predict_logits(model, torch.as_tensor(X, dtype=torch.float32)).double().cpu().numpy()

    return predict
