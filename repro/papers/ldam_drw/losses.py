"""LDAM's own losses (Cao et al. 2019, Eqs. 11-13); focal loss and the class weights are shared
(:mod:`repro.training.losses`).

- :func:`ldam_margins` — Eq. 13: Δ_j = C / n_j^{1/4}, C chosen so the largest margin is ``max_margin``.
- :func:`ldam_loss` — Eq. 12 with the code's cosine head: CE(s · (cos − Δ ⊙ onehot(y)), y, weight=w).
- :func:`ldam_hinge_loss` — LDAM-HG (Eq. 11): max(max_{j≠y} z_j − z_y + Δ_y, 0).

Weighted losses use the weighted *mean* Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i} (``F.cross_entropy(weight=…)``), the
original code's per-batch renormalised step; a plain mean would change the step size once DRW starts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError
from repro.training.losses import check_class_counts, weighted_mean


def ldam_margins(class_counts: torch.Tensor, max_margin: float = 0.5) -> torch.Tensor:
    """Per-class margins Δ_j ∝ n_j^{-1/4} (Eq. 13), scaled so the rarest class gets ``max_margin``."""
    if max_margin < 0:
        raise ConfigValueError(f"model.init_args.max_margin must be >= 0, got {max_margin}")
    m = check_class_counts(class_counts) ** -0.25
    return (m * (max_margin / m.max())).float()


def ldam_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    margins: torch.Tensor,
    *,
    scale: float = 30.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """LDAM (Eq. 12). ``logits`` are cosines from a NormedLinear head; the margin is subtracted
    *before* scaling by s (a margin after scaling would be s times weaker)."""
    shifted = logits - F.one_hot(y, logits.shape[1]).to(logits) * margins.to(logits)[y].unsqueeze(1)
    return F.cross_entropy(scale * shifted, y, weight=None if weight is None else weight.to(logits))


def ldam_hinge_loss(
    logits: torch.Tensor, y: torch.Tensor, margins: torch.Tensor, *, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """LDAM-HG (Eq. 11): max(max_{j≠y} z_j − z_y + Δ_y, 0), averaged with the class weights."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return weighted_mean(torch.clamp(others - true + margins.to(logits)[y], min=0), y, weight)
