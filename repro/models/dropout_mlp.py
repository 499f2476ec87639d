"""Fully connected network with dropout after every hidden layer: flatten, ``depth`` × (Linear → ReLU → Dropout),
linear head; optionally initialised as Keras' ``he_normal`` (truncated normal, zero biases)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.init import he_truncated_normal_
from repro.models.resnet import check_width


class DropoutMLP(nn.Module):
    """MLP ``in → width × depth → num_classes`` with ReLU and dropout ``dropout`` after each hidden layer.

    ``init``: ``he_truncated_normal`` (Keras 2 ``he_normal``: N(0, 2/fan_in) truncated at 2σ, zero biases) or
    ``default`` (PyTorch's own). ``in_shape`` is one example's shape; inputs are flattened.
    """

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 128, depth: int = 2,
                 dropout: float = 0.2, init: Literal["he_truncated_normal", "default"] = "he_truncated_normal"
                 ) -> None:
        super().__init__()
        check_width(width)
        check_width(depth, "depth")
        if not 0 <= dropout < 1:
            raise ConfigValueError(f"dropout must be in [0, 1), got {dropout} "
                                   "(model.init_args.backbone.init_args.dropout)")
        if init not in ("he_truncated_normal", "default"):
            raise ConfigValueError(f"init must be 'he_truncated_normal' or 'default', got {init!r} "
                                   "(model.init_args.backbone.init_args.init)")
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(in_shape)
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(dropout)]
            fan_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)
        if init == "he_truncated_normal":
            he_truncated_normal_(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
