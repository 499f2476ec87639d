"""The mask arithmetic of iterative magnitude pruning (``repro.training.pruning``): which weights are prunable, the
global magnitude rule and the sparsity of a set of masks, for one model or a stack of members."""

from __future__ import annotations

import math

import torch
from torch import nn

from repro.errors import ConfigValueError

__all__ = ["PRUNABLE", "global_magnitude_masks", "prunable_weights", "sparsity"]

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _owner(module: nn.Module, name: str) -> nn.Module:
    owner, _, _ = name.rpartition(".")
    return module.get_submodule(owner) if owner else module


def prunable_weights(backbone: nn.Module, exclude: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """The weights IMP prunes, by name: every Conv/Linear ``weight`` not in ``exclude``. For a stacked model these
    are its stacked parameters (member axis first), found through the members' architecture."""
    stacked = hasattr(backbone, "params") and hasattr(backbone, "base")
    params = backbone.params() if stacked else dict(backbone.named_parameters())
    arch = backbone.base if stacked else backbone
    out = {n: p for n, p in params.items()
           if n.rpartition(".")[2] == "weight" and isinstance(_owner(arch, n), PRUNABLE) and n not in exclude}
    unknown = set(exclude) - set(params)
    if unknown:
        raise ConfigValueError(f"model.init_args.prune_exclude: no parameters {sorted(unknown)}; the prunable ones "
                               f"are {sorted(out)}")
    if not out:
        raise ConfigValueError("iterative pruning found no Conv/Linear weight to prune in the backbone")
    return out


def global_magnitude_masks(weights: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], rate: float,
                           members: int | None = None) -> dict[str, torch.Tensor]:
    """New masks after one round: for each member (``members`` leading rows; ``None``: one model), remove
    ``round(rate · remaining)`` of the unpruned entries with the smallest ``|w|`` across all tensors."""
    flat_w = torch.cat([w.detach().abs().reshape(members or 1, -1) for w in weights.values()], 1)
    flat_m = torch.cat([masks[n].reshape(members or 1, -1) for n in weights], 1).clone()
    for i in range(flat_m.shape[0]):
        remaining = int(flat_m[i].sum())
        k = round(rate * remaining)  # PyTorch's count for a float amount (Python's round, halves to even)
        if k:
            score = torch.where(flat_m[i], flat_w[i], torch.full_like(flat_w[i], math.inf))
            flat_m[i, torch.topk(score, k, largest=False).indices] = False
    out, start = {}, 0
    for n, w in weights.items():
        size = w[0].numel() if members else w.numel()
        out[n] = flat_m[:, start:start + size].reshape(w.shape)
        start += size
    return out


def sparsity(masks: dict[str, torch.Tensor], members: int | None = None) -> torch.Tensor:
    """Fraction of pruned entries over all masked tensors, per member ((M,) or a scalar)."""
    kept = sum(m.reshape(members or 1, -1).sum(1) for m in masks.values())
    total = sum(m.reshape(members or 1, -1).shape[1] for m in masks.values())
    out = 1 - kept.double() / total
    return out if members else out[0]
