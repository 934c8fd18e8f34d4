"""Cost of a multi-class stack against a binary stack of the same rows and features.

    python -m benchmarks.perf.multiclass [--epochs 10] [--k 16] [--classes 5] [--threads 1]

K focal-loss members (γ drawn per member) trained as one stack by ``harness.learners.batched.fit_batched``
on synthetic/gaussian_multiclass at the long-tailed profile ρ = 10: once with C outputs (softmax,
the multi-class common form, autograd) and once with one output on the same rows, labels
"tail class vs the rest" (sigmoid, the binary common form, analytic gradient). Same MLP, batch
size, epochs (no early stopping) and a constant validation score, so only training differs.
Target: multi-class / binary <= 1.5x.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import harness  # noqa: F401  (the checkout's datasets)
import loss_zoo
from datasets import load, prepare
from harness.learners.batched import Member, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors

from ._table import Row, show

HIDDEN = (64, 32)  # benchmarks/default.yaml
BATCH = 128


def _splits(n_classes: int):
    data = prepare(load("synthetic/gaussian_multiclass", {"n_samples": 3000 * n_classes, "n_classes": n_classes}),
                   10, seed=0)
    multi = as_tensors(data.train.X, data.train.y), as_tensors(data.validation.X, data.validation.y)
    tail = int(np.argmin(data.info["counts"]))
    binary = tuple(as_tensors(s.X, (s.y == tail).astype(np.int64)) for s in (data.train, data.validation))
    return multi, binary, np.array(data.info["counts"]) / sum(data.info["counts"])


def _stack(k: int, n_outputs: int, prior, train, validation, gammas, rates):
    d = train[0].shape[1]
    return [Member(build_model("mlp", d, hidden_sizes=HIDDEN, prior=prior, seed=i, n_outputs=n_outputs),
                   loss_zoo.get("focal", gamma=g), train, validation, lr, wd, i)
            for i, (g, (lr, wd)) in enumerate(zip(gammas, rates))]


def _best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(epochs: int, k: int, n_classes: int, repeats: int = 3) -> dict:
    (mtrain, mval), (btrain, bval), prior = _splits(n_classes)
    rng = np.random.default_rng(0)
    gammas = rng.uniform(0, 4, k).tolist()
    rates = [(float(10 ** rng.uniform(-3.5, -2)), float(10 ** rng.uniform(-6, -3))) for _ in range(k)]
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=epochs, batch_size=BATCH, patience=epochs + 1)
    score = lambda y, p: 0.0  # noqa: E731  the same (free) validation score for both

    def run(n_outputs, train, validation, p):
        return lambda: fit_batched(_stack(k, n_outputs, p, train, validation, gammas, rates), config, score=score)

    out = {"n_train": len(mtrain[1]), "d": mtrain[0].shape[1], "epochs": epochs, "k": k, "classes": n_classes}
    out["binary_s"] = _best_of(repeats, run(1, btrain, bval, float(prior.min())))
    out["multiclass_s"] = _best_of(repeats, run(n_classes, mtrain, mval, prior.tolist()))
    return out


def rows(m: dict) -> list[Row]:
    return [Row(f"stack K={m['k']}: {m['classes']}-class vs binary", f"{m['multiclass_s']:.2f} s / {m['binary_s']:.2f} s",
                m["multiclass_s"] / m["binary_s"], "x", 1.5, "<=")]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    m = measure(args.epochs, args.k, args.classes)
    print(f"multiclass: synthetic/gaussian_multiclass long-tailed ρ=10, {m['n_train']} train rows, {m['d']} features, "
          f"MLP {HIDDEN}, batch {BATCH}, {m['epochs']} epochs, focal loss, {args.threads} thread(s)")
    show(rows(m))
    return rows(m)


if __name__ == "__main__":
    main()
