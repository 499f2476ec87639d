"""Losses for long-tailed classification (Cao et al., NeurIPS 2019, arXiv:1906.07413).

Each is a small function so it can be checked against a brute-force per-sample computation:

- :func:`ldam_margins` — Eq. 13: Δ_j = C / n_j^{1/4}, C chosen so the largest margin is ``max_margin``.
- :func:`ldam_loss` — Eq. 12 with the code's cosine head: CE(s · (cos − Δ ⊙ onehot(y)), y, weight=w).
- :func:`ldam_hinge_loss` — LDAM-HG (Eq. 11): max(max_{j≠y} z_j − z_y + Δ_y, 0).
- :func:`focal_loss` — Lin et al. 2017, the paper's baseline: (1 − p_y)^γ · CE.
- :func:`class_balanced_weights` / :func:`inverse_frequency_weights` — the DRW/RW weights.

Weighted losses use the weighted *mean* Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i} (``F.cross_entropy(weight=…)``):
the paper's per-batch renormalised step (card §3). A plain mean would change the stage-2 step size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError


def _check_counts(class_counts: torch.Tensor) -> torch.Tensor:
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if (counts <= 0).any():
        empty = [int(i) for i in torch.nonzero(counts <= 0).flatten()]
        raise ConfigValueError(
            f"classes {empty} have no training examples; LDAM margins and re-weighting need n_j >= 1. "
            "Lower data.init_args.imbalance_ratio or use a larger training set."
        )
    return counts


def ldam_margins(class_counts: torch.Tensor, max_margin: float = 0.5) -> torch.Tensor:
    """Per-class margins Δ_j ∝ n_j^{-1/4} (Eq. 13), scaled so the rarest class gets ``max_margin``."""
    if max_margin < 0:
        raise ConfigValueError(f"model.init_args.max_margin must be >= 0, got {max_margin}")
    m = _check_counts(class_counts) ** -0.25
    return (m * (max_margin / m.max())).float()


def _weighted_mean(per_sample: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return per_sample.mean()
    w = weight.to(per_sample)[y]
    return (w * per_sample).sum() / w.sum()


def ldam_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    margins: torch.Tensor,
    *,
    scale: float = 30.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """LDAM (Eq. 12). ``logits`` are cosines from a NormedLinear head; the margin is subtracted
    *before* scaling by s (a margin after scaling is 30× weaker — card §8)."""
    shifted = logits - F.one_hot(y, logits.shape[1]).to(logits) * margins.to(logits)[y].unsqueeze(1)
    return F.cross_entropy(scale * shifted, y, weight=None if weight is None else weight.to(logits))


def ldam_hinge_loss(
    logits: torch.Tensor, y: torch.Tensor, margins: torch.Tensor, *, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """LDAM-HG (Eq. 11): max(max_{j≠y} z_j − z_y + Δ_y, 0), averaged with the class weights."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return _weighted_mean(torch.clamp(others - true + margins.to(logits)[y], min=0), y, weight)


def focal_loss(
    logits: torch.Tensor, y: torch.Tensor, *, gamma: float = 1.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Focal loss (1 − p_y)^γ · CE_i, per sample (not on the batch mean, a bug fixed in the original
    code in 2019). CE is clamped at 0 and 1 − p_y computed as −expm1(−CE) so γ < 1 stays finite at
    near-zero loss (original code issue #17)."""
    if gamma < 0:
        raise ConfigValueError(f"model.init_args.focal_gamma must be >= 0, got {gamma}")
    ce = F.cross_entropy(logits, y, reduction="none").clamp(min=0)
    one_minus_p = (-torch.expm1(-ce)).clamp(min=0)
    factor = one_minus_p**gamma if gamma > 0 else torch.ones_like(ce)
    return _weighted_mean(factor * ce, y, weight)


def class_balanced_weights(class_counts: torch.Tensor, beta: float = 0.9999) -> torch.Tensor:
    """Effective-number weights w_j = (1 − β) / (1 − β^{n_j}) (Cui et al. 2019; the LDAM code's DRW),
    normalised so Σ_j w_j = C."""
    if not 0 <= beta < 1:
        raise ConfigValueError(f"model.init_args.cb_beta must be in [0, 1), got {beta}")
    counts = _check_counts(class_counts)
    w = (1 - beta) / (1 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
    return (w / w.sum() * len(counts)).float()


def inverse_frequency_weights(class_counts: torch.Tensor) -> torch.Tensor:
    """w_j ∝ 1 / n_j (the paper's DRW weights, Alg. 1), normalised so Σ_j w_j = C."""
    w = 1 / _check_counts(class_counts)
    return (w / w.sum() * len(w)).float()
