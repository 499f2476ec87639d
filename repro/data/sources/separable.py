"""separable_2d: linearly separable 2-D points with an empty band around the separating line (no download).

Points are standard normal in the plane, labelled by the side of the line u·x = 0.2 with u ∝ (1, 0.5); points
within 0.25 of the line are rejected, so any training subset is separable with margin ≥ 0.25 and gradient descent
on a logistic loss runs into the max-margin regime. The pools are drawn once with fixed seeds (2000 training
points, 1000 test points); a run's own training set is a seeded subset (``data.init_args.train_size``).
"""

from __future__ import annotations

import numpy as np
import torch

from repro.data.sources.registry import SourceInfo, Split, register

__all__ = ["SEPARABLE_TRAIN", "SEPARABLE_TEST", "separable_2d"]

SEPARABLE_TRAIN, SEPARABLE_TEST = 2000, 1000
DIRECTION, OFFSET, GAP = (1.0, 0.5), 0.2, 0.25


def separable_2d(n: int, seed: int, *, gap: float = GAP) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (float32, (n, 2)) and labels (int64): 1 where u·x − 0.2 > gap, 0 where it is < −gap."""
    rng = np.random.default_rng(seed)
    u = np.asarray(DIRECTION) / np.linalg.norm(DIRECTION)
    kept = np.empty((0, 2))
    while len(kept) < n:  # rejection sampling in vectorised rounds
        x = rng.standard_normal((2 * n, 2))
        kept = np.concatenate([kept, x[np.abs(x @ u - OFFSET) > gap]])
    x = kept[:n]
    y = (x @ u - OFFSET > 0).astype(np.int64)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


register(SourceInfo("separable_2d", 2, (2,), False, False, None, None),
         lambda train, root, download: Split(*(separable_2d(SEPARABLE_TRAIN, seed=0) if train
                                                else separable_2d(SEPARABLE_TEST, seed=1))))
