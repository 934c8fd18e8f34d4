"""What one boosting round's derivatives cost when a loss is given only per sample (``make perf``).

    python -m benchmarks.perf.torch_objective [--rows 1500] [--repeats 50]

LightGBM calls its objective once per round of every fit. A loss with hand-derived terms (focal)
computes them in numpy (:func:`harness.learners.lightgbm_learner.derivatives`); a loss given only
as a torch function (ASL, a user's own) gets them by autograd
(:class:`harness.learners.torch_objective.TorchObjective`, double backward). Side by side, on
random margins of ``rows`` samples (binary, and 5 classes for the multi-class form), best of
``repeats``:

1. ASL by double backward against the same derivatives by ``torch.func`` (``grad`` and a
   forward-over-reverse ``jvp``: the formulation it replaced, kept here as the reference) — target
   ≥ 3× (measured 7.2× when it changed), valid only where both give the same values;
2. focal written as a user's torch function (:func:`user_focal`), by autograd, against focal's
   hand-derived numpy terms: what "no derivation by hand" costs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.func import grad, jvp

import loss_zoo
from harness.learners import lightgbm_learner
from harness.learners.torch_objective import TorchObjective

from ._table import Row, show

CLASSES = 5


def user_focal(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Focal loss as a user would write it for ``function:`` (binary (N,) or multi-class (N, C))."""
    if logits.ndim == 1:
        u = torch.where(targets == 1, logits, -logits)
        log_pt = torch.nn.functional.logsigmoid(u)
    else:
        log_pt = torch.log_softmax(logits, dim=1).gather(1, targets[:, None])[:, 0]
    return -((1.0 - log_pt.exp()) ** gamma) * log_pt


def _best(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def by_torch_func(objective: TorchObjective, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The replaced formulation: gradient by ``torch.func.grad``, the Hessian's diagonal by a
    forward-over-reverse ``jvp`` along each class's unit direction (one direction for binary)."""
    zt, yt = torch.from_numpy(z.astype(np.float64)), torch.from_numpy(y.astype(np.int64))
    gradient = grad(lambda s: objective.fn(s, yt, **objective.params).sum())
    g = gradient(zt)
    if zt.ndim == 1:
        h = jvp(gradient, (zt,), (torch.ones_like(zt),))[1]
    else:
        columns = []
        for k in range(zt.shape[1]):
            direction = torch.zeros_like(zt)
            direction[:, k] = 1.0
            columns.append(jvp(gradient, (zt,), (direction,))[1][:, k])
        h = torch.stack(columns, dim=1)
    return g.numpy(), h.numpy()


def _data(rows: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (rows,) if classes == 2 else (rows, classes)
    return rng.normal(0.0, 2.0, size=shape), rng.integers(0, classes, size=rows)


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return all(np.allclose(x, w, rtol=1e-10, atol=1e-12) for x, w in zip(a, b))


def measure(rows: int, repeats: int) -> dict[str, float | bool]:
    """Seconds per call (best of ``repeats``) and whether the compared pairs agree."""
    z, y = _data(rows, 2)
    zc, yc = _data(rows, CLASSES)
    asl = TorchObjective.of("asl", loss_zoo.entry("asl").loss_params({}, [rows - rows // 10, rows // 10]))
    multi = focal = TorchObjective(user_focal, {"gamma": 2.0})
    terms = lightgbm_learner.terms_of("focal", {"gamma": 2.0})
    return {
        "asl_backward": _best(repeats, lambda: asl.derivatives(z, y)),
        "asl_func": _best(repeats, lambda: by_torch_func(asl, z, y)),
        "asl_same": _same(asl.derivatives(z, y), by_torch_func(asl, z, y)),
        "multi_backward": _best(repeats, lambda: multi.derivatives(zc, yc)),
        "multi_func": _best(repeats, lambda: by_torch_func(multi, zc, yc)),
        "multi_same": _same(multi.derivatives(zc, yc), by_torch_func(multi, zc, yc)),
        "focal_autograd": _best(repeats, lambda: focal.derivatives(z, y)),
        "focal_numpy": _best(repeats, lambda: lightgbm_learner.derivatives(terms, z, y)),
        "focal_same": _same(focal.derivatives(z, y), lightgbm_learner.derivatives(terms, z, y)),
    }


def rows_of(m: dict, rows: int) -> list[Row]:
    ms = {k: v * 1e3 for k, v in m.items() if not isinstance(v, bool)}
    return [
        Row(f"ASL derivatives, torch.func vs backward ({rows})", f"{ms['asl_func']:.2f} ms / {ms['asl_backward']:.2f} ms",
            m["asl_func"] / m["asl_backward"], "x", 3.0, ">=", bool(m["asl_same"])),
        Row(f"{CLASSES}-class focal, torch.func vs backward", f"{ms['multi_func']:.2f} ms / {ms['multi_backward']:.2f} ms",
            m["multi_func"] / m["multi_backward"], "x", None, ">=", bool(m["multi_same"])),
        Row("focal derivatives, autograd vs by hand", f"{ms['focal_autograd']:.2f} ms / {ms['focal_numpy']:.2f} ms",
            m["focal_autograd"] / m["focal_numpy"], "x", None, ">=", bool(m["focal_same"])),
    ]


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    m = measure(args.rows, args.repeats)
    print(f"derivatives per boosting round, {args.rows} rows (agree: ASL {m['asl_same']}, "
          f"{CLASSES}-class {m['multi_same']}, focal {m['focal_same']}):")
    rows = rows_of(m, args.rows)
    show(rows)
    return rows


if __name__ == "__main__":
    main()
