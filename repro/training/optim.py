"""Learning-rate schedules the papers use, as ``torch.optim.lr_scheduler`` classes a YAML names::

    model:
      init_args:
        lr_scheduler: {class_path: repro.training.optim.WarmupMultiStepLR, init_args: {milestones: [160, 180]}}
        scheduler_interval: epoch        # or step: how often Lightning advances the schedule

Each is a ``LambdaLR`` with a pure ``factor(t)``, so a test checks the factor against the formula.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from repro.errors import ConfigValueError

__all__ = ["InverseSqrtLR", "LinearWarmupLR", "WarmupMultiStepLR"]


class WarmupMultiStepLR(torch.optim.lr_scheduler.LambdaLR):
    """Linear warm-up lr·(t+1)/``warmup`` for the first ``warmup`` steps of the schedule, then ×``gamma`` at
    each milestone (e.g. ×0.01 at epochs 160 and 180 of 200: lr 0.1 → 1e-3 → 1e-5)."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_epochs: int = 5,
                 milestones: Sequence[int] = (160, 180), gamma: float = 0.01) -> None:
        if warmup_epochs < 0 or gamma <= 0:
            raise ConfigValueError(f"WarmupMultiStepLR: warmup_epochs={warmup_epochs} must be >= 0 and "
                                   f"gamma={gamma} > 0")
        self.warmup_epochs, self.milestones, self.gamma = warmup_epochs, tuple(milestones), gamma
        super().__init__(optimizer, self.factor)

    def factor(self, epoch: int) -> float:
        if epoch < self.warmup_epochs:
            return (epoch + 1) / self.warmup_epochs
        return self.gamma ** sum(epoch >= m for m in self.milestones)


class InverseSqrtLR(torch.optim.lr_scheduler.LambdaLR):
    """γ_t = γ0 / sqrt(1 + ⌊t / step_size⌋), t counting gradient steps. Use with ``scheduler_interval: step``:
    advancing it per epoch, or by samples seen, decays the rate far too fast."""

    def __init__(self, optimizer: torch.optim.Optimizer, step_size: int = 512) -> None:
        if step_size < 1:
            raise ConfigValueError(f"InverseSqrtLR: step_size must be >= 1, got {step_size}")
        self.step_size = step_size
        super().__init__(optimizer, self.factor)

    def factor(self, t: int) -> float:
        return (1 + t // self.step_size) ** -0.5


class LinearWarmupLR(torch.optim.lr_scheduler.LambdaLR):
    """lr·min(1, (t+1)/``warmup_steps``): a linear warm-up, then constant (``warmup_steps: 0`` is constant).
    With ``from_zero`` the factor is min(1, t/``warmup_steps``): the first update has lr 0 (the optimizer's moments
    and step count still advance) and the full lr comes one step later."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 10, from_zero: bool = False) -> None:
        if warmup_steps < 0:
            raise ConfigValueError(f"LinearWarmupLR: warmup_steps must be >= 0, got {warmup_steps}")
        self.warmup_steps, self.from_zero = warmup_steps, from_zero
        super().__init__(optimizer, self.factor)

    def factor(self, t: int) -> float:
        if self.warmup_steps <= 0:
            return 1.0
        return min(1.0, (t + (0 if self.from_zero else 1)) / self.warmup_steps)
