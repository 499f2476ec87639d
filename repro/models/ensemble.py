"""Deep ensemble (Lakshminarayanan et al. 2017): the usual strong baseline for predictive uncertainty.

The members are independently initialised copies of one backbone trained together in one module on the same
batches, each by its own cross-entropy; the predictive distribution is the mean of the members' softmaxes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError

__all__ = ["Ensemble", "ensemble_loss"]


class Ensemble(nn.Module):
    """``size`` members; ``forward`` gives the stacked logits (size, B, C) in training, and log of the mean
    softmax (B, C) in eval."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 1:
            raise ConfigValueError("an ensemble needs >= 1 member; set model.init_args.ensemble_size >= 1")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.stack([m(x) for m in self.members])
        if self.training:
            return logits
        return logits.log_softmax(-1).logsumexp(0) - math.log(len(self.members))


def ensemble_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over members of each member's mean cross-entropy (so each trains as if alone)."""
    k = logits.shape[0]
    return F.cross_entropy(logits.flatten(0, 1), y.repeat(k)) * k
