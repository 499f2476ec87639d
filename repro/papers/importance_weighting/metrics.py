"""The two summaries of the importance-weighting studies: the spread of the fraction predicted as the up-weighted
class between the extreme weight ratios, and the angle between a weighted and the unweighted linear solution."""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["angle_degrees", "decision_vector", "spread"]


def angle_degrees(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """arccos(u·v / (‖u‖‖v‖)) in degrees along the last axis (cosine clamped to [−1, 1], so identical vectors give
    exactly 0); NaN where either vector is zero, whose direction is undefined."""
    u, v = u.double(), v.double()
    nu, nv = u.norm(dim=-1), v.norm(dim=-1)
    cos = (u * v).sum(-1) / (nu * nv)
    same = (u == v).all(-1)
    angle = torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))
    angle = torch.where(same, torch.zeros_like(angle), angle)
    return torch.where((nu == 0) | (nv == 0), torch.full_like(angle, math.nan), angle)


def decision_vector(weight: torch.Tensor, bias: torch.Tensor, up: int = 1) -> torch.Tensor:
    """The augmented direction [w_up − w_other, b_up − b_other] of a two-logit linear layer (its logit difference is
    linear in [x, 1] with these coefficients); stacked weights (..., 2, d) and biases (..., 2) give (..., d + 1)."""
    if weight.shape[-2] != 2:
        raise ValueError(f"decision_vector needs a two-logit layer, got {weight.shape[-2]} logits")
    other = 1 - up
    return torch.cat([weight[..., up, :] - weight[..., other, :],
                      (bias[..., up] - bias[..., other]).unsqueeze(-1)], -1)


def spread(frac_by_ratio: dict[float, float]) -> float:
    """frac(largest ratio) − frac(smallest ratio): how far apart the extreme weightings put the boundary."""
    if len(frac_by_ratio) < 2:
        raise ValueError(f"a spread needs at least two ratios, got {sorted(frac_by_ratio)}")
    ratios = sorted(frac_by_ratio)
    return float(np.float64(frac_by_ratio[ratios[-1]]) - np.float64(frac_by_ratio[ratios[0]]))
