"""The early-stopping rule of the torch trainers, written once.

:func:`harness.learners.trainer.fit` holds one :class:`EarlyStopping` for its model and
:func:`harness.learners.batched.fit_batched` one per member of the stack; each tells it what
every epoch gave and keeps or restores the weights it is told to. The rule knows no weights
and no torch: it says, per epoch, whether this epoch is the best so far (keep its weights) and
whether training stops, and it writes the :class:`~harness.learners.base.FitReport`.

The rule, epoch by epoch (``epoch`` counts from 0):

1. a non-finite training loss (:meth:`EarlyStopping.diverged`): stop, "diverged";
2. a non-finite validation score: stop, "diverged" (nothing recorded for the epoch);
3. otherwise the score joins the curve, and with ``monitor``

   - ``"none"``: this epoch is the kept one (the last weights stay; nothing to keep aside);
   - ``"loss"`` / ``"score"``: the monitored value, ``-loss`` or ``±score`` (+ when higher is
     better), improves when strictly greater (``>``, no min_delta) than the best so far, which
     starts at -inf: the epoch is the best, keep its weights. A tie, a worse value or a NaN
     validation loss does not improve; then, when ``epoch - best_epoch >= patience`` (with
     ``best_epoch`` -1 before any improvement), stop, "early_stopping";

4. a training that goes on asks its pruning callback (:meth:`EarlyStopping.prune`): True
   stops, "pruned".

A scheduled loss (LDAM-DRW: re-weighting switched on at epoch E) arms the rule at E
(``armed_from``): each epoch before E is the kept one, as with ``"none"`` (its weights are kept
aside, its score joins the curve, it never stops the training), and the monitored best starts
at -inf at E, so the first armed epoch is kept whatever it scores and patience counts from it.
An epoch trained under the earlier loss is never the one returned once the switch has
happened, and the validation loss, when monitored, compares epochs of one loss only.

No validation split: each epoch that trains is counted (``observe(epoch, None)``) and is the
kept one; the report's score is NaN and its curve empty. The weights to restore at the end are
those of the last epoch that :attr:`Verdict.improved` said to keep, or, where none did (the
monitored value never finite, ``monitor="none"``, no validation split), the last weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import SupportsFloat

from harness.learners.base import FitReport

MONITORS = ("loss", "score", "none")


@dataclass(frozen=True)
class Verdict:
    """What one epoch means: ``improved`` — the best epoch so far, keep its weights;
    ``stop`` — training ends here."""

    improved: bool
    stop: bool


_GO_ON, _KEEP, _STOP = Verdict(False, False), Verdict(True, False), Verdict(False, True)


class EarlyStopping:
    """One model's early stopping: its best epoch, curve and how its training ended.

    Parameters
    ----------
    patience : int
        Epochs without an improvement, counted from the best epoch, before stopping.
    monitor : {"loss", "score", "none"}
        What the kept epoch follows: the loss on the validation split (lower is better), the
        validation score, or nothing (no early stopping: every epoch runs, the last is kept).
    higher_is_better : bool
        The score's direction (``monitor="score"``).
    armed_from : int, default 0
        The first epoch the rule judges (a scheduled loss's switch); earlier epochs are kept in turn.
    """

    def __init__(self, patience: int, monitor: str = "loss", higher_is_better: bool = True,
                 armed_from: int = 0) -> None:
        if monitor not in MONITORS:
            raise ValueError(f"monitor: expected one of {MONITORS}, got {monitor!r}")
        self.patience, self.monitor, self.armed_from = patience, monitor, armed_from
        self.sign = 1.0 if higher_is_better else -1.0
        self.best = -float("inf")  # the best monitored value, higher is better
        self.best_epoch, self.best_value = -1, float("nan")
        self.curve: list[float] = []
        self.epochs_run = 0
        self.stopped_by, self.reason = "max_epochs", ""

    def diverged(self, epoch: int) -> Verdict:
        """The training loss of ``epoch`` is not finite: stop."""
        self.stopped_by, self.reason = "diverged", f"non-finite training loss at epoch {epoch}"
        return _STOP

    def observe(self, epoch: int, score: float | None,
                loss: SupportsFloat | Callable[[], SupportsFloat] | None = None) -> Verdict:
        """Record ``epoch``'s validation ``score`` (None: no validation split) and judge it.

        ``loss`` is the validation loss (a float, or a one-element tensor), or a callable giving
        it; it is read (``float``) or called only when the rule needs it: ``monitor="loss"`` and
        a finite score.
        """
        if score is None:  # no validation split: the epoch counts, the last weights stay
            self.epochs_run, self.best_epoch = self.epochs_run + 1, epoch
            return _GO_ON
        if not math.isfinite(score):
            self.stopped_by, self.reason = "diverged", f"non-finite validation score at epoch {epoch}"
            return _STOP
        self.curve.append(score)
        self.epochs_run += 1
        if self.monitor == "none":  # no early stopping: the last epoch is the kept one
            self.best_epoch, self.best_value = epoch, score
            return _GO_ON
        if epoch < self.armed_from:  # before a scheduled loss's switch: kept in turn, never judged
            self.best_epoch, self.best_value = epoch, score
            return _KEEP
        if self.monitor == "loss":
            monitored = -float(loss() if callable(loss) else loss)
        else:
            monitored = self.sign * score
        if monitored > self.best:
            self.best, self.best_epoch, self.best_value = monitored, epoch, score
            return _KEEP
        if epoch - self.best_epoch >= self.patience:
            self.stopped_by = "early_stopping"
            return _STOP
        return _GO_ON

    def prune(self, epoch: int, score: float, on_epoch: Callable[[int, float], bool] | None) -> bool:
        """Ask the pruning callback about an epoch that did not stop; True: stop, "pruned"."""
        if on_epoch is not None and on_epoch(epoch, score):
            self.stopped_by = "pruned"
            return True
        return False

    def report(self) -> FitReport:
        return FitReport(self.best_value, self.best_epoch, self.epochs_run, self.stopped_by, self.curve, self.reason)
