"""A hand-written loss in its own file, benchmarked without touching the zoo: the squared hinge.

Binary (logits (N,), targets in {0, 1}): ℓ = max(0, m − s·z)² with s = 2y − 1 (the L2-SVM loss;
Rennie & Srebro 2005 use it as a smooth margin loss). Multi-class (logits (N, C)): the
Crammer–Singer form, ℓ = max(0, m + max_{k≠y} z_k − z_y)². One value per sample, torch only, so
the MLP trains it by autograd and LightGBM by its autograd derivatives.

A spec names it as ``{name: squared_hinge, function: benchmarks/examples/squared_hinge.py:squared_hinge}``;
``SPACE`` tunes the margin m as ``squared_hinge_margin``.
"""

import torch

from harness.space import Float

SPACE = {"margin": Float(0.5, 2.0)}


def squared_hinge(logits: torch.Tensor, targets: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Per-sample squared hinge loss, (N,)."""
    if logits.ndim == 1:
        sign = 2.0 * targets.to(logits.dtype) - 1.0
        return torch.relu(margin - sign * logits) ** 2
    true = logits.gather(1, targets[:, None]).squeeze(1)
    others = logits.masked_fill(torch.nn.functional.one_hot(targets, logits.shape[1]).bool(), float("-inf"))
    return torch.relu(margin + others.max(dim=1).values - true) ** 2
