"""The convolutional learner ``cnn``: a small residual network over images, trained with any loss
of the zoo exactly as the MLP is (the same :func:`harness.learners.trainer.fit`: AdamW, batches,
early stopping or a fixed schedule, pruning per epoch, calibration and records downstream).

The net (He et al., "Deep residual learning for image recognition", CVPR 2016, in miniature,
sized for a 2-core CPU): a 3×3 convolution stem (stride ``stem_stride``), one stage per entry of
``channels`` with ``blocks`` basic residual blocks each (two 3×3 convolutions with batch norm; the
first block of every stage after the first halves the resolution, its shortcut a strided 1×1
convolution), global average pooling and a linear head whose bias starts at the training prior
(log π_k; binary: the prior's logit), as the MLP's does.

Rows reach it flattened, (N, C·H·W), with the image shape from the data
(:attr:`harness.learners.base.FitTask.input_shape`); the net reshapes them, so the trainer, the
predictions and the calibration code see the same (N, d) rows as for the MLP. Every fit also
records its per-epoch training and validation NLL (``FitReport.history``), the evidence of
over-fitting that the Mukhoti check reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from harness.learners.base import FitTask
from harness.learners.models import CosineLinear
from harness.learners.torch_mlp import SPACE, TorchLearner, training_settings
from harness.spec.schema import Spec

__all__ = ["SPACE", "CNNLearner", "SmallResNet", "build_cnn"]


class ResidualBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU (a ResNet basic block)."""

    def __init__(self, n_in: int, n_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(),
            nn.Conv2d(n_out, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out))
        self.shortcut = (nn.Identity() if stride == 1 and n_in == n_out else
                         nn.Sequential(nn.Conv2d(n_in, n_out, 1, stride=stride, bias=False), nn.BatchNorm2d(n_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A residual network with one logit output (binary) or C (multi-class).

    Parameters
    ----------
    input_shape : (channels, height, width)
        The shape of one image; inputs arrive as (N, channels · height · width) rows.
    channels : sequence of int, default (16, 32)
        Width of each stage; every stage after the first halves the resolution.
    blocks : int, default 1
        Residual blocks per stage.
    stem_stride : {1, 2}, default 1
        2 halves the resolution before the first stage (28×28 → 14×14: about 4× fewer operations).
    n_outputs : int, default 1
    cosine_scale : float or None, default None
        A cosine-normalised head with this scale s (:class:`~harness.learners.models.CosineLinear`,
        LDAM) after the global pooling, as the authors' ResNet's ``NormedLinear``; None: linear.
    """

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int] = (16, 32), blocks: int = 1,
                 stem_stride: int = 1, n_outputs: int = 1, cosine_scale: float | None = None) -> None:
        super().__init__()
        self.input_shape, self.n_outputs = tuple(int(v) for v in input_shape), n_outputs
        layers: list[nn.Module] = [nn.Conv2d(self.input_shape[0], channels[0], 3, stride=stem_stride, padding=1,
                                             bias=False), nn.BatchNorm2d(channels[0]), nn.ReLU()]
        width = channels[0]
        for stage, n_out in enumerate(channels):
            for block in range(blocks):
                layers.append(ResidualBlock(width, n_out, 2 if stage > 0 and block == 0 else 1))
                width = n_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(width, n_outputs) if cosine_scale is None else CosineLinear(width, n_outputs, cosine_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N,) (one output) or (N, n_outputs) for rows (N, C·H·W) or images (N, C, H, W)."""
        out = self.head(self.features(x.view(-1, *self.input_shape)))
        return out.squeeze(-1) if self.n_outputs == 1 else out


def build_cnn(input_shape: Sequence[int], *, channels: Sequence[int] = (16, 32), blocks: int = 1,
              stem_stride: int = 1, prior: float | Sequence[float] | None = None, seed: int,
              n_outputs: int = 1, cosine_scale: float | None = None) -> SmallResNet:
    """A :class:`SmallResNet` whose weights come from ``seed`` alone (torch's default
    initialisation, drawn inside a forked generator), the head's bias at the training prior:
    log(π / (1 - π)) for one output, log π_k for C (Lin et al. 2017, as :func:`~harness.learners.models.build_model`)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallResNet(input_shape, channels, blocks, stem_stride, n_outputs, cosine_scale)
        if cosine_scale is not None:  # directions only, drawn as torch's Linear draws its weights
            nn.init.kaiming_uniform_(model.head.weight, a=math.sqrt(5))
    with torch.no_grad():
        if cosine_scale is not None:  # no bias: the prior does not apply
            pass
        elif n_outputs > 1 and prior is not None:
            model.head.bias.copy_(torch.log(torch.as_tensor(prior, dtype=torch.float64)))
        elif prior is not None and 0.0 < prior < 1.0:
            model.head.bias.fill_(math.log(prior / (1.0 - prior)))
    return model


@dataclass(frozen=True)
class CNNLearner(TorchLearner):
    """:class:`~harness.learners.torch_mlp.TorchLearner`'s training (AdamW with the task's ``lr``
    and ``weight_decay``, the spec's ``training`` settings) for :class:`SmallResNet`; the models
    train one by one (a stack holds MLPs only)."""

    channels: tuple[int, ...] = (16, 32)
    blocks: int = 1
    stem_stride: int = 1

    track_nll: ClassVar[bool] = True

    @classmethod
    def from_spec(cls, spec: Spec, model=None) -> CNNLearner:
        """The learner of ``model`` (a ``cnn`` entry of ``spec.models``; default the first)."""
        model = model if model is not None else spec.model
        settings = {**training_settings(spec), "stacked": False}
        return cls(model.name, (), 0.0, **settings, channels=tuple(model.channels), blocks=model.blocks,
                   stem_stride=model.stem_stride)

    def _build(self, task: FitTask, n_features: int, outputs: dict, cosine_scale: float | None = None) -> torch.nn.Module:
        if task.input_shape is None or math.prod(task.input_shape) != n_features:
            raise ValueError(f"cnn: expected images (rows with an image shape, e.g. dataset images/digits), got rows "
                             f"of {n_features} features with image shape {task.input_shape}")
        return build_cnn(task.input_shape, channels=self.channels, blocks=self.blocks, stem_stride=self.stem_stride,
                         **outputs, seed=task.seed, cosine_scale=cosine_scale)
