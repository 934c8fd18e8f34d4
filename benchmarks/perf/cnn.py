"""The CNN learner against a plain torch loop over the same tensors, measured side by side.

    python -m benchmarks.perf.cnn [--epochs 3] [--rows 3500] [--threads 1]

The learner (:class:`harness.learners.torch_cnn.CNNLearner`: the suite's trainer, its per-epoch
validation score and NLL history, the predictions it returns) against the loop most tutorials
write (a shuffling ``DataLoader``, a host sync per step for the running loss, sklearn's score on
the validation split after each epoch), same net, data, loss, optimiser and epochs, timed in CPU
seconds of this process (one torch thread) — target: the learner at least as fast (ratio
plain / learner >= 1). Fashion-MNIST where Debian's
dataset-fashion-mnist is installed, else the 8×8 digits.
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.metrics import accuracy_score
from torch.utils.data import DataLoader, TensorDataset

import harness  # noqa: F401  (the checkout's datasets)
import loss_zoo
from datasets import DataError, load, prepare
from harness.learners import FitTask
from harness.learners.torch_cnn import CNNLearner, build_cnn
from harness.spec.schema import parse_spec

from ._table import Row, show

CHANNELS, BATCH, LR = (16, 32, 64), 128, 2e-3  # benchmarks/vision.yaml


def _data(rows: int):
    try:
        name, stride = "images/fashion_mnist", 2
        pool = load(name)
    except DataError:
        name, stride = "images/digits", 1
        pool = load(name)
    return name, stride, prepare(pool, 1, seed=0, max_rows=rows)


def plain_loop(data, stride: int, epochs: int) -> float:
    """The tutorial loop; returns the last epoch's validation accuracy."""
    X, y = torch.as_tensor(data.train.X, dtype=torch.float32), torch.as_tensor(data.train.y)
    X_val = torch.as_tensor(data.validation.X, dtype=torch.float32)
    model = build_cnn(data.image_shape, channels=CHANNELS, stem_stride=stride, n_outputs=10, seed=0)
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(X, y), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=5e-4)
    loss_fn, score = loss_zoo.get("ce"), 0.0
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            score = accuracy_score(data.validation.y, model(X_val).argmax(1).numpy())
    return score


def learner_fit(data, stride: int, epochs: int) -> float:
    """The suite's CNN learner on the same data; returns the kept epoch's validation accuracy."""
    spec = parse_spec({"name": "perf", "datasets": ["images/digits"], "imbalance_ratios": [1], "methods": ["ce"],
                       "model": {"name": "cnn", "channels": list(CHANNELS), "stem_stride": stride},
                       "training": {"max_epochs": epochs, "batch_size": BATCH, "early_stopping": "none"},
                       "tuning": {"metric": "accuracy"}})
    learner = CNNLearner.from_spec(spec)
    task = FitTask(data.train.X, data.train.y, data.validation.X, data.validation.y, "ce", {},
                   {"lr": LR, "weight_decay": 5e-4}, 0, input_shape=data.image_shape)
    return learner.fit([task])[0].report.best_score


def _best_of(repeats: int, fn) -> float:
    """The least CPU time of this process over ``repeats`` calls: with one torch thread it is the
    work done, and other processes on a shared machine do not inflate it as they do wall time."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def rows(m: dict) -> list[Row]:
    return [Row("CNN learner vs plain torch loop (same tensors)", f"{m['learner']:.2f} s / {m['plain']:.2f} s",
                m["plain"] / m["learner"], "x", 1.0)]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    name, stride, data = _data(args.rows)
    m = {"plain": _best_of(args.repeats, lambda: plain_loop(data, stride, args.epochs)),
         "learner": _best_of(args.repeats, lambda: learner_fit(data, stride, args.epochs))}
    print(f"cnn: {name}, {len(data.train.y)} train / {len(data.validation.y)} validation images, channels {CHANNELS}, "
          f"stem stride {stride}, batch {BATCH}, {args.epochs} epochs, CE, {args.threads} thread(s), best of "
          f"{args.repeats} (CPU seconds); plain loop {m['plain'] / args.epochs:.2f} s/epoch")
    out = rows(m)
    show(out)
    return out


if __name__ == "__main__":
    main()
