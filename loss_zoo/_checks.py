"""Input checks shared by every loss: one line each, naming the parameter."""

from __future__ import annotations

from collections.abc import Sequence

import torch

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")


def check_gamma(gamma: float, name: str = "gamma") -> None:
    if not (float(gamma) >= 0.0) or gamma == float("inf"):
        raise ValueError(f"{name}: expected a finite real >= 0, got {gamma!r}")


def check_binary_inputs(logits: torch.Tensor, targets: torch.Tensor) -> None:
    if logits.ndim != 1:
        raise ValueError(f"logits: expected shape (N,) for a binary loss, got {tuple(logits.shape)}")
    if targets.shape != logits.shape:
        raise ValueError(
            f"targets: expected shape {tuple(logits.shape)} like logits, got {tuple(targets.shape)}"
        )
    if targets.numel():
        low, high = torch.aminmax(targets)
        if low < 0 or high > 1 or (targets.dtype.is_floating_point and not bool(((targets == 0) | (targets == 1)).all())):
            raise ValueError("targets: expected values in {0, 1} for a binary loss")


def check_multiclass_inputs(logits: torch.Tensor, targets: torch.Tensor) -> None:
    if logits.ndim != 2:
        raise ValueError(f"logits: expected shape (N, C) for a multi-class loss, got {tuple(logits.shape)}")
    if logits.shape[1] < 2:
        raise ValueError(f"logits: expected C >= 2 classes, got C = {logits.shape[1]}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"targets: expected shape ({logits.shape[0]},), got {tuple(targets.shape)}")
    if targets.dtype.is_floating_point:
        raise ValueError(f"targets: expected integer class indices, got dtype {targets.dtype}")
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= logits.shape[1]):
        raise ValueError(f"targets: expected class indices in [0, {logits.shape[1]}), got values outside")


def check_alpha_binary(alpha: float | None) -> None:
    if alpha is not None and not (0.0 <= float(alpha) <= 1.0):
        raise ValueError(f"alpha: expected None or a value in [0, 1], got {alpha!r}")


def class_weight_tensor(
    weight: Sequence[float] | torch.Tensor | None, n_classes: int, like: torch.Tensor, name: str = "weight"
) -> torch.Tensor | None:
    """Validate per-class weights and return them as a tensor on ``like``'s device and dtype."""
    if weight is None:
        return None
    w = torch.as_tensor(weight, dtype=like.dtype, device=like.device)
    if w.ndim != 1 or w.shape[0] != n_classes:
        raise ValueError(f"{name}: expected {n_classes} class weights, got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError(f"{name}: expected finite non-negative weights, got {w.tolist()}")
    return w


def reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce elementwise losses; ``mean`` divides by the number of samples N."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
