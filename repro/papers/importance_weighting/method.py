"""Importance-weighted ERM (Byrd & Lipton, "What is the Effect of Importance Weighting in Deep Learning?",
ICML 2019, arXiv:1812.03372).

Class weights w_y, with the up-weighted class's weight ``ratio`` times the other's, in the batch risk

    R_w(θ) = Σ_{i∈B} w_{y_i} ℓ(f_θ(x_i), y_i) / Z,   Z = |B| (``reduction: n``) or Σ_{i∈B} w_{y_i} (``weight_sum``)

(``repro.training.weighting``). The ratio sweep trains stacked: one member per (seed, weight decay, ratio), each
with its own class weights and, for ``weight_decays``, its own L2 penalty (λ/2)‖θ‖² — for plain SGD the same
update as ``torch.optim.SGD(weight_decay=λ)``. Members that share a seed share their initial weights, so the
ratios are compared on the same starting network. Run one from YAML::

    repro fit --config configs/importance_weighting/quick.yaml

Logged beside the shared loop's metrics: ``weights/up`` and ``weights/other`` (each member's class weights as used,
after any normalisation), and at log-spaced epochs ``pools/<pool>_frac`` — the share of each evaluation pool
predicted as the up-weighted class (``repro.training.pools``) — with ``angle/to_unweighted_deg`` for linear models.
The paper, our studies and every departure: README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import OptimizerCallable

from repro.data.seeds import run_seed
from repro.errors import ConfigValueError
from repro.papers.importance_weighting.callbacks import AngleToUnweighted, BoundarySnapshots
from repro.papers.importance_weighting.metrics import decision_vector
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.pools import PoolFractions, log_spaced_epochs
from repro.training.weighting import REDUCTIONS, check_weights, normalize_to_mean_one, weighted_cross_entropy

__all__ = ["ImportanceWeighting", "POWERS_OF_4"]

POWERS_OF_4 = tuple(4.0**k for k in range(-4, 5))  # 1:256 ... 256:1


class ImportanceWeighting(Classifier):
    """Class-weighted cross-entropy over a sweep of weight ratios, stacked.

    Args (beyond :class:`~repro.training.classifier.Classifier`):
        ratios: w_up : w_other, one stacked member per ratio (e.g. powers of 4 from 1/256 to 256).
        reduction: ``weight_sum`` (Z = Σ_batch w, PyTorch's ``cross_entropy(weight=)``) or ``n`` (Z = batch size).
        normalize_weights: rescale each member's weights to mean 1 over the training set (at fit start), so
            ``reduction: n`` keeps plain ERM's average step; ``weight_sum`` does not depend on the scale.
        weight_decays: L2 coefficients λ, one stacked member per value (× ratios × seeds); penalty (λ/2)‖θ‖².
        up_class: the up-weighted class (1: the datamodule's second class).
        eval_per_decade, eval_tail: the epochs of the pool fractions (and angles): 1-10, ``eval_per_decade``
            log-spaced per decade, and each of the last ``eval_tail``.
        log_angles: log each member's angle to the unweighted (ratio 1) solution; needs a
            :class:`~repro.papers.importance_weighting.models.LinearModel` backbone and ratio 1 in ``ratios``.
        boundary_epochs: save every member's decision regions on a 2-D grid at these epochs (2-D inputs).
    """

    paper = "importance_weighting"

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        num_classes: int = 2,
        in_shape: Sequence[int] = (3, 32, 32),
        optimizer: OptimizerCallable = torch.optim.SGD,
        ratios: Sequence[float] = POWERS_OF_4,
        reduction: Literal["n", "weight_sum"] = "weight_sum",
        normalize_weights: bool = False,
        weight_decays: Sequence[float] = (0.0,),
        up_class: int = 1,
        eval_per_decade: int = 10,
        eval_tail: int = 20,
        log_angles: bool = False,
        boundary_epochs: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        # Decided before the base class builds the stack: member_specs reads them.
        self.ratios = [float(r) for r in check_weights(ratios, "model.init_args.ratios")]
        self.weight_decays = [float(w) for w in weight_decays]
        if not self.weight_decays or any(not w >= 0 for w in self.weight_decays):
            raise ConfigValueError(f"model.init_args.weight_decays must be a non-empty list of values >= 0, got "
                                   f"{list(weight_decays)}")
        if reduction not in REDUCTIONS:
            raise ConfigValueError(f"model.init_args.reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if up_class not in (0, 1):
            raise ConfigValueError(f"model.init_args.up_class must be 0 or 1 (a binary task), got {up_class}")
        if log_angles and 1.0 not in self.ratios:
            raise ConfigValueError("model.init_args.log_angles measures angles to the unweighted solution: "
                                   "add ratio 1.0 to model.init_args.ratios")
        super().__init__(backbone, num_classes=num_classes, in_shape=in_shape, optimizer=optimizer, **kwargs)
        if num_classes != 2:
            raise ConfigValueError(f"{type(self).__name__} weighs two classes; the data has {num_classes} (use "
                                   "repro.data.binary.BinarySubsetDataModule, or a two-class source)")
        self.reduction, self.normalize_weights, self.up_class = reduction, normalize_weights, up_class
        self.eval_per_decade, self.eval_tail = eval_per_decade, eval_tail
        self.log_angles = log_angles
        self.boundary_epochs = list(boundary_epochs or [])
        specs = self.members or [{"ratio": self.ratios[0], "weight_decay": self.weight_decays[0]}]
        weights = torch.ones(len(specs), 2, dtype=torch.float64)
        weights[:, up_class] = torch.tensor([m["ratio"] for m in specs], dtype=torch.float64)
        self.register_buffer("raw_class_weights", weights.float(), persistent=False)
        self.register_buffer("class_weights", weights.float(), persistent=False)
        self.register_buffer("member_weight_decay", torch.tensor([m["weight_decay"] for m in specs]),
                             persistent=False)
        if log_angles:
            self.decision_vectors()  # a clear error now when the backbone is not linear

    # -- the members ------------------------------------------------------------------------------------
    def member_specs(self) -> list[dict]:
        """One member per (seed, weight decay, ratio); a single model when there is one of each and no stack."""
        combos = [(wd, r) for wd in self.weight_decays for r in self.ratios]
        if not self.stack_seeds and len(combos) == 1:
            return []
        seeds = self.stack_seeds or [run_seed()]
        return [{"seed": s, "weight_decay": wd, "ratio": r} for s in seeds for wd, r in combos]

    def unweighted_member_index(self) -> torch.Tensor:
        """For each member, the index of the ratio-1 member with its seed and weight decay."""
        specs = self.members or [{"seed": 0, "ratio": self.ratios[0], "weight_decay": self.weight_decays[0]}]
        where = {(m["seed"], m["weight_decay"]): i for i, m in enumerate(specs) if m["ratio"] == 1.0}
        return torch.tensor([where[(m["seed"], m["weight_decay"])] for m in specs])

    def decision_vectors(self) -> torch.Tensor:
        """Each member's augmented direction [w_up − w_other, b_up − b_other], (M, d + 1), for a linear backbone."""
        params = self.backbone.params() if self.stacked else dict(self.backbone.named_parameters())
        if set(params) != {"linear.weight", "linear.bias"}:
            raise ConfigValueError("model.init_args.log_angles needs the linear backbone "
                                   "repro.papers.importance_weighting.models.LinearModel, got parameters "
                                   f"{sorted(params)}")
        return decision_vector(self.member_axis(params["linear.weight"]), self.member_axis(params["linear.bias"]),
                               self.up_class)

    # -- the loss ---------------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        weights = self.raw_class_weights
        if self.normalize_weights:
            counts = self.trainer.datamodule.class_counts.to(weights.device)
            weights = normalize_to_mean_one(weights.double(), counts).to(weights.dtype)
        self.class_weights.copy_(weights)
        self.log_members({"weights/up": self.class_weights[:, self.up_class],
                          "weights/other": self.class_weights[:, 1 - self.up_class]}
                         if self.stacked else {"weights/up": self.class_weights[0, self.up_class],
                                               "weights/other": self.class_weights[0, 1 - self.up_class]})

    def member_losses(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every member's weighted cross-entropy in one call: (M,) for a stack, a scalar for one model."""
        losses = weighted_cross_entropy(self.member_axis(logits), batch["y"], self.class_weights, self.reduction)
        return losses if self.stacked else losses[0]

    def l2_penalties(self) -> torch.Tensor:
        """(λ_m/2)‖θ_m‖² per member, (M,) (a scalar for one model)."""
        if not bool((self.member_weight_decay > 0).any()):
            return torch.zeros(()) if not self.stacked else torch.zeros(self.num_members, device=self.device)
        if self.stacked:
            sq = sum(p.pow(2).flatten(1).sum(1) for p in self.backbone.params().values())
        else:
            sq = sum(p.pow(2).sum() for p in self.backbone.parameters()).unsqueeze(0)
        penalty = 0.5 * self.member_weight_decay.to(sq.dtype) * sq
        return penalty if self.stacked else penalty[0]

    def training_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return super().training_loss(batch) + self.l2_penalties().to(self.device)

    # -- what is logged ---------------------------------------------------------------------------------
    def eval_epochs(self, max_epochs: int) -> list[int]:
        return log_spaced_epochs(max_epochs, per_decade=self.eval_per_decade, tail=self.eval_tail)

    def configure_callbacks(self) -> list[pl.Callback]:
        callbacks = super().configure_callbacks()
        max_epochs = self.trainer.max_epochs if self._trainer is not None else 1
        epochs = self.eval_epochs(max(max_epochs or 1, 1))
        callbacks.append(PoolFractions(target_class=self.up_class, epochs=epochs))
        if self.log_angles:
            callbacks.append(AngleToUnweighted(epochs))
        if self.boundary_epochs:
            callbacks.append(BoundarySnapshots(self.boundary_epochs))
        return callbacks
