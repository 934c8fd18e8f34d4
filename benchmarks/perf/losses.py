"""Forward + backward time of focal loss vs BCE-with-logits and vs kornia, measured in one run.

    python -m benchmarks.perf.losses [--n 1000000] [--repeats 30] [--threads 1]

Targets (issue 3): focal <= 1.5x BCE-with-logits, and no slower than kornia.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from loss_zoo import focal_loss


def best_time(fn, x: torch.Tensor, repeats: int) -> float:
    """Best of ``repeats`` wall times of forward + backward (after warm-up)."""
    for _ in range(3):
        fn().backward()
    times = []
    for _ in range(repeats):
        x.grad = None
        t0 = time.thread_time()  # CPU time of this thread: steadier than wall time on a shared machine
        fn().backward()
        times.append(time.thread_time() - t0)
    return min(times)


def measure(n: int, repeats: int, seed: int = 0) -> list[tuple[str, float]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g).mul_(3).requires_grad_()
    y = torch.randint(0, 2, (n,), generator=g)
    yf = y.float()
    cases = [
        ("bce_with_logits", lambda: F.binary_cross_entropy_with_logits(x, yf)),
        ("focal γ=2 α=0.25", lambda: focal_loss(x, y, gamma=2.0, alpha=0.25)),
        ("focal γ=2", lambda: focal_loss(x, y, gamma=2.0)),
        ("focal γ=0.5", lambda: focal_loss(x, y, gamma=0.5)),
    ]
    try:
        from kornia.losses import binary_focal_loss_with_logits
    except ImportError:  # kornia is a test-only dependency
        binary_focal_loss_with_logits = None
    if binary_focal_loss_with_logits is not None:
        x2, y2 = x[:, None], yf[:, None]
        cases.append(("kornia γ=2 α=0.25", lambda: binary_focal_loss_with_logits(x2, y2, alpha=0.25, gamma=2.0, reduction="mean")))
    return [(name, best_time(fn, x, repeats)) for name, fn in cases]


def main(argv: list[str] | None = None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = measure(args.n, args.repeats)
    base = dict(rows)["bce_with_logits"]
    kornia = dict(rows).get("kornia γ=2 α=0.25")
    print(f"loss forward+backward, N = {args.n:,}, float32, {args.threads} thread(s), best of {args.repeats}")
    print(f"{'loss':22s} {'ms':>8s} {'× BCE':>7s}" + (f" {'× kornia':>9s}" if kornia else ""))
    for name, t in rows:
        line = f"{name:22s} {t * 1e3:8.2f} {t / base:7.2f}"
        if kornia:
            line += f" {t / kornia:9.2f}"
        print(line)
    return rows


if __name__ == "__main__":
    main()
