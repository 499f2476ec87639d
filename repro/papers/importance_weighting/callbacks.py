"""Callbacks of the 2-D toy study: the angle of each weighted linear solution to the unweighted one, and snapshots
of every member's decision regions on a grid (the boundaries figure).

Both work on :class:`~repro.papers.importance_weighting.method.ImportanceWeighting`, stacked or not.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch

from repro.atomic import atomic_path
from repro.papers.importance_weighting.metrics import angle_degrees

__all__ = ["AngleToUnweighted", "BoundarySnapshots", "GRID"]

GRID = (-3.0, 3.0, 121)  # the boundaries figure's square [lo, hi]² and its points per side


class AngleToUnweighted(pl.Callback):
    """``angle/to_unweighted_deg`` per member at ``epochs``: the angle between the member's decision vector
    [w_up − w_other, b_up − b_other] and that of the member with ratio 1 that shares its seed and weight decay."""

    def __init__(self, epochs: list[int]) -> None:
        self.epochs = set(epochs)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch + 1 not in self.epochs:
            return
        v = pl_module.decision_vectors().detach()
        ref = v[pl_module.unweighted_member_index()]
        pl_module.log_members({"angle/to_unweighted_deg": angle_degrees(v, ref).float()},
                              shared={"angle/epoch": torch.tensor(float(trainer.current_epoch + 1))})


class BoundarySnapshots(pl.Callback):
    """At ``epochs``, every member's predicted class on a grid over [lo, hi]² (2-D inputs), saved to
    ``<run dir>/boundaries/epoch<e>.pt`` with the grid and the training points (the figure's input)."""

    def __init__(self, epochs: list[int]) -> None:
        self.epochs = set(epochs)

    @staticmethod
    def grid() -> torch.Tensor:
        lo, hi, n = GRID
        axis = torch.linspace(lo, hi, n)
        gy, gx = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if epoch not in self.epochs or not trainer.is_global_zero:
            return
        grid = self.grid()
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            dtype = next(pl_module.parameters()).dtype
            pred = pl_module.member_axis(pl_module(grid.to(pl_module.device, dtype))).argmax(-1)
        pl_module.train(was_training)
        train = trainer.datamodule.splits["train"]
        out = Path(trainer.default_root_dir) / "boundaries" / f"epoch{epoch}.pt"
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            torch.save({"epoch": epoch, "grid": GRID, "pred": pred.to(torch.uint8).cpu(),
                        "members": pl_module.members, "x": train["x"].float().cpu(), "y": train["y"].cpu()}, tmp)
