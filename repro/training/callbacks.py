"""Callbacks the shared loop adds on request (``model.init_args.track_best``, ``checkpoint_best``)."""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

__all__ = ["BestCheckpoint", "BestMetrics", "better"]


def better(mode: str, new: float, old: float | None) -> bool:
    return old is None or (new < old if mode == "min" else new > old)


class BestMetrics(pl.Callback):
    """After every validation pass, ``<metric>_best`` (the best value so far, ``min`` or ``max``) and
    ``<metric>_best_epoch`` for each tracked metric — e.g. the best-epoch error a paper may report beside the
    final one. Restored on resume, so a resumed run keeps its best."""

    def __init__(self, modes: dict[str, str]) -> None:
        self.modes = dict(modes)
        self.best: dict[str, tuple[float, int]] = {}

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        values = {}
        for metric, mode in self.modes.items():
            names = [metric] + [f"member{i}/{metric}" for i in range(getattr(pl_module, "num_members", 1))
                                if getattr(pl_module, "stacked", False)]
            for name in names:
                value = trainer.callback_metrics.get(name)
                if value is None or value.numel() != 1 or not math.isfinite(float(value)):
                    continue
                old = self.best.get(name)
                if better(mode, float(value), old[0] if old else None):
                    self.best[name] = (float(value), trainer.current_epoch)
                if name in self.best:
                    values[f"{name}_best"], values[f"{name}_best_epoch"] = self.best[name][0], float(self.best[name][1])
        if values:
            pl_module.log_dict({k: torch.tensor(v) for k, v in values.items()}, sync_dist=False)

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best = {k: tuple(v) for k, v in state_dict.get("best", {}).items()}


class BestCheckpoint(ModelCheckpoint):
    """``<run dir>/checkpoints/best.ckpt``: the weights at the best value of ``monitor`` (a run's output another run
    of the study can take as input). A subclass, so a module returning it from ``configure_callbacks`` does not
    replace the trainer's own ``last.ckpt`` checkpointing."""

    def __init__(self, monitor: str, mode: str = "min") -> None:
        super().__init__(filename="best", monitor=monitor, mode=mode, save_top_k=1, save_last=False,
                         enable_version_counter=False)

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.dirpath is None:
            from pathlib import Path

            self.dirpath = str(Path(trainer.default_root_dir) / "checkpoints")
        super().setup(trainer, pl_module, stage)
