"""The dense task's speed (issue 27, item 7), measured side by side in one run.

    python -m benchmarks.perf.dense [--ratio 1000] [--epochs 3] [--sizes 1000000,10000000]

1. the fcn learner (:class:`harness.learners.fcn.FCNLearner`, CE, probes off as in a tuning trial)
   vs a plain torch loop over the same tensors: the same net and initialisation, canvas batches
   in the same order, BCE-with-logits over the scored locations divided by the mean positives of a
   batch, AdamW, and one validation prediction and AP per epoch — target: the learner's time
   <= 1.0x the plain loop's;
2. focal (γ = 2) forward + backward vs BCE-with-logits at each size — target <= 1.5x.
Times are CPU seconds of this thread (steadier than wall time on a shared machine), best of the
repeats.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import datasets
from datasets.dense import canvas_targets
from harness.learners.base import FitTask
from harness.learners.fcn import FCNLearner, build_fcn
from harness.learners.trainer import TrainConfig, predict_logits
from harness.metrics import binary

from . import losses
from ._table import Row, show

CHANNELS, DILATIONS, BATCH, LR = (16, 16, 16), (1, 2, 2), 8, 0.01


def _plain_loop(data, epochs: int, seed: int) -> None:
    """The same training written as the plainest torch loop."""
    model = build_fcn(int((data.train.X.shape[1] // 2) ** 0.5), CHANNELS, DILATIONS, seed=seed)
    X = torch.as_tensor(data.train.X)
    targets = torch.as_tensor(canvas_targets(data.train.X, data.train.y))
    X_val, y_val = torch.as_tensor(data.validation.X), data.validation.y
    norm = float((targets == 1).sum()) * BATCH / len(X)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    ap = binary.get("average_precision").monitor
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), BATCH):
            idx = order[start:start + BATCH]
            t = targets[idx]
            keep = t >= 0
            loss = F.binary_cross_entropy_with_logits(model(X[idx]), t[keep].float(), reduction="sum") / norm
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        ap(y_val, torch.sigmoid(predict_logits(model, X_val, batch_size=256)).double().numpy())


def _learner(data, epochs: int, seed: int) -> None:
    learner = FCNLearner("fcn", CHANNELS, DILATIONS, TrainConfig(0.0, 0.0, epochs, BATCH, epochs),
                         binary.get("average_precision").monitor, True, "none", probes=False)
    task = FitTask(data.train.X, data.train.y, data.validation.X, data.validation.y, "ce", {},
                   {"lr": LR, "weight_decay": 1e-4}, seed)
    learner.fit([task])


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=float, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", default="1000000,10000000")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pool = datasets.load("dense/digit_canvases", {"max_ratio": args.ratio}, seed=0)
    data = datasets.prepare(pool, args.ratio, seed=0)
    locations = len(data.train.X) * pool.dense.locations
    plain = _best(lambda: _plain_loop(data, args.epochs, 0), args.repeats)
    ours = _best(lambda: _learner(data, args.epochs, 0), args.repeats)
    rows = [Row(f"fcn learner vs plain loop (ρ={args.ratio:g})",
                f"{ours / args.epochs:.2f} s / {plain / args.epochs:.2f} s per epoch", ours / plain, "x", 1.0, "<="),
            Row("fcn epoch, per million locations", f"{len(data.train.X)} canvases, {locations:,} locations",
                ours / args.epochs / locations * 1e6, "s")]
    for n in (int(v) for v in args.sizes.split(",")):
        times = dict(losses.measure(n, repeats=5 if n > 2_000_000 else 15))
        rows.append(Row(f"focal γ=2 fwd+bwd vs BCE-with-logits, N={n:.0e}",
                        f"{times['focal γ=2'] * 1e3:.1f} ms / {times['bce_with_logits'] * 1e3:.1f} ms",
                        times["focal γ=2"] / times["bce_with_logits"], "x", 1.5, "<="))
    show(rows)
    return rows


if __name__ == "__main__":
    main()
