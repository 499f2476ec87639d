"""Static label noise drawn from a transition matrix.

``T[i, j] = P(noisy = j | clean = i)``. Noise is drawn once per dataset (static, as in Zhang et al. 2017),
and the realised per-class counts are made exact up to one
example per cell by largest-remainder rounding, so a "20% noise" run really has 20% wrong labels.

Kinds (``transition_matrix``): class-independent ``uniform_incorrect``, ``symmetric`` and ``pair`` for any C, and
class-dependent ("asymmetric") maps of named datasets, each flipping the listed classes with probability
``rate``: ``mnist_pairs`` (7→1, 2→7, 3→8, 5↔6, the look-alike digits), ``cifar10_pairs`` (truck→automobile,
bird→airplane, cat↔dog, deer→horse), ``cifar100_superclass`` (within each of the 20 superclasses of CIFAR-100, to
the next fine class of that superclass, circularly), ``cifar100_blocks`` (the same within blocks of five
*consecutive* fine-label indices — alphabetical neighbours, not superclasses; some code uses it under the
superclass name) and ``binary_asymmetric`` (two classes: 1→0 with probability ``rate``, 0→1 with a fixed 0.05
when ``rate`` > 0).
"""

from __future__ import annotations

import math

import torch

from repro.errors import ConfigValueError

KINDS = ("uniform_incorrect", "symmetric", "pair", "mnist_pairs", "cifar10_pairs", "cifar100_superclass",
         "cifar100_blocks", "binary_asymmetric")

# Class-dependent maps: source class → the class it is flipped to with probability ``rate``.
MNIST_PAIRS = {7: 1, 2: 7, 3: 8, 5: 6, 6: 5}
CIFAR10_PAIRS = {9: 1, 2: 0, 3: 5, 5: 3, 4: 7}  # truck→automobile, bird→airplane, cat↔dog, deer→horse
# CIFAR-100's coarse label (superclass) of each fine label, as the dataset's own ``coarse_labels`` give them.
CIFAR100_COARSE = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
)
BINARY_REVERSE_RATE = 0.05  # binary_asymmetric: the fixed 0 → 1 flip probability
_CLASSES = {"mnist_pairs": 10, "cifar10_pairs": 10, "cifar100_superclass": 100, "cifar100_blocks": 100,
            "binary_asymmetric": 2}


def _flip_map(kind: str) -> dict[int, int]:
    """Source class → target class of a class-dependent kind."""
    if kind == "mnist_pairs":
        return dict(MNIST_PAIRS)
    if kind == "cifar10_pairs":
        return dict(CIFAR10_PAIRS)
    if kind == "binary_asymmetric":
        return {1: 0}
    if kind == "cifar100_blocks":
        groups = [list(range(b, b + 5)) for b in range(0, 100, 5)]
    else:
        groups = [[f for f, c in enumerate(CIFAR100_COARSE) if c == coarse] for coarse in range(20)]
    return {g[k]: g[(k + 1) % len(g)] for g in groups for k in range(len(g))}


def transition_matrix(num_classes: int, rate: float, kind: str = "uniform_incorrect") -> torch.Tensor:
    """Return the (C, C) float64 row-stochastic noise matrix of the given ``kind`` and ``rate``.

    ``uniform_incorrect``: with prob. ``rate`` move to one of the C-1 other classes uniformly.
    ``symmetric``: with prob. ``rate`` resample uniformly over all C classes (so the true label is kept
    with prob. ``1 - rate + rate / C``). ``pair``: with prob. ``rate`` move to ``(i + 1) mod C``. The
    class-dependent kinds (module docstring) need their dataset's class count.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigValueError(
            f"label noise needs num_classes >= 2, got {num_classes!r} (data.init_args.label_noise)"
        )
    if kind not in KINDS:
        raise ConfigValueError(
            f"unknown label noise kind {kind!r}; expected one of {KINDS} "
            "(set data.init_args.noise_kind, used with data.init_args.label_noise)"
        )
    rate = float(rate)
    # "not (0 <= rate < 1)" also rejects NaN; rate 1 would leave no clean signal (and T singular).
    if not (0.0 <= rate < 1.0):
        raise ConfigValueError(f"label noise rate must be in [0, 1), got {rate} (set data.init_args.label_noise)")
    c = num_classes
    eye = torch.eye(c, dtype=torch.float64)
    if kind in _CLASSES:
        if c != _CLASSES[kind]:
            raise ConfigValueError(
                f"label noise kind {kind!r} is defined for {_CLASSES[kind]} classes, the data has {c} "
                "(data.init_args.noise_kind)"
            )
        T = eye.clone()
        for i, j in _flip_map(kind).items():
            T[i, i], T[i, j] = 1 - rate, rate
        if kind == "binary_asymmetric" and rate > 0:  # no noise at all at rate 0
            T[0, 0], T[0, 1] = 1 - BINARY_REVERSE_RATE, BINARY_REVERSE_RATE
        return T
    if kind == "uniform_incorrect":
        return (1 - rate) * eye + rate / (c - 1) * (1 - eye)
    if kind == "symmetric":
        return (1 - rate) * eye + rate / c * torch.ones(c, c, dtype=torch.float64)
    return (1 - rate) * eye + rate * torch.roll(eye, shifts=1, dims=1)


def _largest_remainder(n: int, probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Integer counts summing to ``n`` with ``|count_j - n * p_j| < 1``; ties broken at random."""
    exact = n * probs
    # Snap float error (e.g. 1000 * 0.8 = 799.9999...) so exact products stay exact.
    exact = torch.where((exact - exact.round()).abs() < 1e-9, exact.round(), exact)
    counts = exact.floor()
    remainder = exact - counts
    deficit = n - int(counts.sum().item())
    # A random permutation before a stable sort makes equal remainders win in random order, so the
    # extra examples do not always go to the lowest class indices.
    perm = torch.randperm(len(probs), generator=generator)
    order = perm[torch.sort(remainder[perm], descending=True, stable=True).indices]
    counts[order[:deficit]] += 1
    return counts.long()


def apply_label_noise(labels: torch.Tensor, T: torch.Tensor, seed: int) -> torch.Tensor:
    """Return new int64 labels with noise from ``T``, drawn once and deterministically from ``seed``.

    For each clean class i with n_i examples, exactly ``round_LR(n_i * T[i, j])`` of them get label j
    (largest-remainder rounding, so counts sum to n_i); which examples get which label is a seeded random
    permutation. A private ``torch.Generator`` keeps the draw independent of the global RNG.
    """
    if T.dim() != 2 or T.shape[0] != T.shape[1]:
        raise ConfigValueError(f"transition matrix must be square, got shape {tuple(T.shape)}")
    T64 = T.detach().to("cpu", torch.float64)
    if (T64 < 0).any() or not torch.allclose(T64.sum(1), torch.ones(len(T64), dtype=torch.float64)):
        raise ConfigValueError("transition matrix rows must be non-negative and sum to 1")
    clean = labels.detach().to("cpu", torch.int64).reshape(-1)
    if clean.numel() and (clean.min() < 0 or clean.max() >= len(T64)):
        raise ConfigValueError(f"labels must lie in [0, {len(T64)}), got range [{clean.min()}, {clean.max()}]")
    generator = torch.Generator().manual_seed(seed)
    noisy = clean.clone()
    for i in range(len(T64)):
        idx = torch.nonzero(clean == i).flatten()
        counts = _largest_remainder(len(idx), T64[i], generator)
        shuffled = idx[torch.randperm(len(idx), generator=generator)]
        noisy[shuffled] = torch.repeat_interleave(torch.arange(len(T64)), counts)
    return noisy.reshape(labels.shape).to(labels.device)


def noise_summary(clean: torch.Tensor, noisy: torch.Tensor, num_classes: int,
                  transition: torch.Tensor | None = None) -> dict[str, object]:
    """Realised flip rate and empirical transition matrix (rows of absent classes are zero), JSON-ready; with
    ``transition``, also the matrix the noise was drawn from (``transition``)."""
    clean, noisy = clean.reshape(-1).long().cpu(), noisy.reshape(-1).long().cpu()
    counts = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    counts.index_put_((clean, noisy), torch.ones(len(clean), dtype=torch.float64), accumulate=True)
    class_counts = counts.sum(1)
    empirical = counts / class_counts.clamp(min=1).unsqueeze(1)
    flipped = int((clean != noisy).sum())
    return {
        "num_examples": len(clean),
        "num_flipped": flipped,
        "flip_rate": flipped / len(clean) if len(clean) else math.nan,
        "class_counts": class_counts.long().tolist(),
        "empirical_transition": empirical.tolist(),
        **({"transition": transition.tolist()} if transition is not None else {}),
    }
