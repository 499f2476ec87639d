"""Width-k pre-activation ResNet18 (He et al. 2016): stage widths ``[k, 2k, 4k, 8k]``; k = 64 is the standard
ResNet18. Layer for layer after kuangliu/pytorch-cifar's PreActResNet18 with the width as a parameter:
11,171,146 parameters at k = 64 for 10 classes and RGB input. ``PreActResNet34``: the same with [3, 4, 6, 3] blocks
per stage (21,279,306 parameters at k = 64).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError


def check_width(width: int, name: str = "width") -> None:
    """Raise a ValueError that points at the config key when a width is not a positive integer."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ConfigValueError(
            f"{name} must be an integer >= 1, got {width!r} (set model.init_args.backbone.init_args.{name})"
        )


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 with a shortcut (He et al. 2016, "Identity Mappings")."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        # Projection only where the shape changes; the official code uses a bare 1x1 conv (no BN).
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # As in resnet18k.py: the projection sees the pre-activated input, the identity sees raw x.
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """Pre-activation ResNet18 with base width ``k`` (``width``); ``forward`` returns logits.

    ``in_shape`` is one example's (C, H, W). There is no BN/ReLU after the last stage, matching the
    official code. Pooling is adaptive to 1x1, which equals the paper's ``avg_pool2d(4)`` at 32x32 and
    also accepts other resolutions (e.g. 28x28 MNIST). Stages (``repro.models.stages``): ``stage1`` … ``stage4``,
    the outputs of ``layer1`` … ``layer4``.
    """

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64,
                 blocks: Sequence[int] = (2, 2, 2, 2)) -> None:
        super().__init__()
        check_width(width)
        k = width
        self.stem = nn.Conv2d(in_shape[0], k, 3, stride=1, padding=1, bias=False)
        layers: list[nn.Module] = []
        in_planes = k
        for planes, stride, n in zip([k, 2 * k, 4 * k, 8 * k], [1, 2, 2, 2], blocks, strict=True):
            layers.append(nn.Sequential(PreActBlock(in_planes, planes, stride),
                                        *(PreActBlock(planes, planes, 1) for _ in range(n - 1))))
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.stages = {f"stage{i}": f"layer{i}" for i in range(1, 5)}
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8 * k, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, shape (N, 8k)."""
        out = self.stem(x)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return torch.flatten(self.pool(out), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class PreActResNet34(PreActResNet18):
    """Pre-activation ResNet34: [3, 4, 6, 3] blocks per stage, otherwise as :class:`PreActResNet18`."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64) -> None:
        super().__init__(num_classes, in_shape, width=width, blocks=(3, 4, 6, 3))
