"""Class-weighted (importance-weighted) cross-entropy, with the two reductions in use and class weights checked.

The weighted empirical risk of a batch B is R_w = Σ_{i∈B} w_{y_i} · ℓ_i / Z, and two choices of Z are both common:

- ``n``: Z = |B|, the importance-weighted mean (each weight scales its examples' step as written);
- ``weight_sum``: Z = Σ_{i∈B} w_{y_i}, what ``F.cross_entropy(weight=w)`` computes with its default mean reduction.

They differ in step size by up to the ratio of the largest to the smallest weight (a batch of only up-weighted
examples takes a full step under ``weight_sum``), so they are not interchangeable: a run says which one it uses.
With ``n``, weights rescaled to mean 1 over the training set (:func:`normalize_to_mean_one`) keep the average step
of plain ERM.

Every function takes stacked inputs too: logits (..., B, C) with labels (B,) or (..., B) and class weights
(..., C) give one loss per leading index (one per stacked member).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError

__all__ = ["REDUCTIONS", "check_weights", "normalize_to_mean_one", "weighted_cross_entropy"]

REDUCTIONS = ("n", "weight_sum")
Reduction = Literal["n", "weight_sum"]


def check_weights(weights: Sequence[float] | torch.Tensor, key: str) -> torch.Tensor:
    """The weights as a float64 tensor; a ConfigValueError naming ``key`` when one is not a finite positive number
    (a weight of 0 drops a class from the loss, a negative one trains against it)."""
    w = torch.as_tensor(weights, dtype=torch.float64)
    if w.numel() == 0:
        raise ConfigValueError(f"{key} is empty; give at least one positive weight")
    bad = ~torch.isfinite(w) | (w <= 0)
    if bad.any():
        raise ConfigValueError(f"{key} must hold finite weights > 0, got {w[bad].tolist()} in {w.tolist()}; "
                               "a weight of 0 removes a class from the loss — drop the class from the data instead")
    return w


def normalize_to_mean_one(class_weights: torch.Tensor, class_counts: torch.Tensor) -> torch.Tensor:
    """w_c / (Σ_c n_c w_c / Σ_c n_c): the weights rescaled so the mean weight over the training set is 1 (per
    leading index of stacked weights (..., C))."""
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if (counts < 0).any() or counts.sum() <= 0:
        raise ConfigValueError(f"class counts must be >= 0 with at least one example, got {counts.tolist()}")
    w = class_weights.to(torch.float64)
    mean = (w * counts).sum(-1, keepdim=True) / counts.sum()
    return (w / mean).to(class_weights.dtype)


def weighted_cross_entropy(logits: torch.Tensor, y: torch.Tensor, class_weights: torch.Tensor,
                           reduction: Reduction = "weight_sum") -> torch.Tensor:
    """Σ_i w_{y_i} ℓ_i / Z over the batch axis, Z = ``n`` (batch size) or ``weight_sum`` (Σ_i w_{y_i}).

    ``logits`` (B, C) or (..., B, C); ``y`` (B,) shared by every leading index or (..., B); ``class_weights`` (C,) or
    (..., C). Returns a scalar, or one loss per leading index.
    """
    if reduction not in REDUCTIONS:
        raise ConfigValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    lead, (b, c) = logits.shape[:-2], logits.shape[-2:]
    y = y.expand(*lead, b)
    nll = F.cross_entropy(logits.reshape(-1, c), y.reshape(-1), reduction="none").view(*lead, b)
    w = class_weights.to(nll.dtype).expand(*lead, c).gather(-1, y)
    total = (w * nll).sum(-1)
    return total / b if reduction == "n" else total / w.sum(-1)
