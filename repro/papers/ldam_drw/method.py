"""LDAM-DRW (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
NeurIPS 2019, arXiv:1906.07413).

One module, every row of Table 2 by config:

    loss: ce | ldam | ldam_hinge | focal           (Eq. 12 / Eq. 11 / Lin et al. 2017)
    train_rule: none | reweight | drw              (RW from epoch 0; DRW from ``drw_epoch``, Alg. 1)
    weights: class_balanced (β, the code) | inverse_frequency (1/n_j, the paper)

Re-sampling (RS/DRS) is a data option (``data.init_args.sampler: class_balanced`` and
``sampler_start_epoch``) because it changes the loader, not the loss. With ``loss: ldam`` the
backbone's ``head`` is replaced by a :class:`~repro.models.layers.NormedLinear` cosine head (the
code's ``use_norm``); CE and focal keep the plain linear head.

Per-class training counts come from the datamodule's ``class_counts`` at fit start; nothing here
recomputes them. Besides the base metrics it logs ``<split>/balanced_error`` (mean per-class error,
the paper's metric), ``<split>/accuracy_class<j>`` and ``<split>/accuracy_{head,medium,tail}`` (thirds of
the classes by training count, class 0 the head). The paper, our studies and every departure: README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from repro.errors import ConfigValueError, ReproError
from repro.models.layers import NormedLinear
from repro.papers.ldam_drw.losses import ldam_hinge_loss, ldam_loss, ldam_margins
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.losses import class_balanced_weights, focal_loss, inverse_frequency_weights

LOSSES = ("ce", "ldam", "ldam_hinge", "focal")
RULES = ("none", "reweight", "drw")


class LDAMDRW(Classifier):
    """Classifier with LDAM / focal / CE losses and (deferred) class re-weighting.

    Args (beyond :class:`~repro.training.classifier.Classifier`):
        loss: ``ce``, ``ldam``, ``ldam_hinge`` or ``focal``.
        train_rule: ``none`` (ERM), ``reweight`` (weights from the start) or ``drw`` (from ``drw_epoch``).
        drw_epoch: first epoch (0-indexed) with class weights under DRW; 160 of 200 in the paper.
        weights: ``class_balanced`` (w_j ∝ (1−β)/(1−β^{n_j}), β=``cb_beta``) or ``inverse_frequency``.
        max_margin: the rarest class's margin (0.5; 0.3 for iNaturalist).
        scale: s, the cosine logits' scale (30).
        focal_gamma: γ of the focal loss (1 in the paper).
        normed_head: replace ``backbone.head`` by a NormedLinear; default: only for LDAM losses.
    """

    paper = "ldam_drw"

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        num_classes: int = 10,
        in_shape: Sequence[int] = (3, 32, 32),
        optimizer: OptimizerCallable = torch.optim.SGD,
        lr_scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        per_class_metrics: bool = True,
        loss: Literal["ce", "ldam", "ldam_hinge", "focal"] = "ldam",
        train_rule: Literal["none", "reweight", "drw"] = "drw",
        drw_epoch: int = 160,
        weights: Literal["class_balanced", "inverse_frequency"] = "class_balanced",
        cb_beta: float = 0.9999,
        max_margin: float = 0.5,
        scale: float = 30.0,
        focal_gamma: float = 1.0,
        normed_head: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if loss not in LOSSES:
            raise ConfigValueError(f"model.init_args.loss must be one of {LOSSES}, got {loss!r}")
        if train_rule not in RULES:
            raise ConfigValueError(f"model.init_args.train_rule must be one of {RULES}, got {train_rule!r}")
        if weights not in ("class_balanced", "inverse_frequency"):
            raise ConfigValueError(
                f"model.init_args.weights must be 'class_balanced' or 'inverse_frequency', got {weights!r}"
            )
        if drw_epoch < 0:
            raise ConfigValueError(f"model.init_args.drw_epoch must be >= 0, got {drw_epoch}")
        # Decided before the base class builds the backbone(s): build_backbone swaps in the cosine head.
        self.normed_head = loss.startswith("ldam") if normed_head is None else normed_head
        super().__init__(
            backbone, num_classes=num_classes, in_shape=in_shape, optimizer=optimizer, lr_scheduler=lr_scheduler,
            scheduler_interval=scheduler_interval, per_class_metrics=per_class_metrics, **kwargs,
        )
        self.loss_name, self.train_rule, self.drw_epoch = loss, train_rule, drw_epoch
        self.weights_kind, self.cb_beta = weights, cb_beta
        self.max_margin, self.scale, self.focal_gamma = max_margin, scale, focal_gamma
        # Filled from the datamodule at fit start (buffers so they follow the module's device).
        self.register_buffer("class_counts", torch.ones(self.num_classes), persistent=False)
        self.register_buffer("margins", torch.zeros(self.num_classes), persistent=False)
        self.register_buffer("class_weights", torch.ones(self.num_classes), persistent=False)

    def build_backbone(self, factory) -> nn.Module:
        network = super().build_backbone(factory)
        if self.normed_head:
            head = getattr(network, "head", None)
            if not isinstance(head, nn.Linear):
                raise ReproError(
                    f"model.init_args.normed_head needs a backbone with a Linear `head`; "
                    f"{type(network).__name__} has none. Use a repro.models backbone or normed_head: false"
                )
            network.head = NormedLinear(head.in_features, head.out_features)
        return network

    def set_class_counts(self, counts: torch.Tensor) -> None:
        """Margins (Eq. 13) and re-weighting weights from per-class training counts."""
        counts = torch.as_tensor(counts).to(self.class_counts)
        self.class_counts.copy_(counts)
        self.margins.copy_(ldam_margins(counts, self.max_margin))
        w = class_balanced_weights(counts, self.cb_beta) if self.weights_kind == "class_balanced" else (
            inverse_frequency_weights(counts))
        self.class_weights.copy_(w)

    def on_fit_start(self) -> None:
        self.set_class_counts(self.trainer.datamodule.class_counts)

    def weights_active(self, epoch: int) -> bool:
        """Whether class weights apply at ``epoch``: RW always, DRW from ``drw_epoch`` on (Alg. 1)."""
        return self.train_rule == "reweight" or (self.train_rule == "drw" and epoch >= self.drw_epoch)

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        y = batch["y"]
        w = self.class_weights if self.weights_active(self.current_epoch) else None
        if self.loss_name == "ldam":
            return ldam_loss(logits, y, self.margins, scale=self.scale, weight=w)
        if self.loss_name == "ldam_hinge":
            return ldam_hinge_loss(logits, y, self.margins, weight=w)
        if self.loss_name == "focal":
            return focal_loss(logits, y, gamma=self.focal_gamma, weight=w)
        return torch.nn.functional.cross_entropy(logits, y, weight=w)
