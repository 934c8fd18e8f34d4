"""K models trained as one: stacked weights, batched matmuls, one optimiser step for all.

The members share an architecture and the size of their training set (not necessarily its
content: the repetitions of a cell each have their own split), and each keeps its own
initialisation, shuffling order, loss parameters, learning rate, weight decay, early stopping
and pruning. Every member computes what :func:`harness.learners.trainer.fit` computes for it alone (the
tests check this to float tolerance); what changes is the cost: per step, one set of kernels of
K times the size instead of K sets, which on small tabular models is mostly framework overhead.

Layout: all of a member's weights are one row of a (K, P) tensor; each layer's weight and bias
are views of it (weights stored transposed, (in, out), for ``baddbmm``), and their gradients
are views of one (K, P) gradient buffer, so AdamW runs as a few element-wise kernels over the
whole stack with per-member learning rates. A member that stops is dropped from the stack.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.learners.early_stopping import EarlyStopping
from harness.learners.models import MLP
from harness.learners.trainer import TrainConfig, TrainResult
from loss_zoo.batched import MemberLosses, MulticlassMemberLosses, member_losses, multiclass_member_losses

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.AdamW's defaults, as in trainer.fit


@dataclass
class Member:
    """One model of a batch and how to train it (a stack holds MLPs; any module trains alone)."""

    model: nn.Module
    loss: nn.Module
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    lr: float
    weight_decay: float
    seed: int
    on_epoch: Callable[[int, float], bool] | None = None


def _linears(model: MLP) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _member_losses(members: Sequence[Member], dtype=torch.float32, device=None):
    """The members' losses as one module: binary (one output) or multi-class (C outputs)."""
    losses, n_outputs = [m.loss for m in members], members[0].model.n_outputs
    if n_outputs == 1:
        return member_losses(losses, dtype, device)
    return multiclass_member_losses(losses, n_outputs, dtype, device)


def can_batch(members: Sequence[Member]) -> bool:
    """Whether these members can train as one stack: same architecture without dropout (one
    output, or C for multi-class), training and validation sets of equal sizes, every loss in
    the common form. A stack of one is the suite's fastest way to train a single model."""
    if not members or not all(isinstance(m.model, MLP) for m in members):
        return False  # the stack holds linear layers only
    first = members[0]
    shapes = [tuple(layer.weight.shape) for layer in _linears(first.model)]
    for m in members:
        if any(isinstance(x, nn.Dropout) for x in m.model.modules()) or m.model.n_outputs != first.model.n_outputs:
            return False
        if [tuple(layer.weight.shape) for layer in _linears(m.model)] != shapes:
            return False
        if m.train[0].shape != first.train[0].shape or m.validation[0].shape != first.validation[0].shape:
            return False
    return _member_losses(members) is not None


class _Split:
    """A split's (X, y) for the rows of the stack: one copy shared by every row (the trials of
    a batch), or one per row (the repetitions of a cell), kept in step with the stack."""

    def __init__(self, splits: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.shared = all(s[0] is splits[0][0] and s[1] is splits[0][1] for s in splits)
        if self.shared:
            self.X, self.y = splits[0]
        else:
            self.X, self.y = torch.stack([s[0] for s in splits]), torch.stack([s[1] for s in splits])
        self._rows = torch.arange(len(splits), device=self.X.device).unsqueeze(1)

    def keep(self, index: torch.Tensor) -> None:
        if not self.shared:
            self.X, self.y = self.X[index], self.y[index]
        self._rows = self._rows[: len(index)]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Row r's samples ``idx[r]``: (K, B, d) inputs and (K, B) targets."""
        if self.shared:
            return self.X[idx], self.y[idx]
        return self.X[self._rows, idx], self.y[self._rows, idx]


class _Stack:
    """The members' parameters as rows of one flat tensor, with layer views for the forward pass."""

    def __init__(self, models: list[MLP]) -> None:
        layers = [_linears(m) for m in models]
        self.shapes = [(layer.in_features, layer.out_features) for layer in layers[0]]
        rows = []
        for member_layers in layers:
            parts = []
            for layer in member_layers:
                parts += [layer.weight.detach().t().reshape(-1), layer.bias.detach().reshape(-1)]
            rows.append(torch.cat(parts))
        self.flat = torch.stack(rows).contiguous()
        self.grad = torch.zeros_like(self.flat)
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self._views()

    def _views(self) -> None:
        """Leaf tensors viewing ``flat``, whose gradients accumulate into views of ``grad``."""
        k, self.params, offset = self.flat.shape[0], [], 0
        for n_in, n_out in self.shapes:
            for shape in ((k, n_in, n_out), (k, 1, n_out)):
                size = math.prod(shape[1:])
                view = self.flat[:, offset : offset + size].view(shape).detach().requires_grad_()
                view.grad = self.grad[:, offset : offset + size].view(shape)
                self.params.append(view)
                offset += size

    def keep(self, index: torch.Tensor) -> None:
        for name in ("flat", "grad", "exp_avg", "exp_avg_sq"):
            setattr(self, name, getattr(self, name)[index].contiguous())
        self._views()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(K, B, in) or shared (B, in) inputs to (K, B) logits, or (K, B, C) for C outputs."""
        h = x
        n_layers = len(self.shapes)
        for i in range(n_layers):
            w, b = self.params[2 * i], self.params[2 * i + 1]
            h = torch.baddbmm(b, h, w) if h.dim() == 3 and h.shape[0] == w.shape[0] else torch.matmul(h, w) + b
            if i < n_layers - 1:
                h = torch.relu(h)
        return h.squeeze(-1)

    def unpack_into(self, row: torch.Tensor, model: MLP) -> None:
        offset = 0
        with torch.no_grad():
            for layer, (n_in, n_out) in zip(_linears(model), self.shapes):
                layer.weight.copy_(row[offset : offset + n_in * n_out].view(n_in, n_out).t())
                offset += n_in * n_out
                layer.bias.copy_(row[offset : offset + n_out])
                offset += n_out


@torch.no_grad()
def _adamw_step(stack: _Stack, lr: torch.Tensor, decay: torch.Tensor, step: int) -> None:
    """torch.optim.AdamW's update (amsgrad off), with a learning rate and a decoupled weight
    decay factor ``decay`` = 1 - lr · weight_decay per row."""
    beta1, beta2 = BETAS
    stack.flat.mul_(decay)
    stack.exp_avg.lerp_(stack.grad, 1.0 - beta1)
    stack.exp_avg_sq.mul_(beta2).addcmul_(stack.grad, stack.grad, value=1.0 - beta2)
    bias1, bias2 = 1.0 - beta1**step, 1.0 - beta2**step
    denom = (stack.exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(EPS)
    stack.flat.addcdiv_(stack.exp_avg * (lr / bias1), denom, value=-1.0)


@dataclass
class _Book:
    """Per member: its early stopping (one :class:`~harness.learners.early_stopping.EarlyStopping`
    each, the rule :func:`harness.learners.trainer.fit` follows) and its best epoch's weights."""

    rules: list[EarlyStopping]

    def __post_init__(self) -> None:
        self.best_row: list[torch.Tensor | None] = [None] * len(self.rules)

    def judge(self, i: int, epoch: int, finite: bool, value: float, val_loss: torch.Tensor, row: torch.Tensor,
              on_epoch: Callable[[int, float], bool] | None) -> bool:
        """Record member ``i``'s epoch; whether it trains on (as :func:`harness.learners.trainer.fit` decides)."""
        rule = self.rules[i]
        if not finite:
            rule.diverged(epoch)
            return False
        verdict = rule.observe(epoch, value, val_loss)  # the loss read (a host sync) only when monitored
        if verdict.improved:
            self.best_row[i] = row.clone()
        return not (verdict.stop or rule.prune(epoch, value, on_epoch))

    def result(self, i: int) -> TrainResult:
        return self.rules[i].report()


@dataclass
class _Run:
    """The stack in training: its rows' members, data, losses and optimiser rates."""

    stack: _Stack
    train: _Split
    validation: _Split
    losses: MemberLosses | MulticlassMemberLosses
    lr: torch.Tensor
    decay: torch.Tensor
    active: list[int]  # member index of each row of the stack

    def keep(self, keep: list[int], members: Sequence[Member], book: _Book) -> None:
        """Drop the rows not in ``keep``; a member with no good epoch keeps its last weights (as fit)."""
        for row, i in enumerate(self.active):
            if row not in keep and book.best_row[i] is None:
                self.stack.unpack_into(self.stack.flat[row], members[i].model)
        index = torch.tensor(keep, dtype=torch.long, device=self.stack.flat.device)
        self.stack.keep(index)
        self.train.keep(index)
        self.validation.keep(index)
        self.losses = self.losses.select(index)
        self.lr, self.decay = self.lr[index], self.decay[index]
        self.active = [self.active[row] for row in keep]


def _start(members: Sequence[Member]) -> _Run:
    stack = _Stack([m.model for m in members])
    dtype, device = stack.flat.dtype, stack.flat.device
    lr = torch.tensor([m.lr for m in members], dtype=dtype, device=device).unsqueeze(1)
    decay = 1.0 - lr * torch.tensor([m.weight_decay for m in members], dtype=dtype, device=device).unsqueeze(1)
    return _Run(stack, _Split([m.train for m in members]), _Split([m.validation for m in members]),
                _member_losses(members, dtype, device), lr, decay, list(range(len(members))))


def _epoch(run: _Run, generators: list[torch.Generator], batch_size: int, step: int) -> tuple[torch.Tensor, int]:
    """One pass over the training data for every row; the rows' summed losses and the step count."""
    stack = run.stack
    n = run.train.X.shape[-2]
    order = torch.stack([torch.randperm(n, generator=generators[i]) for i in run.active]).to(stack.flat.device)
    total = torch.zeros(len(run.active), dtype=stack.flat.dtype, device=stack.flat.device)
    for start in range(0, n, batch_size):
        xb, yb = run.train.batch(order[:, start : start + batch_size])
        loss = run.losses(stack.forward(xb), yb)
        stack.grad.zero_()
        loss.sum().backward()
        step += 1
        _adamw_step(stack, run.lr, run.decay, step)
        total += loss.detach()
    return total, step


def _probabilities(logits: torch.Tensor) -> np.ndarray:
    """Float64 probabilities per row, as :func:`harness.learners.trainer.probabilities` gives one model's:
    (K, B) of the positive class (sigmoid), or (K, B, C) of each class (softmax)."""
    logits = logits.double()
    return (torch.sigmoid(logits) if logits.dim() == 2 else torch.softmax(logits, dim=-1)).cpu().numpy()


def fit_batched(
    members: Sequence[Member],
    config: TrainConfig,
    *,
    score: Callable[[np.ndarray, np.ndarray], float],
    higher_is_better: bool = True,
    stop_on: str = "loss",
) -> list[TrainResult]:
    """Train every member in place, as :func:`harness.learners.trainer.fit` would one by one (the
    members' ``lr``, ``weight_decay``, ``seed`` and ``on_epoch`` take the place of the
    config's and the keyword arguments there); keep each member's best validation epoch."""
    if not can_batch(members):
        raise ValueError("members: cannot train as one stack (see can_batch)")
    run = _start(members)
    book = _Book([EarlyStopping(config.patience, stop_on, higher_is_better) for _ in members])
    y_val_np = [m.validation[1].cpu().numpy() for m in members]
    generators = [torch.Generator().manual_seed(m.seed) for m in members]
    step = 0
    with warnings.catch_warnings():
        # a (K, 1, 1) bias view and its gradient view have equal strides, which torch still reports
        warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")
        for epoch in range(config.max_epochs):
            total, step = _epoch(run, generators, config.batch_size, step)
            with torch.no_grad():
                val_logits = run.stack.forward(run.validation.X)
                val_loss = run.losses(val_logits, run.validation.y)
            finite = torch.isfinite(total).tolist()
            val_prob = _probabilities(val_logits)
            keep = [row for row, i in enumerate(run.active)
                    if book.judge(i, epoch, finite[row], float(score(y_val_np[i], val_prob[row])) if finite[row] else 0.0,
                                  val_loss[row], run.stack.flat[row], members[i].on_epoch)]
            if len(keep) < len(run.active):
                run.keep(keep, members, book)
            if not run.active:
                break
    for i, member in enumerate(members):
        if book.best_row[i] is not None:
            run.stack.unpack_into(book.best_row[i], member.model)
        elif i in run.active:  # never improved (a NaN validation loss throughout): the last weights stay
            run.stack.unpack_into(run.stack.flat[run.active.index(i)], member.model)
    return [book.result(i) for i in range(len(members))]
