"""Wide ResNet (Zagoruyko & Komodakis 2016), for CIFAR-sized images.

WRN-d-k: a 3×3 stem with 16 channels, three groups of (d − 4)/6 pre-activation basic blocks with 16k, 32k, 64k
channels (stride 1, 2, 2), BN-ReLU, global average pooling and a linear ``head``. WRN-28-10 has ≈ 36.5M
parameters. Dropout sits between a block's two convolutions (``dropout_layout: between_convs``), or, with
``every_conv``, before every convolution: after the stem, before each block's conv1 and conv2, and on the residual
branch's output in the three blocks whose shortcut is a 1×1 projection (28 dropout layers in WRN-28); ``filterwise``
drops whole channels instead of single activations. The 1×1 shortcut reads the block's BN-ReLU'd input
(``shortcut_from: activated``) or its raw input (``raw``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from repro.errors import ConfigValueError

__all__ = ["WideResNet"]


def _dropout(rate: float, filterwise: bool, on: bool = True) -> nn.Module:
    return (nn.Dropout2d if filterwise else nn.Dropout)(rate) if rate > 0 and on else nn.Identity()


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float, filterwise: bool,
                 every_conv: bool = False, raw_shortcut: bool = False) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.dropout = _dropout(dropout, filterwise)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if stride != 1 or c_in != c_out else None
        self.dropout_in = _dropout(dropout, filterwise, every_conv)
        self.dropout_out = _dropout(dropout, filterwise, every_conv and self.shortcut is not None)
        self.raw_shortcut = raw_shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = torch.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(x if self.raw_shortcut else o)
        o = self.conv1(self.dropout_in(o))
        o = self.conv2(self.dropout(torch.relu(self.bn2(o))))
        return self.dropout_out(o) + skip


class WideResNet(nn.Module):
    """WRN-``depth``-``width``; ``forward_features`` gives the pooled (N, 64·width) representation."""

    def __init__(
        self,
        num_classes: int,
        in_shape: Sequence[int],
        *,
        depth: int = 28,
        width: int = 10,
        dropout: float = 0.0,
        filterwise: bool = True,
        dropout_layout: str = "between_convs",
        shortcut_from: str = "activated",
    ) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ConfigValueError(f"WideResNet `depth` must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth}")
        if width < 1:
            raise ConfigValueError(f"WideResNet `width` must be >= 1, got {width}")
        if not 0 <= dropout < 1:
            raise ConfigValueError(f"WideResNet `dropout` must be in [0, 1), got {dropout}")
        if dropout_layout not in ("between_convs", "every_conv"):
            raise ConfigValueError(f"WideResNet `dropout_layout` must be between_convs or every_conv, got "
                                   f"{dropout_layout!r}")
        if shortcut_from not in ("activated", "raw"):
            raise ConfigValueError(f"WideResNet `shortcut_from` must be activated or raw, got {shortcut_from!r}")
        every, raw = dropout_layout == "every_conv", shortcut_from == "raw"
        n = (depth - 4) // 6
        channels = [16, 16 * width, 32 * width, 64 * width]
        self.stem = nn.Conv2d(in_shape[0], channels[0], 3, 1, 1, bias=False)
        self.stem_dropout = _dropout(dropout, filterwise, every)
        blocks = []
        for g, stride in enumerate((1, 2, 2)):
            for i in range(n):
                c_in = channels[g] if i == 0 else channels[g + 1]
                blocks.append(_Block(c_in, channels[g + 1], stride if i == 0 else 1, dropout, filterwise,
                                     every, raw))
        self.blocks = nn.Sequential(*blocks)
        self.stages = {f"stage{g}": f"blocks.{g * n - 1}" for g in (1, 2, 3)}  # each group's last block
        self.bn = nn.BatchNorm2d(channels[3])
        self.head = nn.Linear(channels[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.blocks(self.stem_dropout(self.stem(x)))))
        return h.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
