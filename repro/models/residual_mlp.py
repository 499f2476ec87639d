"""Residual MLP for low-dimensional inputs, with a frozen random input projection.

A frozen input projection ``Dense 2→width`` followed by ``depth`` residual layers
``h ← h + Dropout(ReLU(Dense(h)))`` and a linear head. The frozen projection keeps distances of the raw input
(it is a fixed random map, not trained to collapse them). ``input_init: glorot`` draws it as Keras' default Dense
does (Glorot-uniform weights, zero bias), ``torch`` as ``nn.Linear`` does (U(±1/√fan_in) weights and bias: 3.3×
larger for 2 → 128, with a random offset). Spectral normalization of the residual Dense layers
(``repro.models.spectral``) then makes the stack bi-Lipschitz, i.e. distance-preserving.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from repro.errors import ConfigValueError


class ResidualMLP(nn.Module):
    """Two-moons residual MLP; ``forward_features`` gives the penultimate representation (N, width)."""

    def __init__(
        self,
        num_classes: int,
        in_shape: Sequence[int],
        *,
        width: int = 128,
        depth: int = 6,
        dropout: float = 0.1,
        input_init: str = "torch",
    ) -> None:
        super().__init__()
        if width < 1 or depth < 0:
            raise ConfigValueError(f"`width` must be >= 1 and `depth` >= 0, got width={width}, depth={depth}")
        if not 0 <= dropout < 1:
            raise ConfigValueError(f"`dropout` must be in [0, 1), got {dropout}")
        if input_init not in ("torch", "glorot"):
            raise ConfigValueError(f"`input_init` must be torch or glorot, got {input_init!r}")
        self.width = width
        self.input = nn.Linear(math.prod(in_shape), width)
        if input_init == "glorot":
            nn.init.xavier_uniform_(self.input.weight)
            nn.init.zeros_(self.input.bias)
        self.input.requires_grad_(False)  # frozen, as in the tutorial
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input(x.flatten(1))
        for layer in self.layers:
            h = h + self.dropout(torch.relu(layer(h)))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
