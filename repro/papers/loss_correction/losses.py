"""The two corrected losses of Patrini et al. 2017 (Sec. 3), for a row-stochastic noise matrix T with
T[i, j] = P(noisy label j | true label i), and p̂ = softmax(logits) the model's estimate of the *clean* posterior.

- :func:`backward_loss` — ℓ←(p̂, ỹ) = [T⁻¹ ℓ(p̂)]_ỹ with ℓ(p̂) = (−log p̂_1, …, −log p̂_C): row ỹ of T⁻¹ dotted with the
  per-class losses; its expectation over ỹ ~ T[y] is the clean loss −log p̂_y (unbiased, Theorem 1), and it can be
  negative. −log p̂ is clipped at −log ε (p̂ ≥ ε = 1e-7), which bounds the loss below: without the clip, classes
  whose coefficient in T⁻¹ is negative would be pushed to p̂ → 0 and the loss to −∞.
- :func:`clipped_cross_entropy` — the plain loss of the CE rows and stage 1, −log p̂_ỹ with the same clip as the
  original's cross-entropy.
- :func:`forward_loss` — ℓ→(p̂, ỹ) = −log (p̂ᵀ T)_ỹ = −log Σ_i p̂_i T[i, ỹ]: cross-entropy of the *noisy* posterior
  the model implies; computed in log space (logsumexp of log p̂_i + log T[i, ỹ]), with p̂ clipped to ≥ ε as above.

:func:`check_transition` validates a matrix (square, C×C, finite, non-negative, rows
summing to 1, no all-zero column), and
:func:`inverse_transition` inverts it for the backward loss, refusing a singular or numerically singular one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError
from repro.training.noise_robust_losses import EPS

__all__ = ["backward_loss", "check_transition", "clipped_cross_entropy", "clipped_log_probabilities", "forward_loss",
           "inverse_transition"]

# cond(T) above this: T⁻¹ is numerically meaningless in float64 (and float32 training would amplify noise ~1e7×).
MAX_CONDITION = 1e12


def check_transition(T, num_classes: int, what: str = "model.init_args.transition") -> torch.Tensor:
    """``T`` as a float64 (C, C) tensor, or a ConfigValueError naming ``what`` and the problem."""
    T = torch.as_tensor(T, dtype=torch.float64)
    if T.shape != (num_classes, num_classes):
        raise ConfigValueError(f"{what}: a transition matrix for {num_classes} classes is "
                               f"{num_classes}×{num_classes}, got shape {tuple(T.shape)}")
    if not torch.isfinite(T).all() or (T < 0).any():
        raise ConfigValueError(f"{what}: a transition matrix has finite, non-negative entries")
    if not torch.allclose(T.sum(1), torch.ones(num_classes, dtype=torch.float64), atol=1e-6):
        raise ConfigValueError(f"{what}: each row of a transition matrix sums to 1 (P(noisy | true)), got row sums "
                               f"{[round(v, 6) for v in T.sum(1).tolist()]}")
    if (T.sum(0) <= 0).any():
        empty = [int(j) for j in torch.nonzero(T.sum(0) <= 0).flatten()]
        raise ConfigValueError(f"{what}: no true class is ever flipped to label(s) {empty} (zero columns), so an "
                               "observed label there would have probability 0")
    return T


def inverse_transition(T: torch.Tensor, what: str = "model.init_args.transition") -> torch.Tensor:
    """T⁻¹ (float64); a ConfigValueError when T is singular (e.g. two classes flipped into each other at rate ½),
    since the backward correction then does not exist."""
    T = torch.as_tensor(T, dtype=torch.float64)
    cond = float(torch.linalg.cond(T))
    if not math.isfinite(cond) or cond > MAX_CONDITION:
        raise ConfigValueError(
            f"{what}: the backward correction needs an invertible T, and this one is singular (condition number "
            f"{cond:.3g}); e.g. a pair swapped at rate 0.5 makes two rows equal. Use loss: forward, which needs no "
            "inverse, or a noise rate away from the singular point")
    return torch.linalg.inv(T)


def clipped_log_probabilities(logits: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """log softmax(logits) clipped to [log ε, log(1 − ε)] (p̂ clipped to [ε, 1 − ε], in log space)."""
    return F.log_softmax(logits, dim=-1).clamp(math.log(eps), math.log1p(-eps))


def clipped_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batch mean of −log p̂_ỹ with p̂ clipped to [ε, 1 − ε]: the code's cross-entropy (``loss.py`` clips p̂ for
    every loss, CE included), so a confident wrong prediction costs at most −log ε ≈ 16.1 and no gradient."""
    return -clipped_log_probabilities(logits).gather(-1, y[:, None]).squeeze(-1).mean()


def backward_loss(logits: torch.Tensor, y: torch.Tensor, T_inv: torch.Tensor) -> torch.Tensor:
    """Batch mean of [T⁻¹ ℓ(p̂)]_ỹ = Σ_j T⁻¹[ỹ, j] · (−log p̂_j)."""
    neg_log_p = -clipped_log_probabilities(logits)
    return (T_inv.to(neg_log_p)[y] * neg_log_p).sum(-1).mean()


def forward_loss(logits: torch.Tensor, y: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """Batch mean of −log Σ_i p̂_i T[i, ỹ], in log space: only column ỹ of T enters each example's loss."""
    log_p = clipped_log_probabilities(logits)
    log_T_cols = torch.log(T.to(log_p)).T[y]  # (N, C): log T[i, ỹ_n] over i
    return -torch.logsumexp(log_p + log_T_cols, dim=-1).mean()
