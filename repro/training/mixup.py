"""Mixup of inputs or hidden representations, and the soft-target losses it trains with.

One draw per batch (:func:`draw_mix`): a stage k chosen uniformly from an eligible set (``input`` = the input,
else a stage the backbone declares, ``repro.models.stages``), λ ~ Beta(α, α) and a random permutation π of the batch
(self-pairs allowed). The representation at k becomes λ·h + (1 − λ)·h[π] (:func:`mix_pairs`), the targets
λ·onehot(y) + (1 − λ)·onehot(y[π]) (:func:`soft_targets`), and gradients flow through every layer, below k
included. A hidden stage is mixed by a forward hook on the stage's submodule (:func:`mixed_at`), which replaces its
output for one forward pass; :func:`captured` records a stage's output the same way, and :func:`replaced` feeds
given values in its place (the network above the stage, evaluated on chosen representations).

Losses: :func:`soft_target_cross_entropy` −Σ_c t_c log softmax(z)_c, and :func:`softmax_bce`, binary
cross-entropy on the softmax probabilities averaged over the B·C entries (``nn.BCELoss()(softmax(z), t)``), which
some original codes train every arm with; the two differ in gradient scale and shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError

__all__ = ["MIX_LOSSES", "MixDraw", "captured", "check_alpha", "draw_mix", "mix_pairs", "mixed_at", "replaced",
           "soft_targets", "soft_target_cross_entropy", "softmax_bce"]


def check_alpha(alpha: float, key: str = "model.init_args.alpha") -> float:
    """α of Beta(α, α) must be > 0 (α ≤ 0 has no Beta distribution; some codes silently took it as λ = 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
        raise ConfigValueError(f"{key} must be > 0 (λ ~ Beta(α, α)), got {alpha!r}; for no mixing leave the eligible "
                               "stages empty instead")
    return float(alpha)


@dataclass(frozen=True)
class MixDraw:
    """One batch's mixing: the stage, λ and the partner of each example (``perm``, a (B,) index tensor)."""

    stage: str
    lam: float
    perm: torch.Tensor


def draw_mix(eligible: Sequence[str], alpha: float, batch_size: int, seed: Sequence[int]) -> MixDraw | None:
    """k uniform over ``eligible``, λ ~ Beta(α, α), π a permutation of the batch, all from one numpy stream seeded by
    ``seed`` (e.g. (run stream, step): the same draws after a resume); ``None`` when nothing is eligible."""
    if not eligible:
        return None
    rng = np.random.default_rng(list(seed))
    stage = eligible[int(rng.integers(len(eligible)))]
    lam = float(rng.beta(alpha, alpha))
    return MixDraw(stage, lam, torch.from_numpy(rng.permutation(batch_size)))


def mix_pairs(t: torch.Tensor, perm: torch.Tensor, lam: float) -> torch.Tensor:
    """λ·t + (1 − λ)·t[π] along the first (batch) axis."""
    return lam * t + (1 - lam) * t[perm.to(t.device)]


def soft_targets(y: torch.Tensor, num_classes: int, perm: torch.Tensor | None = None, lam: float = 1.0,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """λ·onehot(y) + (1 − λ)·onehot(y[π]) (the plain one-hot targets without ``perm``); rows sum to 1."""
    onehot = F.one_hot(y, num_classes).to(dtype)
    return onehot if perm is None else mix_pairs(onehot, perm, lam)


def soft_target_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Batch mean of −Σ_c t_c log softmax(z)_c (= λ·CE(z, y) + (1 − λ)·CE(z, y[π]) for mixed targets)."""
    return -(targets.to(logits.dtype) * F.log_softmax(logits, -1)).sum(-1).mean()


def softmax_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """−(1/(B·C)) Σ_{i,c} [t_ic log p_ic + (1 − t_ic) log(1 − p_ic)] with p = softmax(z) (``nn.BCELoss`` on the
    softmax, its logs clamped at −100 as BCELoss does)."""
    return F.binary_cross_entropy(F.softmax(logits, -1), targets.to(logits.dtype))


MIX_LOSSES = {"soft_ce": soft_target_cross_entropy, "softmax_bce": softmax_bce}


@contextmanager
def mixed_at(module: nn.Module, perm: torch.Tensor, lam: float) -> Iterator[None]:
    """While active, ``module``'s output h is replaced by λ·h + (1 − λ)·h[π] (a forward hook; removed on exit)."""
    handle = module.register_forward_hook(lambda _m, _inputs, out: mix_pairs(out, perm, lam))
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def captured(module: nn.Module) -> Iterator[list[torch.Tensor]]:
    """While active, every output of ``module`` is appended to the yielded list (a forward hook)."""
    outputs: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _inputs, out: outputs.append(out))
    try:
        yield outputs
    finally:
        handle.remove()


@contextmanager
def replaced(module: nn.Module, value: torch.Tensor) -> Iterator[None]:
    """While active, ``module``'s output is ``value`` (feed a batch of the same size below it)."""
    handle = module.register_forward_hook(lambda _m, _inputs, out: value.to(out.dtype))
    try:
        yield
    finally:
        handle.remove()
