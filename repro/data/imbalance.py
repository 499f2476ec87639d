"""Long-tailed and step-imbalanced training subsets, as the long-tailed CIFAR benchmarks build them.

Exponential: n_i = int(n_max · ρ^{−i/(C−1)}), class 0 the head, classes not shuffled.
Step: the first ⌊C/2⌋ classes keep n_max, the rest get int(n_max / ρ).
CIFAR-10, exp, ρ=100: 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50 (12,406 images).
The test set is never touched: the paper's metric is the error on the balanced test set.
"""

from __future__ import annotations

import torch

from repro.errors import ConfigValueError

KINDS = ("exp", "step")


def long_tail_counts(n_max: int, num_classes: int, ratio: float, kind: str = "exp") -> list[int]:
    """Per-class training counts for imbalance ratio ρ = ``ratio`` (n_max / n_min)."""
    if ratio < 1:
        raise ConfigValueError(
            f"data.init_args.imbalance_ratio must be >= 1 (n_max / n_min; 1 = balanced), got {ratio}"
        )
    if kind not in KINDS:
        raise ConfigValueError(f"data.init_args.imbalance_kind must be one of {KINDS}, got {kind!r}")
    if kind == "exp":
        # The exponent is evaluated in floating point exactly as the original code does, so the
        # int() truncation gives the published counts (e.g. 2997, not 2998).
        counts = [int(n_max * ratio ** (-i / (num_classes - 1))) for i in range(num_classes)]
    else:
        half = num_classes // 2
        counts = [n_max] * half + [int(n_max / ratio)] * (num_classes - half)
    empty = [i for i, n in enumerate(counts) if n < 1]
    if empty:
        raise ConfigValueError(
            f"imbalance_ratio={ratio} leaves classes {empty} with no training example (n_max={n_max}); "
            f"lower data.init_args.imbalance_ratio to at most {n_max}"
        )
    return counts


def long_tail_indices(
    labels: torch.Tensor, num_classes: int, ratio: float, kind: str = "exp", seed: int = 0
) -> torch.Tensor:
    """Positions into ``labels`` of a seeded long-tailed subset (each class's first n_i after a seeded
    shuffle, like the original's ``np.random.seed(0)`` + shuffle), in ascending order.

    ``n_max`` is the count of the smallest class present, so a source that is nearly balanced
    (Fashion-MNIST, digits) still gets exactly the formula's counts for every class.
    """
    available = torch.bincount(labels, minlength=num_classes)
    if (available == 0).any():
        missing = [int(i) for i in torch.nonzero(available == 0).flatten()]
        raise ConfigValueError(f"classes {missing} have no training examples to subsample; check data.init_args")
    counts = long_tail_counts(int(available.min()), num_classes, ratio, kind)
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c, n in enumerate(counts):
        idx = torch.nonzero(labels == c).flatten()
        keep.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    return torch.cat(keep).sort().values
