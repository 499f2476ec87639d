"""Static label noise drawn from a transition matrix.

``T[i, j] = P(noisy = j | clean = i)``. Noise is drawn once per dataset (static, as in Zhang et al. 2017),
and the realised per-class counts are made exact up to one
example per cell by largest-remainder rounding, so a "20% noise" run really has 20% wrong labels.
"""

from __future__ import annotations

import math

import torch

from repro.errors import ConfigValueError

KINDS = ("uniform_incorrect", "symmetric", "pair")


def transition_matrix(num_classes: int, rate: float, kind: str = "uniform_incorrect") -> torch.Tensor:
    """Return the (C, C) float64 row-stochastic noise matrix of the given ``kind`` and ``rate``.

    ``uniform_incorrect``: with prob. ``rate`` move to one of the C-1 other classes uniformly.
    ``symmetric``: with prob. ``rate`` resample uniformly over all C classes (so the true label is kept
    with prob. ``1 - rate + rate / C``). ``pair``: with prob. ``rate`` move to ``(i + 1) mod C``.
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


def noise_summary(clean: torch.Tensor, noisy: torch.Tensor, num_classes: int) -> dict[str, object]:
    """Realised flip rate and empirical transition matrix (rows of absent classes are zero), JSON-ready."""
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
    }
