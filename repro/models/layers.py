"""NormedLinear: a cosine-similarity output layer (normalised inputs and normalised weight columns)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NormedLinear(nn.Module):
    """out = normalize(x, dim=1) @ normalize(W, dim=0): cosines in [−1, 1], no bias.

    W has shape (in, out) and is initialised uniform(−1, 1) with each column renormed, as in the
    margin losses' reference code. The cosines must be scaled (e.g. by s = 30) before a softmax; an unscaled
    cosine head trained with plain cross-entropy cannot reach confident predictions.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        with torch.no_grad():
            self.weight.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)
