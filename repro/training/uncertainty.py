"""Uncertainty metrics for classifiers: calibration and out-of-distribution detection.

NLL, ECE with 15 equal-width confidence bins (Guo et al. 2017), and OOD detection with OOD as the
*positive* class, scored by 1 − max_k p_k or by the Dempster–Shafer uncertainty K / (K + Σ_k exp z_k)
(Sensoy et al. 2018). ECE, AUROC and AUPR come from torchmetrics.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_average_precision,
    multiclass_calibration_error,
)

__all__ = ["max_prob_score", "dempster_shafer_score", "calibration_metrics", "ood_metrics"]


def max_prob_score(logits: torch.Tensor) -> torch.Tensor:
    """OOD score 1 − max_k softmax(z)_k (higher = more uncertain)."""
    return 1 - logits.softmax(-1).amax(-1)


def dempster_shafer_score(logits: torch.Tensor) -> torch.Tensor:
    """OOD score K / (K + Σ_k exp z_k), computed as exp(log K − logaddexp(log K, logsumexp z))."""
    log_k = torch.log(torch.tensor(float(logits.shape[-1]), dtype=logits.dtype, device=logits.device))
    lse = torch.logsumexp(logits, -1)
    return torch.exp(log_k - torch.logaddexp(log_k.expand_as(lse), lse))


def calibration_metrics(logits: torch.Tensor, y: torch.Tensor, n_bins: int = 15) -> dict[str, float]:
    """NLL (mean −log p_y) and ECE (``n_bins`` equal-width bins on max-probability); accuracy is the shared
    loop's ``<split>/accuracy``."""
    logits = logits.float()
    num_classes = logits.shape[-1]
    return {
        "nll": float(F.cross_entropy(logits, y)),
        "ece": float(multiclass_calibration_error(logits.softmax(-1), y, num_classes, n_bins=n_bins, norm="l1")),
    }


def ood_metrics(score_in: torch.Tensor, score_out: torch.Tensor) -> dict[str, float]:
    """AUROC and AUPR (average precision) of separating OOD (positive) from in-distribution by a score."""
    scores = torch.cat([score_in, score_out]).float()
    target = torch.cat([torch.zeros(len(score_in)), torch.ones(len(score_out))]).long()
    return {"auroc": float(binary_auroc(scores, target)), "aupr": float(binary_average_precision(scores, target))}
