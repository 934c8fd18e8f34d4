"""What a loss without per-sample terms costs: one fit through the autograd trainer against the
same fit in the stacked trainer (a stack of one, the suite's fastest way to train one model).

    python -m benchmarks.perf.autograd_losses [--epochs 10] [--repeats 3]

Losses that are batch-level (OHEM, MMCE) or scheduled (LDAM-DRW) train through
:func:`harness.learners.trainer.fit` (autograd through the loss module); the others train in
:func:`harness.learners.batched.fit_batched`. On the default spec's model and data (MLP 64-32,
synthetic/gaussian at ρ 5), fixed epochs (no early stopping), best of ``repeats``:

1. CE, stacked vs CE, autograd trainer: the trainer's own cost;
2. CE, stacked vs LDAM-DRW (binary, cosine head), autograd trainer: what LDAM-DRW pays.
"""

from __future__ import annotations

import argparse

import torch

import harness  # noqa: F401  (the checkout's datasets)
import loss_zoo
from harness.learners.batched import Member, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, fit
from harness.metrics.binary import get as get_metric

from .training import BATCH, HIDDEN, _best_of, _data


def measure(epochs: int, repeats: int) -> dict[str, float]:
    """Seconds of one fit of each kind (best of ``repeats``)."""
    train, validation, _ = _data()
    d, prior = train[0].shape[1], float(train[1].float().mean())
    counts = torch.bincount(train[1], minlength=2).tolist()
    score = get_metric("average_precision").monitor
    config = TrainConfig(lr=3e-3, weight_decay=1e-4, max_epochs=epochs, batch_size=BATCH, patience=epochs + 1)
    ce = loss_zoo.get("ce")
    ldam_params = loss_zoo.entry("ldam").loss_params({"ldam_drw_epoch": epochs // 2}, counts)

    def model(scale=None):
        return build_model("mlp", d, hidden_sizes=HIDDEN, prior=prior, seed=0, cosine_scale=scale)

    stacked = _best_of(repeats, lambda: fit_batched([Member(model(), ce, train, validation, 3e-3, 1e-4, 0)], config,
                                                    score=score, stop_on="none"))
    autograd = _best_of(repeats, lambda: fit(model(), ce, train, validation, config, seed=0, score=score,
                                             stop_on="none"))
    ldam = _best_of(repeats, lambda: fit(model(30.0), loss_zoo.get("ldam", **ldam_params), train, validation, config,
                                         seed=0, score=score, stop_on="none"))
    return {"stacked_ce_s": stacked, "autograd_ce_s": autograd, "autograd_ldam_s": ldam}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    m = measure(args.epochs, args.repeats)
    print(f"one fit, {args.epochs} epochs: stacked CE {m['stacked_ce_s']:.2f} s, autograd CE {m['autograd_ce_s']:.2f} s, "
          f"autograd LDAM-DRW {m['autograd_ldam_s']:.2f} s")
    print(f"autograd / stacked: CE {m['autograd_ce_s'] / m['stacked_ce_s']:.2f}x, "
          f"LDAM-DRW {m['autograd_ldam_s'] / m['stacked_ce_s']:.2f}x")


if __name__ == "__main__":
    main()
