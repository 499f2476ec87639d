"""Knowledge distillation (Hinton et al. 2015) from a frozen teacher loaded from a checkpoint.

    L = α · T² · KL( softmax(z_t / T) ‖ softmax(z_s / T) ) + (1 − α) · CE(z_s, y)

with the KL averaged over the batch (``reduction="batchmean"``), y the training labels (noisy ones where the data
has label noise), z_s the student's and z_t the teacher's logits. The T² keeps the soft term's gradient scale
independent of T. The teacher runs in eval mode under ``no_grad``; it is never a submodule of the student, so it
is neither trained nor saved with the student's checkpoints.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ConfigValueError, ReproError

__all__ = ["Teacher", "check_distillation", "distillation_loss", "load_backbone_state"]


def check_distillation(alpha: float, temperature: float, key: str = "model.init_args") -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise ConfigValueError(f"{key}.alpha (the weight of the distillation term) must be in [0, 1], got {alpha!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature > 0:
        raise ConfigValueError(f"{key}.temperature must be > 0, got {temperature!r}")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, *,
                      alpha: float, temperature: float) -> torch.Tensor:
    """α·T²·KL(p_t^T ‖ p_s^T) (batch mean) + (1 − α)·CE(z_s, y): a scalar for (N, C) logits, and each member's
    loss, (M,), for a stack of M members' (M, N, C) logits on one batch (one pass for all members)."""
    t = float(temperature)
    teacher_logits = teacher_logits.to(student_logits)
    if student_logits.dim() == 2:
        ce = F.cross_entropy(student_logits, y)
        kl = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.softmax(teacher_logits / t, dim=-1),
                      reduction="batchmean")
        return alpha * t * t * kl + (1 - alpha) * ce
    log_p = F.log_softmax(student_logits, dim=-1)
    ce = -log_p.gather(-1, y.expand(log_p.shape[:-1]).unsqueeze(-1)).squeeze(-1).mean(-1)
    kl = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.softmax(teacher_logits / t, dim=-1),
                  reduction="none").sum(-1).mean(-1)
    return alpha * t * t * kl + (1 - alpha) * ce


def load_backbone_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``backbone.*`` weights of a Lightning checkpoint (or of any file with the same ``state_dict`` layout),
    without the prefix."""
    path = Path(path)
    if not path.is_file():
        raise ReproError(f"teacher checkpoint {path} not found; train the run that writes it first (in a study, name "
                         "it with {from_run: {...}, file: ...})")
    blob = torch.load(path, map_location="cpu", weights_only=False)
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise ReproError(f"{path} holds no state_dict")
    out = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    if not out:
        raise ReproError(f"{path}: no backbone.* weights in its state_dict")
    return out


class Teacher:
    """A frozen network in eval mode. ``Teacher.from_checkpoint(path, like=student_backbone)`` copies the student's
    architecture (or takes ``module``) and loads the checkpoint's backbone weights into it."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module.eval().requires_grad_(False)
        self._cache: torch.Tensor | None = None

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, like: nn.Module) -> Teacher:
        module = copy.deepcopy(like)
        state = load_backbone_state(path)
        try:
            module.load_state_dict(state)
        except RuntimeError as err:
            raise ReproError(f"teacher checkpoint {path} does not fit the teacher's architecture "
                             f"({type(like).__name__}): {str(err).splitlines()[0]}") from err
        return cls(module)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.module.eval()
        return self.module(x)

    @torch.no_grad()
    def cache(self, batches) -> None:
        """Keep the logits of a fixed sequence of inputs (e.g. a training split that is never augmented), so that
        :meth:`cached` serves them by example index instead of a forward pass per step."""
        self._cache = torch.cat([self(x) for x in batches], dim=-2)

    def cached(self, index: torch.Tensor) -> torch.Tensor | None:
        return None if self._cache is None else self._cache.index_select(-2, index.to(self._cache.device))
