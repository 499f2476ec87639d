"""Losses proposed as robust to label noise, in the multi-class form of one-hot {0, 1} targets averaged over the
classes (the form multi-class ports of these binary losses commonly take):

- :func:`unhinged_loss` — mean_j (1 − y_j f_j) = 1 − f_ỹ / C (van Rooyen et al. 2015), on unbounded scores f, so
  the scores must be bounded by the model (e.g. a BatchNorm on the logits) or the loss runs to −∞;
- :func:`sigmoid_loss` — mean_j σ(−y_j f_j);
- :func:`savage_loss` — mean_j 1 / (1 + exp(2 y_j p_j))², on the softmax probabilities p (Masnadi-Shirazi &
  Vasconcelos 2009);
- :func:`soft_bootstrap_loss` — −Σ_j (β y_j + (1 − β) p_j) log p_j (Reed et al. 2015), the prediction p left in the
  graph inside its own target.

In the one-hot form only the noisy class's term depends on the scores (the others are constants: 1 for
unhinged, ½ for sigmoid, ¼ for Savage), so the gradient reaches the noisy class's output alone. Probabilities are
clipped to [ε, 1 − ε], ε = 1e-7.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError

__all__ = ["EPS", "clipped_probabilities", "savage_loss", "sigmoid_loss", "soft_bootstrap_loss", "unhinged_loss"]

EPS = 1e-7


def clipped_probabilities(logits: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """softmax(logits) clipped to [eps, 1 − eps]."""
    return torch.softmax(logits, dim=-1).clamp(eps, 1 - eps)


def _one_hot(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.one_hot(y, like.shape[-1]).to(like.dtype)


def unhinged_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batch mean of mean_j (1 − y_j f_j)."""
    return (1 - _one_hot(y, scores) * scores).mean(-1).mean()


def sigmoid_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batch mean of mean_j σ(−y_j f_j)."""
    return torch.sigmoid(-_one_hot(y, scores) * scores).mean(-1).mean()


def savage_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batch mean of mean_j (1 + exp(2 y_j p_j))^−2, p the clipped softmax."""
    p = clipped_probabilities(logits)
    return (1 + torch.exp(2 * _one_hot(y, p) * p)).pow(-2).mean(-1).mean()


def soft_bootstrap_loss(logits: torch.Tensor, y: torch.Tensor, beta: float = 0.95) -> torch.Tensor:
    """Batch mean of −Σ_j (β y_j + (1 − β) p_j) log p_j, p the clipped softmax (not detached in the target)."""
    if not 0 <= beta <= 1:
        raise ConfigValueError(f"model.init_args.bootstrap_beta must be in [0, 1], got {beta}")
    p = clipped_probabilities(logits)
    target = beta * _one_hot(y, p) + (1 - beta) * p
    return -(target * torch.log(p)).sum(-1).mean()
