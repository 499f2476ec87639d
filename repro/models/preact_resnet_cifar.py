"""Pre-activation ResNet-(6n+2) for 32×32 images with 1×1 projection shortcuts (He et al. 2016, "Identity Mappings",
in the Keras layout ``keras-resnet`` popularised): a 3×3 conv stem with BN and ReLU, three stages of ``blocks``
residual units at ``width``, 2·``width`` and 4·``width`` channels (stride 2 entering stages 2 and 3), a final
BN-ReLU, global average pooling and a linear head.

A unit is [BN → ReLU] → conv3×3 → BN → ReLU → conv3×3, plus a shortcut: the identity, or a strided 1×1 conv of
the unit's *raw* input where the channel count changes. The very first unit skips the pre-activation (the stem
just applied one). Every conv and the head carry a bias and start from Keras' ``he_normal``; BatchNorm uses Keras'
defaults (ε = 1e-3, moving-average momentum 0.99, i.e. PyTorch momentum 0.01).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from repro.models.init import he_truncated_normal_
from repro.models.resnet import check_width

BN_EPS, BN_MOMENTUM = 1e-3, 0.01


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class PreActUnit(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, *, preactivate: bool) -> None:
        super().__init__()
        self.bn_in = _bn(in_planes) if preactivate else None
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1)
        self.projection = nn.Conv2d(in_planes, planes, 1, stride) if in_planes != planes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn_in(x)) if self.bn_in is not None else x
        out = self.conv2(F.relu(self.bn1(self.conv1(out))))
        return out + (self.projection(x) if self.projection is not None else x)


class PreActResNetCifar(nn.Module):
    """``blocks`` = n units per stage (depth 6n + 2): n = 7 is the 44-layer net; ``width``: first stage's channels."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, blocks: int = 5, width: int = 16) -> None:
        super().__init__()
        check_width(blocks, "blocks")
        check_width(width)
        self.stem = nn.Conv2d(in_shape[0], width, 3, 1, 1)
        self.stem_bn = _bn(width)
        units: list[nn.Module] = []
        in_planes = width
        for stage, planes in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                units.append(PreActUnit(in_planes, planes, stride, preactivate=not (stage == 0 and b == 0)))
                in_planes = planes
        self.units = nn.Sequential(*units)
        self.final_bn = _bn(in_planes)
        self.head = nn.Linear(in_planes, num_classes)
        he_truncated_normal_(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.units(F.relu(self.stem_bn(self.stem(x))))
        return F.adaptive_avg_pool2d(F.relu(self.final_bn(out)), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
