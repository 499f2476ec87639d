"""Grokking (Power et al. 2022) and the Slingshot Mechanism (Thilak et al. 2022, arXiv:2206.04817).

A token model trained on a modular-arithmetic table (``repro.data.modular``), step-based
(``trainer.max_steps``, validation every ``trainer.val_check_interval`` steps), with the optimizer and the
warm-up from the YAML like every other paper (Adam/AdamW with β = (0.9, 0.98) and a 10-step linear warm-up,
``repro.training.optim.LinearWarmupLR``; SGD or Adagrad for the "no slingshot" comparison)::

    repro fit --config configs/slingshot/quick.yaml

Adam's update θ ← θ − η·m̂/(√v̂ + ε) keeps its size near η while gradients vanish (as long as √v̂ ≫ ε), so late
in training the last-layer norm grows until the loss spikes — one "Slingshot". A large ε removes the cycles.

This module adds to the shared loop only what the dynamics callbacks (``callbacks.py``) read: the output
layer's weights, and the loss as a function of the parameters (for Hessian-vector products). See this
package's README.md for the paper, the studies and every departure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.func import functional_call

from repro.papers.slingshot.callbacks import FeatureChange, LastLayerNorm, UpdateSharpness
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.sequence_metrics import SequenceSplitMetrics


class Slingshot(Classifier):
    """Answer-token cross-entropy on modular arithmetic, one model or a stack of seeds.

    Args:
        backbone: a token model (``repro.models.transformer.Transformer`` or ``OperandMLP``) with a ``head``.
        norm_every, feature_change_every, sharpness_every: log the last-layer norm, the feature change and
            the update sharpness every this many steps (``None``: not at all); see ``callbacks.py``.
        **kwargs: :class:`~repro.training.classifier.Classifier` arguments (optimizer, lr_scheduler,
            scheduler_interval, stack_seeds, ...).

    Metrics: ``fit/loss`` and ``fit/error`` of every logged step's batch (spikes last a few steps), and the
    shared loop's ``val/*`` and ``train/*`` at every validation pass.

    Answers of several tokens (openai/grok's ``c`` and the final ``<eos>``: data ``eos: true``, a backbone with
    ``answer_positions: 2``, logits (N, 2, V) and targets (N, 2)): the loss is the mean cross-entropy over all
    answer tokens of the batch, and an equation is correct only when every answer token is.
    """

    paper = "slingshot"

    def __init__(self, backbone: BackboneFactory, *, num_classes: int = 103, in_shape: Sequence[int] = (4,),
                 norm_every: int | None = 1, feature_change_every: int | None = 10,
                 sharpness_every: int | None = None, log_fit_error: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("scheduler_interval", "step")
        super().__init__(backbone, num_classes=num_classes, in_shape=in_shape, log_fit_error=log_fit_error,
                         **kwargs)
        if sharpness_every and not self.stacked and hasattr(self.backbone, "prepare_for_vmap"):
            self.backbone.prepare_for_vmap()  # fused attention has no forward-mode AD (the Hessian-vector product)
        self.norm_every, self.sharpness_every = norm_every, sharpness_every
        self.feature_change_every = feature_change_every
        for key in self.split_metrics:  # the same metrics, also for answers of several tokens
            per_class = self.split_metrics[key].class_accuracy is not None
            self.split_metrics[key] = SequenceSplitMetrics(num_classes, per_class)

    def configure_callbacks(self) -> list[pl.Callback]:
        callbacks = super().configure_callbacks()
        if self.norm_every:
            callbacks.append(LastLayerNorm(self.norm_every))
        if self.feature_change_every:
            callbacks.append(FeatureChange(self.feature_change_every))
        if self.sharpness_every:
            callbacks.append(UpdateSharpness(self.sharpness_every))
        return callbacks

    def training_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The members' losses; ``fit/error`` counts an equation wrong when any answer token is."""
        logits = self(batch["x"])
        if self.log_fit_error and self._logging_step():
            wrong = self.member_axis(logits).argmax(-1) != batch["y"]  # (M, N) or (M, N, K)
            self.log_members({"fit/error": wrong.reshape(*wrong.shape[:2], -1).any(-1).float().mean(-1)})
        return self.member_losses(logits, batch)

    def member_losses(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every member's answer-token cross-entropy in one call: (M,) for a stack, a scalar for one model."""
        losses = self.losses_of(self.member_axis(logits), batch["y"])
        return losses if self.stacked else losses[0]

    @staticmethod
    def losses_of(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Per-member cross-entropy of (M, N, V) logits against (N,) targets, or of (M, N, K, V) against (N, K):
        the mean (or sum) over every answer token, (M,)."""
        m, v = logits.shape[0], logits.shape[-1]
        target = y.expand(m, *y.shape).reshape(-1)
        losses = F.cross_entropy(logits.reshape(-1, v).float(), target, reduction="none").view(m, -1)
        return losses.mean(1) if reduction == "mean" else losses.sum(1)

    # -- what the dynamics callbacks read -----------------------------------------------------------------
    def head_weights(self) -> torch.Tensor:
        """The output layer's weights W_out of every member, (M, V, d): the "last layer"."""
        if self.stacked:
            return self.backbone.params()["head.weight"]
        return self.backbone.head.weight.unsqueeze(0)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Hidden features of every member, each (M, N, d)."""
        return tuple(self.member_axis(f) for f in self(x, return_features=True)[1])

    def functional_params(self) -> dict[str, torch.Tensor]:
        return self.backbone.params() if self.stacked else dict(self.backbone.named_parameters())

    def functional_losses(self, params: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-member loss (M,) at the given parameters (for Hessian-vector products)."""
        if self.stacked:
            logits = self.backbone.call(params, batch["x"])
        else:
            logits = functional_call(self.backbone, params, (batch["x"],)).unsqueeze(0)
        return self.losses_of(logits, batch["y"])

    def member_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum over everything but the member axis: (M,)."""
        return t.flatten(1).sum(1) if self.stacked else t.sum().unsqueeze(0)
