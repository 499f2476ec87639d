"""Weight initialisations other frameworks use by default, for ports that must start where the original did."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["he_truncated_normal_"]


@torch.no_grad()
def he_truncated_normal_(module: nn.Module) -> nn.Module:
    """Every Linear and Conv weight ~ N(0, 2 / fan_in) truncated at ±2 standard deviations (redrawn outside), every
    bias zero: Keras 2's ``he_normal``, which truncates without rescaling, so the realised std is ≈ 0.88·√(2/fan_in).
    Other layers (BatchNorm, embeddings, recurrent cells) keep their own initialisation."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d):
            fan_in = m.weight[0].numel()
            std = math.sqrt(2.0 / fan_in)
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
            if m.bias is not None:
                m.bias.zero_()
    return module
