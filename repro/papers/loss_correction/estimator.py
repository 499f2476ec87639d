"""The anchor-point estimator of the noise matrix (Patrini et al. 2017, Sec. 4; after Menon et al. 2015).

Given P, the softmax outputs of a network trained on the *noisy* labels over a sample of inputs (P[n, j] ≈
p(ỹ = j | x_n); no labels needed), the anchor of class i is the input most confidently of noisy class i,
x̄ⁱ = argmax_n P[n, i], and row i of T̂ is that input's predicted noisy posterior: T̂[i, j] = P[x̄ⁱ, j]. For a
perfect anchor (an input that surely belongs to true class i) p(ỹ = j | x̄ⁱ) = T[i, j] exactly.

``percentile=97`` (the default, the robust variant): outputs at or above the column's 97th percentile ('higher'
interpolation: an actual output) are treated as outliers and the anchor is the argmax of the rest;
``percentile=None`` is the plain argmax. Rows are then renormalised to sum to 1.

``in_place_outliers=True`` reproduces a quirk of the original code: it zeroes the outliers in the probability
matrix itself (a numpy view), so rows estimated later read zeros in the columns already filtered — T̂[i, j] = 0
wherever the anchor of class i is among column j's top 3 % for a j < i. Off by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from repro.errors import ConfigValueError

__all__ = ["AnchorEstimate", "anchor_transition", "transition_error"]


@dataclass
class AnchorEstimate:
    T_hat: torch.Tensor  # (C, C), float64, rows sum to 1
    anchors: list[int]  # the anchor's index in P, per class

    def to_json(self) -> dict:
        return {"T_hat": self.T_hat.tolist(), "anchors": self.anchors,
                "condition_number": float(torch.linalg.cond(self.T_hat))}


def anchor_transition(probs: torch.Tensor, *, percentile: float | None = 97.0, row_normalize: bool = True,
                      in_place_outliers: bool = False) -> AnchorEstimate:
    """T̂ from ``probs`` (N, C) — the noisy-label model's softmax over N inputs (module docstring)."""
    P = torch.as_tensor(probs, dtype=torch.float64).clone()
    if P.dim() != 2 or P.shape[0] < 1 or P.shape[1] < 2:
        raise ConfigValueError(f"the anchor estimator needs an (N, C) matrix of softmax outputs, got {tuple(P.shape)}")
    if percentile is not None and not 0 < percentile <= 100:
        raise ConfigValueError(f"model.init_args.estimator_percentile must be in (0, 100] or null, got {percentile}")
    c = P.shape[1]
    T_hat = torch.empty(c, c, dtype=torch.float64)
    anchors = []
    for i in range(c):
        column = P[:, i] if in_place_outliers else P[:, i].clone()
        if percentile is not None:
            threshold = torch.quantile(column, percentile / 100, interpolation="higher")
            column[column >= threshold] = 0.0  # with in_place_outliers this writes into P
        anchor = int(torch.argmax(column))
        anchors.append(anchor)
        T_hat[i] = P[anchor]
    if row_normalize:
        T_hat = T_hat / T_hat.sum(1, keepdim=True)
    return AnchorEstimate(T_hat, anchors)


def transition_error(T_hat: torch.Tensor, T: torch.Tensor) -> dict[str, float]:
    """mean_i ‖T̂_i − T_i‖₁ over all rows (``l1``) and over the rows of classes the noise flips (``l1_noisy_rows``,
    rows with T_ii < 1; NaN when none), and cond(T̂)."""
    T_hat, T = torch.as_tensor(T_hat, dtype=torch.float64), torch.as_tensor(T, dtype=torch.float64)
    rows = (T_hat - T).abs().sum(1)
    noisy = torch.diagonal(T) < 1
    return {"l1": float(rows.mean()), "l1_noisy_rows": float(rows[noisy].mean()) if noisy.any() else math.nan,
            "condition_number": float(torch.linalg.cond(T_hat))}
