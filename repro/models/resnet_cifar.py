"""ResNet-32 for CIFAR (He et al. 2016, Sec. 4.2), the usual long-tailed CIFAR backbone.

3 stages × 5 basic blocks at 16/32/64 channels, option-A (parameter-free) shortcuts: a stride-2
subsample and zero-padded channels, global average pooling, linear head. About 0.46M parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from repro.models.resnet import check_width


class BasicBlock(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN + shortcut, ReLU. Option A: the shortcut adds no parameters."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - in_planes
        self.stride = stride

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-(6n+2) with option-A shortcuts; ``blocks=5`` is ResNet-32, ``width`` the first stage's channels."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, blocks: int = 5, width: int = 16) -> None:
        super().__init__()
        check_width(width)
        check_width(blocks, "blocks")
        self.conv1 = nn.Conv2d(in_shape[0], width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers: list[nn.Module] = []
        in_planes = width
        for stage, planes in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                layers.append(BasicBlock(in_planes, planes, 2 if stage > 0 and b == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(in_planes, num_classes)
        for m in self.modules():
            # kaiming_normal for conv/linear, as the original code's _weights_init.
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def resnet32(num_classes: int, in_shape: Sequence[int]) -> ResNetCifar:
    """ResNet-32 (0.46M parameters for 10 classes)."""
    return ResNetCifar(num_classes, in_shape, blocks=5, width=16)
