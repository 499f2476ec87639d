"""Two moons in 2-D with an out-of-distribution cluster and probe grids (the settings of edward2's GP-layer tutorial).

``make_moons(n, noise=0.1)`` with class 0 shifted by (−0.1, +0.2) and class 1 by (+0.1, −0.2); the OOD set is
500 points from N((2.5, −1.75), 0.01·I); the grid is 100×100 over [−3.5, 3.5]×[−2.5, 2.5].
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import make_moons

__all__ = [
    "two_moons", "ood_cluster", "moons_grid", "distance_to_data", "moons_ood_set", "moons_far_from_data",
    "moons_near_data",
]

_SHIFT = np.array([[-0.1, 0.2], [0.1, -0.2]], dtype=np.float32)


def two_moons(n: int = 1000, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (n, 2) float32, y (n,) int64) with the tutorial's per-class shifts."""
    x, y = make_moons(n, noise=noise, random_state=seed)
    x = x.astype(np.float32) + _SHIFT[y]
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def ood_cluster(n: int = 500, seed: int = 0) -> torch.Tensor:
    """n points from N((2.5, −1.75), 0.01·I) (standard deviation 0.1)."""
    g = torch.Generator().manual_seed(seed)
    return torch.tensor([2.5, -1.75]) + 0.1 * torch.randn(n, 2, generator=g)


def moons_grid(size: int = 100) -> torch.Tensor:
    """size² points over [−3.5, 3.5]×[−2.5, 2.5], row-major in y then x (for contour plots)."""
    xs, ys = torch.linspace(-3.5, 3.5, size), torch.linspace(-2.5, 2.5, size)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def distance_to_data(points: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of each point to its nearest training point."""
    return torch.cdist(points, data).amin(1)


# Evaluation sets of the two-moons study (``repro.data.ood.OODDataModule`` calls them with the training inputs).
FAR, NEAR = 1.0, 0.2  # grid points farther than FAR from every training point are "far"; nearer than NEAR "near"


def moons_ood_set(train_x: torch.Tensor) -> torch.Tensor:
    """The tutorial's OOD cluster (500 points around (2.5, −1.75))."""
    return ood_cluster()


def moons_far_from_data(train_x: torch.Tensor) -> torch.Tensor:
    """Grid points farther than 1.0 from every training point."""
    grid = moons_grid()
    return grid[distance_to_data(grid, train_x) > FAR]


def moons_near_data(train_x: torch.Tensor) -> torch.Tensor:
    """Grid points within 0.2 of a training point."""
    grid = moons_grid()
    return grid[distance_to_data(grid, train_x) < NEAR]
