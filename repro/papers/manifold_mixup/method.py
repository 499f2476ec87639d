"""Manifold Mixup (Verma et al., "Manifold Mixup: Better Representations by Interpolating Hidden States", ICML 2019,
arXiv:1806.05236), with input mixup (Zhang et al. 2018) and plain training as the same module's special cases.

Per training batch (x, y), Sec. 3 / Eq. 1 of the paper:

1. k uniform over the eligible set S (``eligible``: ``input`` and/or stages the backbone declares,
   ``repro.models.stages``), λ ~ Beta(α, α), a permutation π of the batch — one (k, λ, π) per batch;
2. h = g_k(x); h̃ = λ·h + (1 − λ)·h[π] (a forward hook on stage k's submodule; the input itself for k = input);
3. ỹ = λ·y + (1 − λ)·y[π]; the loss ℓ(f_k(h̃), ỹ), back-propagated through every layer (h is not detached).

S = [input] is input mixup, S = [] is plain training (one-hot targets). ``loss``: ``soft_ce`` (soft-target
cross-entropy, the paper's Eq. 1 with ℓ = CE) or ``softmax_bce`` (the official code's BCE on the softmax, used there
for every arm). The draws come from a stream of the run seed and the step (``repro.data.seeds``), so each seed of a
study draws its own λ and partners, and a resumed run draws the same ones.

Evaluation, beside the shared loop's error and NLL (``<split>/loss``, cross-entropy on clean inputs): with
``spectrum_stage`` the singular-value summaries of the class-conditional representations at that stage on
``spectrum_split`` (``<split>/sv_top``, ``/sv_rest``, ``/sv_rest_ratio``; ``repro.training.class_spectrum``); with
``fgsm_epsilons`` the test accuracy under FGSM (``test/fgsm_accuracy_eps<ε>``); with a datamodule offering
``surface_points`` (2-D toy data) the predictions there, saved to ``<run dir>/surface.pt``.

    repro fit --config configs/manifold_mixup/quick.yaml

The paper, the studies and every departure: README.md in this folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from repro.atomic import atomic_path
from repro.data.seeds import draw_seed
from repro.errors import ConfigValueError
from repro.models.stages import INPUT, check_stages, declared_stages
from repro.training import mixup as mix
from repro.training.adversarial import fgsm
from repro.training.class_spectrum import spectrum_summary
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.mixup import MIX_LOSSES, MixDraw, check_alpha, draw_mix


class ManifoldMixup(Classifier):
    """Classifier trained on mixed representations at a random eligible stage.

    Args (beyond :class:`~repro.training.classifier.Classifier`):
        eligible: the eligible set S, e.g. ``[input, stage1, stage2]``; ``[input]`` is input mixup, ``[]`` none.
        alpha: α of λ ~ Beta(α, α); must be > 0.
        loss: ``soft_ce`` or ``softmax_bce`` (see the module docstring).
        spectrum_stage: the stage (or ``input``) whose class-conditional singular values are logged.
        spectrum_split: the evaluated split they are computed on (the paper: the training set).
        fgsm_epsilons: FGSM step sizes ε (in the model's input units) at which test accuracy is logged.
    """

    paper = "manifold_mixup"

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        eligible: Sequence[str] = (INPUT,),
        alpha: float = 2.0,
        loss: Literal["soft_ce", "softmax_bce"] = "soft_ce",
        spectrum_stage: str | None = None,
        spectrum_split: str = "train",
        fgsm_epsilons: Sequence[float] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        if self.stacked:
            raise ConfigValueError(
                "model.init_args.stack_seeds: stacked members share one data stream (subsample, order), so their seeds "
                "would differ in initialisation only; list the seeds in the grid (seed_everything) instead")
        if loss not in MIX_LOSSES:
            raise ConfigValueError(f"model.init_args.loss must be one of {sorted(MIX_LOSSES)}, got {loss!r}")
        self.eligible = check_stages(self.network, eligible, "model.init_args.eligible")
        self.alpha = check_alpha(alpha)
        self.loss_name = loss
        self.spectrum_stage = spectrum_stage
        if spectrum_stage is not None:
            check_stages(self.network, [spectrum_stage], "model.init_args.spectrum_stage")
        self.spectrum_split = spectrum_split
        self.fgsm_epsilons = [float(e) for e in fgsm_epsilons]
        if any(e <= 0 for e in self.fgsm_epsilons):
            raise ConfigValueError(f"model.init_args.fgsm_epsilons must be > 0, got {self.fgsm_epsilons}")
        self.mix_seed = draw_seed(None, "mixup")  # the run seed's own stream for k, λ and π
        self.last_draw: MixDraw | None = None
        self._features: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []
        self._fgsm_correct: dict[float, list[int]] = {}

    @property
    def network(self) -> nn.Module:
        """The backbone itself (under ``torch.compile``, the module it wraps)."""
        return getattr(self.backbone, "_orig_mod", self.backbone)

    def stage_module(self, stage: str) -> nn.Module:
        return declared_stages(self.network)[stage]

    # -- training ---------------------------------------------------------------------------------------
    def draw(self, batch_size: int) -> MixDraw | None:
        """This step's (k, λ, π), from the run's stream and the step (``None`` without eligible stages)."""
        return draw_mix(self.eligible, self.alpha, batch_size, (self.mix_seed, self.global_step))

    def mixed_forward(self, x: torch.Tensor, draw: MixDraw | None) -> torch.Tensor:
        """Logits with the representation at ``draw.stage`` mixed (the plain forward without a draw)."""
        if draw is None:
            return self(x)
        if draw.stage == INPUT:
            return self(mix.mix_pairs(x, draw.perm, draw.lam))
        with mix.mixed_at(self.stage_module(draw.stage), draw.perm, draw.lam):
            return self(x)

    def training_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        y = batch["y"]
        draw = self.last_draw = self.draw(len(y))
        logits = self.mixed_forward(batch["x"], draw)
        targets = mix.soft_targets(y, self.num_classes) if draw is None else (
            mix.soft_targets(y, self.num_classes, draw.perm.to(y.device), draw.lam))
        return self.loss(logits, {**batch, "targets": targets})

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The configured loss against ``batch["targets"]`` (soft targets; one-hot labels when absent)."""
        targets = batch.get("targets")
        if targets is None:
            targets = mix.soft_targets(batch["y"], self.num_classes)
        return MIX_LOSSES[self.loss_name](logits, targets)

    # -- evaluation -------------------------------------------------------------------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        split = self._eval_split(dataloader_idx)
        x = batch["x"]
        if self.spectrum_stage is not None and split == self.spectrum_split:
            if self.spectrum_stage == INPUT:
                logits, features = self(x), x
            else:
                with mix.captured(self.stage_module(self.spectrum_stage)) as outputs:
                    logits = self(x)
                features = outputs[-1]
            self._features.append(features.flatten(1).float())
            self._labels.append(batch["y"])
        else:
            logits = self(x)
        self._update_metrics(split, logits, batch)
        if split == "test":
            for eps in self.fgsm_epsilons:
                adv = fgsm(self, x, batch["y"], eps)
                correct = self._fgsm_correct.setdefault(eps, [0, 0])
                correct[0] += int((self(adv).argmax(-1) == batch["y"]).sum())
                correct[1] += len(batch["y"])

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        values: dict[str, float] = {}
        if self._features:
            summary = spectrum_summary(torch.cat(self._features), torch.cat(self._labels), self.num_classes)
            values.update({f"{self.spectrum_split}/{k}": v for k, v in summary.items()})
        for eps, (correct, total) in self._fgsm_correct.items():
            values[f"test/fgsm_accuracy_eps{eps:g}"] = correct / max(total, 1)
        values.update(self._save_surface())
        self._features, self._labels, self._fgsm_correct = [], [], {}
        if values:
            self.log_dict(values, sync_dist=False)

    @torch.no_grad()
    def _save_surface(self) -> dict[str, float]:
        """Predictions over the datamodule's ``surface_points`` (a 2-D input plane) and, when the spectrum stage is
        2-D, over a plane of that stage around the training representations; saved to ``surface.pt``."""
        points = getattr(self.trainer.datamodule, "surface_points", None)
        if points is None or self.trainer.sanity_checking or self.global_rank != 0:
            return {}
        saved = {"points": points.cpu(), "probs": self(points.to(self.device, self.dtype)).float().softmax(-1).cpu()}
        if self._features and self._features[0].shape[1] == 2 and self.spectrum_stage != INPUT:
            h, y = torch.cat(self._features), torch.cat(self._labels)
            lo, hi = h.amin(0), h.amax(0)
            pad = 0.15 * (hi - lo)
            axes = [torch.linspace(float(lo[i] - pad[i]), float(hi[i] + pad[i]), 100) for i in range(2)]
            gy, gx = torch.meshgrid(axes[1], axes[0], indexing="ij")
            plane = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(self.device, self.dtype)
            dummy = torch.zeros(len(plane), *self.in_shape, device=self.device, dtype=self.dtype)
            with mix.replaced(self.stage_module(self.spectrum_stage), plane):
                hidden_probs = self(dummy).float().softmax(-1)
            saved.update(hidden=h.cpu(), hidden_y=y.cpu(), hidden_points=plane.cpu(), hidden_probs=hidden_probs.cpu())
        with atomic_path(Path(self.trainer.default_root_dir) / "surface.pt") as tmp:
            torch.save(saved, tmp)
        confidence = saved["probs"].amax(-1)
        return {"surface/confidence": float(confidence.mean()),
                "surface/low_confidence_fraction": float((confidence < 0.9).float().mean())}
