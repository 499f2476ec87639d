"""S- and S^c-randomized evaluation, the score statistics and the universal adversarial perturbation.

- ``randomize_rows``: for two stacked image sources, permute one source's image rows across test examples;
- ``randomize``: permute the test rows of the chosen coordinates in the un-rotated basis (x·Qᵀ, one permutation
  shared by the chosen columns, then ·Q), so those coordinates become independent of y and of the rest while
  each keeps its marginal distribution;
- ``score_stats``: ROC-AUC and accuracy of the score s(x) = logit₊ − logit₋ (sklearn's ``roc_auc_score``; the
  paper's Def. 2 names the area under the precision-recall curve, its code computes ROC-AUC, whose chance level
  is 0.5), and the two-sample KS statistic between the scores of the true positives (``scipy.stats.ks_2samp``);
- ``universal_perturbation``: one ℓ2 perturbation δ (‖δ‖ ≤ ε) per model, applied as (2y − 1)·δ and clamped to the
  data's range, that maximises the mean cross-entropy: normalised-gradient ascent with projection on the ball,
  ``steps`` steps on every batch of the set for ``epochs`` passes (the original's AS-UAP);
  ``energy_share``: ‖(δ·Qᵀ)_S‖² / ‖δ‖², the part of its energy on the simple coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from repro.data.slabs import rotate, unrotate

__all__ = ["energy_share", "randomize", "randomize_rows", "score", "score_stats", "universal_perturbation"]


def randomize(x: torch.Tensor, rotation: torch.Tensor, coords: Sequence[int], generator: torch.Generator):
    """``x`` with the rows of ``coords`` (un-rotated basis) permuted by one shared random permutation."""
    raw = unrotate(x.double(), rotation)
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    idx = torch.as_tensor(list(coords), device=x.device)
    raw[:, idx] = raw[perm][:, idx]
    return rotate(raw, rotation).to(x.dtype)


def randomize_rows(x: torch.Tensor, rows: slice, generator: torch.Generator) -> torch.Tensor:
    """Images ``x`` (N, C, H, W) with the image rows ``rows`` (one stacked source) permuted across examples."""
    out = x.clone()
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    out[:, :, rows] = x[perm][:, :, rows]
    return out


def score(logits: torch.Tensor) -> torch.Tensor:
    """logit₊ − logit₋ (class 1 is the positive class), over the last axis."""
    return logits[..., 1] - logits[..., 0]


def score_stats(s: np.ndarray, y: np.ndarray, reference: np.ndarray | None = None) -> dict[str, float]:
    """AUC and accuracy of scores ``s`` for labels ``y`` (0/1); with ``reference`` (the unperturbed scores of
    the same rows), the KS statistic between the two over the true positives."""
    out = {"auc": float(roc_auc_score(y, s)), "accuracy": float(((s > 0) == (y == 1)).mean())}
    if reference is not None:
        out["ks"] = float(ks_2samp(s[y == 1], reference[y == 1]).statistic)
    return out


def energy_share(delta: torch.Tensor, rotation: torch.Tensor, coords: Sequence[int]) -> torch.Tensor:
    """Share of ‖δ‖² on ``coords`` of the un-rotated basis, per row of ``delta`` (M, d) → (M,)."""
    raw = unrotate(delta.double(), rotation)
    return raw[:, list(coords)].pow(2).sum(1) / raw.pow(2).sum(1)


def universal_perturbation(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor, *,
                           members: int, eps: float, lr: float, steps: int, epochs: int, batch_size: int,
                           bounds: tuple[float, float]) -> torch.Tensor:
    """(M, d): one ℓ2 universal perturbation per member. ``forward`` maps (M, N, d) inputs to (M, N, C) logits
    (member i on slice i)."""
    delta = torch.zeros(members, x.shape[1], dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            sign = (2 * yb - 1).to(x.dtype)[None, :, None]
            for _ in range(steps):
                xa = (xb[None] + sign * delta[:, None, :]).clamp(*bounds)
                logits = forward(xa)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.repeat(members),
                                       reduction="none").view(members, -1).mean(1).sum()
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    delta += lr * grad / (grad.norm(dim=1, keepdim=True) + 1e-10)
                    delta *= eps / delta.norm(dim=1, keepdim=True).clamp(min=eps)
    return delta.detach()
