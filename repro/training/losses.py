"""Losses and class weights a second paper can reuse (long-tailed and re-weighted classification).

- :func:`focal_loss` — Lin et al. 2017: (1 − p_y)^γ · CE per sample.
- :func:`class_balanced_weights` — effective-number weights (Cui et al. 2019).
- :func:`inverse_frequency_weights` — w_j ∝ 1 / n_j.
- :func:`weighted_mean` — Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i}, the renormalised mean ``F.cross_entropy(weight=…)`` takes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError

__all__ = ["check_class_counts", "class_balanced_weights", "focal_loss", "inverse_frequency_weights",
           "weighted_mean"]


def check_class_counts(class_counts: torch.Tensor) -> torch.Tensor:
    """Per-class training counts as float64; every class needs at least one example."""
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if (counts <= 0).any():
        empty = [int(i) for i in torch.nonzero(counts <= 0).flatten()]
        raise ConfigValueError(
            f"classes {empty} have no training examples; per-class margins and re-weighting need n_j >= 1. "
            "Lower data.init_args.imbalance_ratio or use a larger training set."
        )
    return counts


def weighted_mean(per_sample: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i} (the plain mean without weights)."""
    if weight is None:
        return per_sample.mean()
    w = weight.to(per_sample)[y]
    return (w * per_sample).sum() / w.sum()


def focal_loss(
    logits: torch.Tensor, y: torch.Tensor, *, gamma: float = 1.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Focal loss (1 − p_y)^γ · CE_i, per sample (not on the batch mean). CE is clamped at 0 and 1 − p_y
    computed as −expm1(−CE), so γ < 1 stays finite at near-zero loss."""
    if gamma < 0:
        raise ConfigValueError(f"model.init_args.focal_gamma must be >= 0, got {gamma}")
    ce = F.cross_entropy(logits, y, reduction="none").clamp(min=0)
    one_minus_p = (-torch.expm1(-ce)).clamp(min=0)
    factor = one_minus_p**gamma if gamma > 0 else torch.ones_like(ce)
    return weighted_mean(factor * ce, y, weight)


def class_balanced_weights(class_counts: torch.Tensor, beta: float = 0.9999) -> torch.Tensor:
    """Effective-number weights w_j = (1 − β) / (1 − β^{n_j}) (Cui et al. 2019), normalised so Σ_j w_j = C."""
    if not 0 <= beta < 1:
        raise ConfigValueError(f"model.init_args.cb_beta must be in [0, 1), got {beta}")
    counts = check_class_counts(class_counts)
    w = (1 - beta) / (1 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
    return (w / w.sum() * len(counts)).float()


def inverse_frequency_weights(class_counts: torch.Tensor) -> torch.Tensor:
    """w_j ∝ 1 / n_j, normalised so Σ_j w_j = C."""
    w = 1 / check_class_counts(class_counts)
    return (w / w.sum() * len(w)).float()
