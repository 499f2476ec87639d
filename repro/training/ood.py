"""UncertaintyClassifier: a Classifier also evaluated for calibration and out-of-distribution detection.

On every evaluated in-distribution split it logs, beside the shared loop's metrics, ``<split>/nll``,
``<split>/ece`` (15 bins) and ``<split>/confidence`` (mean max-probability). With a
:class:`repro.data.ood.OODDataModule` it also scores each OOD set against ``test`` — OOD is the positive
class — and logs ``ood_<name>/auroc`` and ``/aupr`` for the max-probability score 1 − max_k p_k,
``/auroc_ds`` and ``/aupr_ds`` for the Dempster–Shafer score K/(K + Σ exp z) (only when the model outputs
logits: for a probability average, as MC dropout and ensembles give, it is constant), and ``/confidence``;
probe sets log ``probe_<name>/confidence``. With the datamodule's ``surface_points``, the predictions there
are saved to ``<run dir>/surface.pt`` (e.g. an uncertainty map over a 2-D input plane).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchmetrics import CatMetric

from repro.atomic import atomic_path
from repro.training.classifier import Classifier
from repro.training.uncertainty import calibration_metrics, dempster_shafer_score, max_prob_score, ood_metrics

__all__ = ["UncertaintyClassifier"]


class UncertaintyClassifier(Classifier):
    """Classifier that also logs calibration, OOD detection and confidence on probe sets.

    ``outputs_logits`` tells whether ``forward`` in eval gives logits (True) or log-probabilities of a
    predictive average (False: the Dempster–Shafer score is then skipped).
    """

    outputs_logits: bool = True

    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        splits = tuple(getattr(dm, "eval_splits", ("val",)))
        self.id_splits = tuple(getattr(dm, "id_splits", splits))
        self.ood_splits = tuple(getattr(dm, "ood_splits", ()))
        self.test_splits = tuple(getattr(dm, "test_splits", ("test",)))
        every = tuple(dict.fromkeys((*splits, *self.test_splits)))
        # Predictions of every evaluated split, gathered across DDP ranks by torchmetrics (cat).
        self.collected = nn.ModuleDict({s: CatMetric(nan_strategy="disable") for s in every})
        self.collected_y = nn.ModuleDict({s: CatMetric(nan_strategy="disable") for s in every})

    def _collect(self, split: str, batch: dict[str, torch.Tensor]) -> None:
        logits = self(batch["x"])
        self.collected[split].update(logits.float())
        if split in self.id_splits or split == "test":
            self._update_metrics(split, logits, batch)
            self.collected_y[split].update(batch["y_clean"].float())

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect(self._eval_split(dataloader_idx), batch)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        self._collect(self.test_splits[dataloader_idx], batch)

    def on_validation_epoch_end(self) -> None:
        self._log_uncertainty(self.id_splits, [s for s in self.collected if s not in self.id_splits])

    def on_test_epoch_end(self) -> None:
        self._log_uncertainty(("test",), self.test_splits[1:])

    def _log_uncertainty(self, id_splits: tuple[str, ...], extra: list[str] | tuple[str, ...]) -> None:
        self._log_splits(id_splits)
        values: dict[str, float] = {}
        out = {s: self.collected[s].compute() for s in (*id_splits, *extra) if self.collected[s].update_count}
        for split in id_splits:
            y = self.collected_y[split].compute().long()
            values.update({f"{split}/{k}": v for k, v in calibration_metrics(out[split], y).items()})
        for split in out:
            values[f"{split}/confidence"] = float(out[split].float().softmax(-1).amax(-1).mean())
        for split in self.ood_splits:
            if split in out:
                values.update(self._ood_values(split, out["test"], out[split]))
        for metric in (*self.collected.values(), *self.collected_y.values()):
            metric.reset()
        self.log_dict(values, sync_dist=False)
        self._save_surface()

    def _ood_values(self, split: str, logits_in: torch.Tensor, logits_out: torch.Tensor) -> dict[str, float]:
        scores = {"": max_prob_score}
        if self.outputs_logits:
            scores["_ds"] = dempster_shafer_score
        values = {}
        for suffix, score in scores.items():
            for k, v in ood_metrics(score(logits_in.float()), score(logits_out.float())).items():
                values[f"{split}/{k}{suffix}"] = v
        return values

    @torch.no_grad()
    def _save_surface(self) -> None:
        points = getattr(self.trainer.datamodule, "surface_points", None)
        if points is None or self.trainer.sanity_checking or self.global_rank != 0:
            return
        # the grid is made by the datamodule in float32; the model may run in float64 (`trainer.precision: 64-true`)
        probs = self(points.to(self.device, self.dtype)).float().softmax(-1).cpu()
        with atomic_path(Path(self.trainer.default_root_dir) / "surface.pt") as tmp:
            torch.save({"points": points.cpu(), "probs": probs}, tmp)
