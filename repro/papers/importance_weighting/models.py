"""The networks of the importance-weighting studies, each ``f(num_classes, in_shape, **config) -> nn.Module``.

- :class:`ConvNet` — the CIFAR CNN all three public reproductions use: conv3x3-64, conv3x3-64, max-pool, three
  conv3x3-128, max-pool, FC-512, FC-128, FC-out, ReLU, no padding (flatten size 2048 at 32×32), optional dropout
  after the two hidden FC layers;
- :class:`SmallResNet` — the ResNet of one reproduction, with batch norm switched on or off: conv5x5-64 (padding 1),
  three stages of two basic blocks at 64/128/256 channels (strides 1/2/2), global average pool, FC;
- :class:`MLPNet` — the quick-scale MLP, with optional batch norm (before each hidden ReLU) and dropout (after it);
- :class:`LinearModel` — logistic regression as a two-logit linear layer, zero-initialised (the implicit-bias
  theory's starting point); its decision function is (w₁ − w₀)·x + (b₁ − b₀).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.resnet import check_width

__all__ = ["ConvNet", "LinearModel", "MLPNet", "SmallResNet"]


def _check_dropout(p: float) -> None:
    if not 0 <= p < 1:
        raise ConfigValueError(f"model.init_args.backbone.init_args.dropout must be in [0, 1), got {p}")


class MLPNet(nn.Module):
    """Flatten, ``depth`` × [Linear(width), BatchNorm (``batch_norm``), ReLU, Dropout(``dropout``)], linear head."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 32, depth: int = 2,
                 dropout: float = 0.0, batch_norm: bool = False) -> None:
        super().__init__()
        check_width(width)
        check_width(depth, "depth")
        _check_dropout(dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(in_shape)
        for _ in range(depth):
            layers.append(nn.Linear(fan_in, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
            fan_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LinearModel(nn.Module):
    """``num_classes`` logits linear in the flattened input, weights and bias zero at the start."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, zero_init: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(math.prod(in_shape), num_classes)
        if zero_init:
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class ConvNet(nn.Module):
    """The reproductions' CIFAR CNN (no padding: 32 → 30 → 28 → 14 → 12 → 10 → 8 → 4; 128·4·4 = 2048 features)."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, dropout: float = 0.0) -> None:
        super().__init__()
        _check_dropout(dropout)
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 128, 3), nn.ReLU(), nn.Conv2d(128, 128, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())
        side = lambda s: ((s - 4) // 2 - 6) // 2  # noqa: E731
        if side(h) < 1 or side(w) < 1:
            raise ConfigValueError(f"ConvNet needs images of at least 18×18 (it has no padding), got {h}×{w}")
        dense: list[nn.Module] = [nn.Linear(128 * side(h) * side(w), 512), nn.ReLU()]
        dense += [nn.Dropout(dropout)] if dropout else []
        dense += [nn.Linear(512, 128), nn.ReLU()]
        dense += [nn.Dropout(dropout)] if dropout else []
        self.dense = nn.Sequential(*dense)
        self.head = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dense(self.features(x)))


class _Block(nn.Module):
    """conv3x3-(BN)-ReLU-conv3x3-(BN) plus a shortcut (a conv3x3 projection where the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, batch_norm: bool) -> None:
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), norm(c_out), nn.ReLU(),
                                  nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), norm(c_out))
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), norm(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class SmallResNet(nn.Module):
    """conv5x5-64 (padding 1), stages of ``blocks`` basic blocks at 64/128/256 channels, average pool, FC; batch
    norm after every convolution when ``batch_norm``."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, batch_norm: bool = True, blocks: int = 2) -> None:
        super().__init__()
        check_width(blocks, "blocks")
        layers: list[nn.Module] = [nn.Conv2d(in_shape[0], 64, 5, padding=1, bias=False)]
        layers += [nn.BatchNorm2d(64)] if batch_norm else []
        layers.append(nn.ReLU())
        c_in = 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2)):
            for b in range(blocks):
                layers.append(_Block(c_in, c_out, stride if b == 0 else 1, batch_norm))
                c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
