"""NormedLinear: the cosine-similarity head used with LDAM (Cao et al. 2019, code ``models/resnet_cifar.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NormedLinear(nn.Module):
    """out = normalize(x, dim=1) @ normalize(W, dim=0): cosines in [−1, 1], no bias.

    W has shape (in, out) and is initialised uniform(−1, 1) with each column renormed, as in the
    original code. LDAM scales these cosines by s=30 after subtracting the margin (Eq. 12), so the
    head must not be used for the CE/focal baselines (card §8).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        with torch.no_grad():
            self.weight.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)
