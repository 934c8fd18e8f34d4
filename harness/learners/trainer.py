"""Mini-batch training with early stopping on a validation score (or none: no validation split).

Binary models give (N,) logits (sigmoid), multi-class ones (N, C) (softmax); the validation
score sees :func:`probabilities` of the logits.

Batches index tensors directly (no DataLoader), validation runs in ``no_grad``, and the loop
syncs with the host once per epoch. Optuna is not imported here: pruning reaches the loop as
an ``on_epoch`` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.learners.base import FitReport


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


def _train_epoch(model: nn.Module, loss_fn: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
                 optimizer: torch.optim.Optimizer, order: torch.Tensor, batch_size: int) -> torch.Tensor:
    """One pass over ``train`` in ``order``, one AdamW step per batch; the summed batch losses."""
    X, y = train
    model.train()
    total = torch.zeros((), device=X.device)
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    return total


def _fit_without_validation(model: nn.Module, loss_fn: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
                            optimizer: torch.optim.Optimizer, config: TrainConfig, seed: int) -> TrainResult:
    """``config.max_epochs`` epochs, or until the training loss is not finite; the last weights stay."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the global generator, forked here
        for epoch in range(config.max_epochs):
            order = torch.randperm(len(train[0]), generator=generator)
            if not torch.isfinite(_train_epoch(model, loss_fn, train, optimizer, order, config.batch_size)):
                return TrainResult(float("nan"), epoch - 1, epoch, "diverged",
                                   reason=f"non-finite training loss at epoch {epoch}")
    return TrainResult(float("nan"), config.max_epochs - 1, config.max_epochs, "max_epochs")


def fit(model: nn.Module, loss_fn: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        validation: tuple[torch.Tensor, torch.Tensor] | None, config: TrainConfig, *, seed: int,
        score: Callable[[np.ndarray, np.ndarray], float], higher_is_better: bool = True,
        on_epoch: Callable[[int, float], bool] | None = None, stop_on: str = "loss") -> TrainResult:
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
        stopping, every epoch runs and the last weights stay (pruning still applies).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if validation is None:
        return _fit_without_validation(model, loss_fn, train, optimizer, config, seed)
    generator, n = torch.Generator().manual_seed(seed), len(train[0])
    (X_val, y_val), sign = validation, 1.0 if higher_is_better else -1.0
    y_val_np = y_val.cpu().numpy()
    best, best_epoch, best_state, best_value = -np.inf, -1, None, float("nan")
    curve: list[float] = []
    stopped_by, reason = "max_epochs", ""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the global generator, forked here
        for epoch in range(config.max_epochs):
            order = torch.randperm(n, generator=generator)
            total = _train_epoch(model, loss_fn, train, optimizer, order, config.batch_size)
            if not torch.isfinite(total):
                stopped_by, reason = "diverged", f"non-finite training loss at epoch {epoch}"
                break
            val_logits = predict_logits(model, X_val)
            value = float(score(y_val_np, probabilities(val_logits)))
            if not np.isfinite(value):
                stopped_by, reason = "diverged", f"non-finite validation score at epoch {epoch}"
                break
            curve.append(value)
            if stop_on == "none":  # over-parameterised regime: every epoch runs, the last weights stay
                best_epoch, best_value = epoch, value
            elif (monitored := -float(loss_fn(val_logits, y_val)) if stop_on == "loss" else sign * value) > best:
                best, best_epoch, best_value = monitored, epoch, value
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif epoch - best_epoch >= config.patience:
                stopped_by = "early_stopping"
                break
            if on_epoch is not None and on_epoch(epoch, value):
                stopped_by = "pruned"
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainResult(best_value, best_epoch, len(curve), stopped_by, curve, reason)
