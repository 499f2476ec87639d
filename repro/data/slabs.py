"""Synthetic data built from 1-D blocks of graded complexity (linear, noisy linear, k-slab), one block per
coordinate, under a random rotation.

Labels y ∈ {−1, +1} are uniform (stored as classes 0 and 1). Every coordinate is drawn independently given y from
its block, with effective margin γ = 0.1 and width B = 1:

- ``linear``: x = y·(γ + (1 − γ)·U), U ~ U(0, 1): positives in [0.1, 1], negatives in [−1, −0.1];
- ``noisy_linear``: the linear block, then exactly round(p·n) rows (chosen without replacement) redrawn uniformly
  inside the margin [−γ, γ]; the Bayes accuracy on this coordinate alone is 1 − p/2;
- ``slab3`` / ``slab5`` / ``slab7``: k intervals of width w_k = (2 − 2(k − 1)γ)/k separated by gaps of 2γ, spanning
  [−1, 1], labels alternating with the centre interval negative. A class picks one of its intervals with the
  probabilities of ``SLAB_PROBS`` (5-slab negatives: centre 3/4, each side 1/8; 7-slab positives: each inner slab
  7/16, each outer slab 1/16; 7-slab negatives: centre 1/2, each other negative slab 1/4), then a uniform point;
- ``noise``: U(−1, 1), independent of y (a feature removed);
- ``sign`` (x = y), ``half_sign`` (x = ((y + 1)/2)·ε, ε = ±1) and ``gauss`` (N(0, 1)): the linear-slab-noise set.

The data x (n, d) is then rotated, x ← x·Q with Q orthonormal (the QR factor of a Gaussian matrix), so no single
input coordinate carries a block; ``unrotate`` undoes it. Every draw comes from the run seed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from repro.errors import ConfigValueError

__all__ = ["BLOCK_SETS", "GAMMA", "SLAB_PROBS", "BlockData", "BlockSet", "block_data", "draw_blocks", "rotate",
           "slab_intervals", "unrotate"]

GAMMA = 0.1

# Per class (negative, positive): the probability of each of the k intervals, left to right.
SLAB_PROBS = {
    3: ((0, 1, 0), (1 / 2, 0, 1 / 2)),
    5: ((1 / 8, 0, 3 / 4, 0, 1 / 8), (0, 1 / 2, 0, 1 / 2, 0)),
    7: ((0, 1 / 4, 0, 1 / 2, 0, 1 / 4, 0), (1 / 16, 0, 7 / 16, 0, 7 / 16, 0, 1 / 16)),
}


def slab_intervals(k: int, gamma: float = GAMMA) -> list[tuple[float, float]]:
    """The k intervals of a k-slab block, left to right."""
    width = (2 - 2 * (k - 1) * gamma) / k
    return [(-1 + j * (width + 2 * gamma), -1 + j * (width + 2 * gamma) + width) for j in range(k)]


def _linear(y, rng, n):
    return y * (GAMMA + (1 - GAMMA) * rng.random(n))


def _noisy_linear(p):
    def draw(y, rng, n):
        x = _linear(y, rng, n)
        rows = rng.choice(n, size=int(round(p * n)), replace=False)
        x[rows] = rng.uniform(-GAMMA, GAMMA, size=len(rows))
        return x
    return draw


def _slab(k):
    lo = np.array([a for a, _ in slab_intervals(k)])
    width = slab_intervals(k)[0][1] - slab_intervals(k)[0][0]

    def draw(y, rng, n):
        x = np.empty(n)
        for cls, probs in zip((-1, 1), SLAB_PROBS[k], strict=True):
            rows = np.flatnonzero(y == cls)
            which = rng.choice(k, size=len(rows), p=probs)
            x[rows] = lo[which] + width * rng.random(len(rows))
        return x
    return draw


BLOCKS = {
    "linear": _linear,
    "slab3": _slab(3), "slab5": _slab(5), "slab7": _slab(7),
    "noise": lambda y, rng, n: rng.uniform(-1, 1, n),
    "sign": lambda y, rng, n: y.astype(np.float64),
    "half_sign": lambda y, rng, n: (y + 1) / 2 * rng.choice([-1.0, 1.0], size=n),
    "gauss": lambda y, rng, n: rng.standard_normal(n),
}


def _block(name: str):
    if name.startswith("noisy_linear:"):
        return _noisy_linear(float(name.split(":", 1)[1]))
    return BLOCKS[name]


@dataclass(frozen=True)
class BlockSet:
    """A dataset as its blocks, coordinate by coordinate (un-rotated), and which coordinates are the simple
    feature S."""

    blocks: tuple[str, ...]
    simple: tuple[int, ...] = (0,)
    rotate: bool = True

    @property
    def dim(self) -> int:
        return len(self.blocks)


def _set(first: str, rest: str, d: int = 50, simple=(0,)) -> BlockSet:
    return BlockSet((first,) + (rest,) * (d - 1), simple)


# The registered datasets (``repro.data.sources.slabs``): name → blocks. "_no_s" replaces S by label-independent
# noise (what is left to learn is S^c alone); "_d250" has 249 complex coordinates.
BLOCK_SETS = {
    "lms5": _set("linear", "slab5"),
    "lms7": _set("linear", "slab7"),
    "lms5_d250": _set("linear", "slab5", 250),
    "noisy_lms7": _set("noisy_linear:0.1", "slab7"),
    "noisy50_lms7": _set("noisy_linear:0.5", "slab7"),
    "ms57": _set("slab5", "slab7"),
    "ms57_d250": _set("slab5", "slab7", 250),
    "ms5": _set("slab5", "slab5"),
    "ms7": _set("slab7", "slab7"),
    "lms5_no_s": _set("noise", "slab5"),
    "ms57_no_s": _set("noise", "slab7"),  # also (noisy) LMS-7 without S
    "lms5_d250_no_s": _set("noise", "slab5", 250),
    "ms57_d250_no_s": _set("noise", "slab7", 250),
    "lsn": BlockSet(("sign", "half_sign") + ("gauss",) * 48, (0,)),
}


def draw_blocks(blocks: tuple[str, ...], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n rows (float64, (n, d), un-rotated) and labels in {−1, +1}: y uniform, each coordinate drawn from its block
    given y with its own draws."""
    y = rng.choice([-1, 1], size=n)
    x = np.stack([_block(b)(y, rng, n) for b in blocks], axis=1)
    return x, y


def random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    """An orthonormal d×d matrix: the Q of the QR decomposition of a standard Gaussian matrix."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return q


def rotate(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return x @ q.to(x)


def unrotate(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return x @ q.to(x).T


@dataclass(frozen=True)
class BlockData:
    """Both splits of a block dataset (rotated, float32, labels 0/1) and the rotation Q (float64)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    rotation: torch.Tensor
    simple: tuple[int, ...]


@functools.lru_cache(maxsize=8)
def block_data(name: str, seed: int, n_train: int, n_test: int) -> BlockData:
    """The dataset ``name`` of ``BLOCK_SETS`` drawn from ``seed``: n_train + n_test rows from one stream, the
    rotation from another."""
    if name not in BLOCK_SETS:
        raise ConfigValueError(f"unknown block dataset {name!r}; known: {', '.join(BLOCK_SETS)}")
    spec = BLOCK_SETS[name]
    data_rng, rotation_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    x, y = draw_blocks(spec.blocks, n_train + n_test, data_rng)
    q = random_rotation(spec.dim, rotation_rng) if spec.rotate else np.eye(spec.dim)
    x = torch.from_numpy(x @ q).float()
    y = torch.from_numpy((y > 0).astype(np.int64))
    return BlockData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], torch.from_numpy(q), spec.simple)
