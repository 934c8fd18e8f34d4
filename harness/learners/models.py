"""Models: a linear (logistic) model and an MLP, seeded and with a prior-initialised bias."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class CosineLinear(nn.Module):
    r"""A cosine-normalised last layer: :math:`z_k = s \cos(h, w_k)`, no bias; scores in [−s, s].

    The authors' ``NormedLinear`` of LDAM (Cao et al., NeurIPS 2019; kaidic/LDAM-DRW,
    models/resnet_cifar.py: ``F.normalize(x, dim=1).mm(F.normalize(W, dim=0))``), with the scale s
    that their loss applies folded in, so the model's outputs are the logits whose softmax the
    loss trains (and every calibration variant reads). ``weight`` is (out, in), as nn.Linear's.
    """

    def __init__(self, in_features: int, out_features: int, scale: float) -> None:
        super().__init__()
        self.in_features, self.out_features, self.scale = in_features, out_features, float(scale)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as nn.Linear: never uninitialised memory

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(x, dim=-1), F.normalize(self.weight, dim=-1))


class MLP(nn.Module):
    """Fully connected ReLU network with one logit output; no hidden layers is logistic regression.

    Parameters
    ----------
    n_features : int
    hidden_sizes : sequence of int
        Empty for a linear (logistic) model.
    dropout : float in [0, 1)
    n_outputs : int, default 1
        1 for a binary logit, C for multi-class logits.
    cosine_scale : float or None, default None
        A cosine-normalised last layer with this scale s (:class:`CosineLinear`, for LDAM) instead
        of the linear one; without hidden layers it reads the normalised features.
    """

    def __init__(self, n_features: int, hidden_sizes: tuple[int, ...] = (), dropout: float = 0.0,
                 n_outputs: int = 1, cosine_scale: float | None = None) -> None:
        super().__init__()
        self.n_outputs = n_outputs
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, n_outputs) if cosine_scale is None else CosineLinear(width, n_outputs,
                                                                                            cosine_scale))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (N,) (one output) or (N, n_outputs) for inputs of shape (N, n_features)."""
        out = self.net(x)
        return out.squeeze(-1) if self.n_outputs == 1 else out


def build_model(
    name: str,
    n_features: int,
    *,
    hidden_sizes: tuple[int, ...] = (),
    dropout: float = 0.0,
    prior: float | Sequence[float] | None = None,
    seed: int,
    n_outputs: int = 1,
    cosine_scale: float | None = None,
) -> MLP:
    """Build ``logistic`` or ``mlp`` with weights drawn from ``seed`` alone.

    The output bias starts at log(π / (1 - π)) for the training prior π (Lin et al. 2017),
    so the first steps are not spent learning the class frequency; with ``n_outputs`` = C > 1
    (multi-class) ``prior`` is the C class priors and the biases start at log π_k. A
    cosine-normalised last layer (``cosine_scale``) has no bias: ``prior`` is not used.
    """
    model = MLP(n_features, tuple(hidden_sizes) if name == "mlp" else (), dropout if name == "mlp" else 0.0,
                n_outputs=n_outputs, cosine_scale=cosine_scale)
    g = torch.Generator().manual_seed(seed)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer in linears:
            # torch's default Linear initialisation, drawn from our generator
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
            bound = 1.0 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.bias, -bound, bound, generator=g)
        if cosine_scale is not None:  # directions only: the norm of each w_k is divided out
            nn.init.kaiming_uniform_(model.net[-1].weight, a=math.sqrt(5), generator=g)
        elif n_outputs > 1 and prior is not None:
            linears[-1].bias.copy_(torch.log(torch.as_tensor(prior, dtype=torch.float64)))
        elif prior is not None and 0.0 < prior < 1.0:
            linears[-1].bias.fill_(math.log(prior / (1.0 - prior)))
    return model
