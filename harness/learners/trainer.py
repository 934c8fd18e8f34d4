"""Mini-batch training with early stopping on a validation score or loss (or none: no validation split).

Binary models give (N,) logits (sigmoid), multi-class ones (N, C) (softmax); the validation
score sees :func:`probabilities` of the logits.

Batches index tensors directly (no DataLoader), validation runs in ``no_grad``, and the loop
syncs with the host once per epoch. Optuna is not imported here: pruning reaches the loop as
an ``on_epoch`` callback.

A loss with a schedule (LDAM-DRW) is told each epoch before it trains (``loss_fn.start_epoch
(epoch)``), and early stopping is armed from its ``stopping_from`` epoch (the switch; see
:mod:`harness.learners.early_stopping`). Only this trainer drives schedules: a loss with one
declares no per-sample terms, so it never trains in a stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from harness.learners.base import FitReport
from harness.learners.early_stopping import EarlyStopping


@dataclass(frozen=True)
class TrainConfig:
    lr: float
    weight_decay: float
    max_epochs: int
    batch_size: int
    patience: int


# what one training produced: the learners' report (no torch in it), under the trainer's name
TrainResult = FitReport


def as_tensors(X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int = 65536) -> torch.Tensor:
    """Logits in evaluation mode, computed in batches without autograd, on the model's device."""
    model.eval()
    X = X.to(next(model.parameters()).device)
    return torch.cat([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """Float64 probabilities from logits: of the positive class, (N,), for binary (N,) logits
    (sigmoid); of each class, (N, C), for multi-class (N, C) logits (softmax)."""
    logits = logits.double()
    prob = torch.sigmoid(logits) if logits.dim() == 1 else torch.softmax(logits, dim=1)
    return prob.cpu().numpy()


def nll(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood of labels ``y`` under (N,) binary logits (sigmoid) or (N, C)
    multi-class logits (softmax), whatever loss trained them."""
    if logits.dim() == 1:
        return nn.functional.binary_cross_entropy_with_logits(logits, y.to(logits.dtype), reduction=reduction)
    return nn.functional.cross_entropy(logits, y, reduction=reduction)


def _train_epoch(model: nn.Module, loss_fn: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
                 optimizer: torch.optim.Optimizer, order: torch.Tensor, batch_size: int,
                 train_nll: torch.Tensor | None = None) -> torch.Tensor:
    """One pass over ``train`` in ``order``, one AdamW step per batch; the summed batch losses.
    ``train_nll`` (a scalar tensor), when given, accumulates the batches' summed NLL."""
    X, y = train
    model.train()
    total = torch.zeros((), device=X.device)
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        logits = model(X[idx])
        loss = loss_fn(logits, y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
        if train_nll is not None:
            train_nll += nll(logits.detach(), y[idx], reduction="sum")
    return total


def _judge(model: nn.Module, loss_fn: nn.Module, validation: tuple, score, stopping: EarlyStopping, epoch: int,
           history: dict[str, list[float]], train_nll: float | None):
    """After an epoch: the validation score and early stopping's verdict (the loss is computed
    only if it is monitored); with ``history``, the epoch's training and validation NLL recorded,
    where over-fitting shows (training NLL towards 0, validation NLL rising)."""
    X_val, y_val, y_val_np = validation
    val_logits = predict_logits(model, X_val)
    if history:
        history["train_nll"].append(train_nll)
        history["val_nll"].append(float(nll(val_logits, y_val)))
    value = float(score(y_val_np, probabilities(val_logits)))
    return value, stopping.observe(epoch, value, lambda: loss_fn(val_logits, y_val))


def fit(model: nn.Module, loss_fn: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        validation: tuple[torch.Tensor, torch.Tensor] | None, config: TrainConfig, *, seed: int,
        score: Callable[[np.ndarray, np.ndarray], float], higher_is_better: bool = True,
        on_epoch: Callable[[int, float], bool] | None = None, stop_on: str = "loss",
        track_nll: bool = False) -> TrainResult:
    """Train ``model`` in place with AdamW; keep the weights of the best validation epoch.

    Parameters
    ----------
    train, validation : (X float32 (N, d), y long (N,))
        ``validation`` None: train ``config.max_epochs`` epochs (unless the loss diverges) and
        keep the last weights; ``best_score`` is NaN and ``curve`` empty.
    score : callable(y_true, prob) -> float
        Validation score computed after each epoch (reported, and the trial's value). ``prob``
        is :func:`probabilities` of the logits: (N,) for a binary model, (N, C) for C outputs.
    on_epoch : callable(epoch, score) -> bool, optional
        Called after each epoch; returning True stops training as "pruned".
    stop_on : {"loss", "score", "none"}
        What early stopping and the kept epoch follow: the training loss on the validation
        split (default), or ``score`` (a ranking score such as average precision can saturate
        after one epoch while probabilities are still far from trained); ``none``: no early
        stopping, every epoch runs and the last weights stay (pruning still applies). The rule
        is :class:`~harness.learners.early_stopping.EarlyStopping`, the one
        :func:`harness.learners.batched.fit_batched` follows for each member.
    track_nll : bool, default False
        Also record per epoch the mean NLL of the training batches (``train_nll``) and the
        validation NLL (``val_nll``) in the report's ``history``; training is unchanged.
    A loss with a schedule (LDAM-DRW) is driven as the module docstring says.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = getattr(loss_fn, "start_epoch", None)
    stopping = EarlyStopping(config.patience, stop_on, higher_is_better, getattr(loss_fn, "stopping_from", 0))
    generator, n = torch.Generator().manual_seed(seed), len(train[0])
    if validation is not None:
        X_val, y_val = validation
        y_val_np = y_val.cpu().numpy()
    best_state = None
    history: dict[str, list[float]] = {"train_nll": [], "val_nll": []} if track_nll else {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the global generator, forked here
        for epoch in range(config.max_epochs):
            if schedule is not None:
                schedule(epoch)
            order = torch.randperm(n, generator=generator)
            train_nll = torch.zeros((), device=train[0].device) if track_nll else None
            if not torch.isfinite(_train_epoch(model, loss_fn, train, optimizer, order, config.batch_size, train_nll)):
                stopping.diverged(epoch)
                break
            if validation is None:  # nothing to judge: the epoch counts, the last weights stay
                stopping.observe(epoch, None)
                continue
            value, verdict = _judge(model, loss_fn, (X_val, y_val, y_val_np), score, stopping, epoch,
                                    history, None if train_nll is None else float(train_nll) / n)
            if verdict.improved:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if verdict.stop or stopping.prune(epoch, value, on_epoch):
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return replace(stopping.report(), history=history)
