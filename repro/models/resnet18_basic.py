"""ResNet-18 with torchvision's ``BasicBlock`` [2, 2, 2, 2] and a CIFAR stem: conv3×3 stride 1 (no bias) → BN →
ReLU, then optionally the 3×3/2 max-pool of the ImageNet stem (``maxpool``), four stages of ``width``·(1, 2, 4, 8)
channels, global average pooling and a linear ``head``.

Built on ``torchvision.models.resnet.ResNet`` (only the stem and the head are replaced), so each block is
torchvision's: one in-place ``nn.ReLU`` module called twice per block.

``norm``: ``batch`` (BatchNorm2d) or ``group`` (GroupNorm with 32 groups, γ = 1, β = 0), in the stem and every block.

k-NN probe points (``repro.training.probes``): ``stem`` (the stem's normalisation, before its ReLU) and ``block1`` …
``block8``, each basic block's output (after the residual addition and the block's last ReLU).

``init``:
- ``torchvision``: torchvision's own (conv ``kaiming_normal_`` fan_out, BN γ = 1, β = 0, linear PyTorch default);
- ``kaiming_fan_in``: conv and linear weights ``kaiming_normal_`` with the default fan_in, BN γ ~ U(0, 1), β = 0,
  the linear bias left at PyTorch's default (the open_lth framework's ResNet initialisation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from repro.errors import ConfigValueError
from repro.models.resnet import check_width

__all__ = ["INITS", "BasicResNet18"]

INITS = ("torchvision", "kaiming_fan_in")
NORMS = {"batch": nn.BatchNorm2d, "group": lambda channels: nn.GroupNorm(32, channels)}


class BasicResNet18(nn.Module):
    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64, maxpool: bool = False,
                 init: str = "torchvision", norm: str = "batch") -> None:
        super().__init__()
        check_width(width)
        if init not in INITS:
            raise ConfigValueError(f"model.init_args.backbone.init_args.init must be one of {', '.join(INITS)}, "
                                   f"got {init!r}")
        if norm not in NORMS:
            raise ConfigValueError(f"model.init_args.backbone.init_args.norm must be one of {', '.join(NORMS)}, "
                                   f"got {norm!r}")
        if norm == "group" and width % 32:
            raise ConfigValueError(f"norm: group uses 32 groups, so the width must be a multiple of 32, got {width}")
        norm_layer = NORMS[norm]
        net = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, width_per_group=64, norm_layer=norm_layer)
        if width != 64:  # torchvision fixes 64 stem channels; rebuild the stages at the requested width
            net.inplanes = width
            net.layer1 = net._make_layer(BasicBlock, width, 2)
            net.layer2 = net._make_layer(BasicBlock, 2 * width, 2, stride=2)
            net.layer3 = net._make_layer(BasicBlock, 4 * width, 2, stride=2)
            net.layer4 = net._make_layer(BasicBlock, 8 * width, 2, stride=2)
        net.conv1 = nn.Conv2d(in_shape[0], width, 3, 1, 1, bias=False)
        net.bn1 = norm_layer(width)
        if not maxpool:
            net.maxpool = nn.Identity()
        self.head = nn.Linear(8 * width, num_classes)
        net.fc = nn.Identity()
        self.net = net
        self.probes = {"stem": "net.bn1", **{f"block{2 * i + j + 1}": f"net.layer{i + 1}.{j}" for i in range(4)
                                              for j in range(2)}}
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init == "torchvision":
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                else:
                    nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.zeros_(m.bias)
                if init == "torchvision":
                    nn.init.ones_(m.weight)
                else:
                    nn.init.uniform_(m.weight)
        if init == "kaiming_fan_in":
            nn.init.kaiming_normal_(self.head.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
