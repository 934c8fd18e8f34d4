"""Training speed, measured side by side in one run on the model and data of the default spec.

    python -m benchmarks.perf.training [--epochs 20] [--k 16] [--threads 1]

1. the suite's trainer for one model (a stack of one, ``harness.learners.batched.fit_batched``; the
   plain-module loop ``harness.learners.trainer.fit`` beside it) vs a plain ``DataLoader`` loop (same
   model, data, loss, epochs and per-epoch validation) — target >= 2.5x;
2. K = 16 models trained as one stack (``harness.learners.batched.fit_batched``) vs the same 16 trained
   one by one (each a stack of one), per model — target >= 4x;
3. FLOP efficiency: the training's model FLOPs per second as a share of a large matmul's FLOP/s
   measured in the same run — target >= 25 %.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from torch.utils.data import DataLoader, TensorDataset

import harness  # noqa: F401  (the checkout's datasets)
import loss_zoo
from datasets import load, prepare
from harness.learners.batched import Member, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit
from harness.metrics.binary import get as get_metric

from ._table import Row, show

HIDDEN = (64, 32)  # benchmarks/default.yaml
BATCH = 128


def _data(seed: int = 0):
    data = prepare(load("synthetic/gaussian", {"n_samples": 8000}, seed=seed), 5, seed=seed)
    return as_tensors(data.train.X, data.train.y), as_tensors(data.validation.X, data.validation.y), data


def _model(d: int, prior: float, seed: int, hidden=HIDDEN):
    return build_model("mlp", d, hidden_sizes=hidden, prior=prior, seed=seed)


def dataloader_loop(model, loss_fn, train, validation, lr, weight_decay, epochs, seed) -> float:
    """The loop most tutorials write: DataLoader with shuffling, a host sync per step for the
    running loss, sklearn's score on the validation split after each epoch."""
    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(*train), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = -np.inf
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
            prob = torch.sigmoid(model(validation[0])).numpy()
        best = max(best, average_precision_score(validation[1].numpy(), prob))
    return best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _best_of(repeats: int, fn) -> float:
    return min(_timed(fn) for _ in range(repeats))


def matmul_flops(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of an n x n float32 matmul (best of ``repeats``): what the cores can do."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    return 2 * n**3 / _best_of(repeats, lambda: torch.mm(a, b))


def training_flops(n_features: int, hidden, n_train: int, n_val: int, epochs: int) -> float:
    """Model FLOPs of one training: forward 2·Σ in·out per sample, backward twice that, and
    the validation forward pass each epoch."""
    widths = [n_features, *hidden, 1]
    forward = 2 * sum(a * b for a, b in zip(widths, widths[1:]))
    return epochs * (3 * forward * n_train + forward * n_val)


def measure(epochs: int, k: int, repeats: int = 5) -> dict:
    train, validation, data = _data()
    d, prior = train[0].shape[1], float(train[1].float().mean())
    loss = loss_zoo.get("focal", gamma=2.0)
    score = get_metric("average_precision").monitor
    config = TrainConfig(lr=3e-3, weight_decay=1e-4, max_epochs=epochs, batch_size=BATCH, patience=epochs + 1)
    out = {"n_train": len(train[1]), "n_val": len(validation[1]), "d": d, "epochs": epochs, "k": k}

    out["dataloader_s"] = _best_of(repeats, lambda: dataloader_loop(_model(d, prior, 0), loss, train, validation,
                                                                     3e-3, 1e-4, epochs, 0))
    out["fit_s"] = _best_of(repeats, lambda: fit(_model(d, prior, 0), loss, train, validation, config, seed=0,
                                                 score=score))
    out["trainer_s"] = _best_of(repeats, lambda: fit_batched(
        [Member(_model(d, prior, 0), loss, train, validation, 3e-3, 1e-4, 0)], config, score=score))

    rng = np.random.default_rng(0)
    settings = [(float(10 ** rng.uniform(-3.5, -2)), float(10 ** rng.uniform(-6, -3)), float(rng.uniform(0, 4)))
                for _ in range(k)]

    def one_by_one():  # with the suite's fastest single-model trainer, a stack of one
        for i, (lr, wd, gamma) in enumerate(settings):
            fit_batched([Member(_model(d, prior, i), loss_zoo.get("focal", gamma=gamma), train, validation, lr, wd, i)],
                        config, score=score)

    def stacked():
        members = [Member(_model(d, prior, i), loss_zoo.get("focal", gamma=gamma), train, validation, lr, wd, i)
                   for i, (lr, wd, gamma) in enumerate(settings)]
        fit_batched(members, config, score=score)

    out["one_by_one_s"] = _best_of(max(1, repeats - 1), one_by_one)
    out["stacked_s"] = _best_of(max(1, repeats - 1), stacked)
    out["matmul_flops"] = matmul_flops()
    flops = training_flops(d, HIDDEN, out["n_train"], out["n_val"], epochs)
    out["trainer_flops"] = flops / out["trainer_s"]
    out["stacked_flops"] = k * flops / out["stacked_s"]
    # the same stack with a wider model: how the share grows when arithmetic, not overhead, dominates
    wide = (512, 512)
    members = lambda: [Member(_model(d, prior, i, wide), loss_zoo.get("focal", gamma=2.0), train, validation,  # noqa: E731
                              1e-3, 1e-4, i) for i in range(k)]
    wide_epochs = max(1, epochs // 10)
    wide_s = _best_of(1, lambda: fit_batched(members(), TrainConfig(0, 0, wide_epochs, BATCH, 99), score=score))
    out["wide_flops"] = k * training_flops(d, wide, out["n_train"], out["n_val"], wide_epochs) / wide_s
    return out


def rows(m: dict) -> list[Row]:
    matmul = m["matmul_flops"]

    def speed(what: str, slow: str, fast: str, target: float | None) -> Row:
        return Row(what, f"{m[slow]:.2f} s / {m[fast]:.2f} s", m[slow] / m[fast], "x", target)

    def share(what: str, key: str) -> Row:
        return Row(what, f"{m[key] / 1e9:.2f} / {matmul / 1e9:.1f} GFLOP/s", 100 * m[key] / matmul, "%", 25.0)

    return [
        speed("trainer vs DataLoader loop", "dataloader_s", "trainer_s", 2.5),
        speed("(nn.Module loop trainer.fit vs DataLoader)", "dataloader_s", "fit_s", None),
        speed(f"stacked K={m['k']} vs one by one, per model", "one_by_one_s", "stacked_s", 4.0),
        share("FLOP efficiency, trainer (64-32 MLP)", "trainer_flops"),
        share(f"FLOP efficiency, stacked K={m['k']} (64-32)", "stacked_flops"),
        share(f"FLOP efficiency, stacked K={m['k']} (512-512)", "wide_flops"),
    ]


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    m = measure(args.epochs, args.k)
    print(f"training: synthetic/gaussian ρ=5, {m['n_train']} train / {m['n_val']} validation rows, {m['d']} features, "
          f"MLP {HIDDEN}, batch {BATCH}, {m['epochs']} epochs, focal loss, {args.threads} thread(s)")
    show(rows(m))
    return rows(m)


if __name__ == "__main__":
    main()
