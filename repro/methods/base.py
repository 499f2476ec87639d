"""Classifier: the training loop every paper shares.

A paper's module subclasses it and overrides small named hooks — ``loss``, ``derived_metrics``,
``on_train_epoch_start`` — never the loop. Run one from YAML::

    repro fit --config configs/double_descent/quick.yaml
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from repro.errors import ReproError

# A backbone is built from (num_classes, in_shape) plus its own config keys (width, depth, ...):
# the data decides the first two, so a YAML never repeats them.
BackboneFactory = Callable[[int, Sequence[int]], nn.Module]


class SplitMetrics(nn.Module):
    """Error and loss of one evaluated split, against the training labels and the clean labels."""

    def __init__(self, num_classes: int, per_class: bool = False) -> None:
        super().__init__()
        # Per-class accuracy against the clean labels (for imbalanced data: balanced error, head/tail).
        self.class_accuracy = MulticlassAccuracy(num_classes, average=None) if per_class else None
        self.accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.accuracy_clean = MulticlassAccuracy(num_classes, average="micro")
        self.loss = MeanMetric()

    def update(self, logits: torch.Tensor, y: torch.Tensor, y_clean: torch.Tensor) -> None:
        self.accuracy.update(logits, y)
        self.accuracy_clean.update(logits, y_clean)
        if self.class_accuracy is not None:
            self.class_accuracy.update(logits, y_clean)
        self.loss.update(F.cross_entropy(logits.float(), y, reduction="none"))

    def compute(self) -> dict[str, torch.Tensor]:
        out = {
            "error": 1 - self.accuracy.compute(),
            "error_clean": 1 - self.accuracy_clean.compute(),
            "loss": self.loss.compute(),
        }
        if self.class_accuracy is not None:
            out["class_accuracy"] = self.class_accuracy.compute()
        return out

    def reset(self) -> None:
        for m in (self.accuracy, self.accuracy_clean, self.loss, self.class_accuracy):
            if m is not None:
                m.reset()


def per_class_summary(split: str, class_accuracy: torch.Tensor) -> dict[str, float]:
    """``<split>/balanced_error`` (1 − mean per-class accuracy), ``<split>/acc_class<j>`` and
    ``<split>/acc_{head,medium,tail}``: the first, middle and last thirds of the classes by index
    (class 0 is the head of a long-tailed split, Cao et al. 2019)."""
    acc = [float(a) for a in class_accuracy]
    c, k = len(acc), max(len(acc) // 3, 1)
    out = {f"{split}/balanced_error": 1 - sum(acc) / c}
    out.update({f"{split}/acc_class{j}": a for j, a in enumerate(acc)})
    groups = {"head": acc[:k], "medium": acc[k : c - k] or acc[k:], "tail": acc[c - k :]}
    out.update({f"{split}/acc_{g}": sum(v) / len(v) for g, v in groups.items()})
    return out


class Classifier(pl.LightningModule):
    """Supervised classification with cross-entropy, evaluated on every split the data offers.

    Args:
        backbone: the network, as ``class_path`` + ``init_args`` (``num_classes`` and ``in_shape``
            come from the datamodule).
        num_classes: set from the datamodule by the CLI.
        in_shape: shape of one example, set from the datamodule by the CLI.
        optimizer: optimizer class and arguments (default Adam).
        lr_scheduler: optional learning-rate schedule.
        scheduler_interval: step the schedule every ``epoch`` or every ``step``.
        channels_last: NHWC memory layout for convnets (faster with bf16 on GPUs).
        compile: ``torch.compile`` the backbone.
        compile_mode: ``torch.compile``'s mode; ``reduce-overhead`` captures CUDA graphs, which removes
            the per-kernel launch cost that bounds small models' steps on a GPU.
        nan_check_every: check the training loss for NaN/inf every this many steps (each check syncs
            the device, so not every step).
        per_class_metrics: also log balanced error, per-class and head/medium/tail accuracy (imbalanced data).
        stack_seeds: train one member per seed as one batched model (``repro.stacking``): each member's
            backbone is built under its own seed, every member sees the same batches, the loss is the sum
            of the members' losses (so each gets exactly its own gradient), and an element-wise optimizer
            over the stacked parameters is N independent optimizers. Metrics are logged per member as
            ``member<i>/<metric>`` (the study runner turns them into one row per seed) and as the
            members' mean. For small models, whose single runs leave the hardware idle.

    Logged metrics: ``fit/loss`` every step; ``<split>/error``, ``<split>/loss`` and, for the
    training split, ``train/error_clean`` after every validation pass.
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        num_classes: int = 10,
        in_shape: Sequence[int] = (3, 32, 32),
        optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        channels_last: bool = False,
        compile: bool = False,
        compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "default",
        nan_check_every: int = 50,
        per_class_metrics: bool = False,
        stack_seeds: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "optimizer", "lr_scheduler"])
        self.num_classes = num_classes
        self.in_shape = tuple(in_shape)
        self.stack_seeds = list(stack_seeds) if stack_seeds else []
        if self.stack_seeds:
            self.backbone = self._stacked_backbone(backbone, channels_last, compile)
        else:
            self.backbone = self.build_backbone(backbone)
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.scheduler_interval = scheduler_interval
        self.channels_last = channels_last
        self.compile = compile
        self.compile_mode = compile_mode
        self.nan_check_every = nan_check_every
        # ModuleDict keys must not shadow nn.Module attributes ("train"), hence the prefix.
        self.split_metrics = nn.ModuleDict(
            {f"split_{s}{m}": SplitMetrics(num_classes, per_class_metrics)
             for s in ("val", "test", "train") for m in self._member_suffixes()}
        )
        if channels_last and not self.stack_seeds:
            self.backbone = self.backbone.to(memory_format=torch.channels_last)

    # -- stacked members ---------------------------------------------------------------------------------
    @property
    def members(self) -> list[dict]:
        """One dict per stacked member (``[{"seed": 0}, ...]``); empty for a single model."""
        return [{"seed": s} for s in self.stack_seeds]

    def _member_suffixes(self) -> list[str]:
        return [f"_m{i}" for i in range(len(self.stack_seeds))] or [""]

    def _stacked_backbone(self, factory: BackboneFactory, channels_last: bool, compile: bool) -> nn.Module:
        from repro.stacking import StackedModules

        if type(self).forward is not Classifier.forward:
            raise ReproError(f"model.init_args.stack_seeds: {type(self).__name__} overrides forward, so its "
                             "members cannot be stacked; train the seeds as separate runs")
        if channels_last or compile:
            raise ReproError("model.init_args.stack_seeds works with channels_last: false and compile: false "
                             "(a stacked model runs under torch.vmap)")
        if len(set(self.stack_seeds)) != len(self.stack_seeds):
            raise ReproError(f"model.init_args.stack_seeds must be distinct, got {self.stack_seeds}")
        members = []
        for seed in self.stack_seeds:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                members.append(self.build_backbone(factory))
        return StackedModules(members)

    # -- hooks a paper overrides -----------------------------------------------------------------------
    def build_backbone(self, factory: BackboneFactory) -> nn.Module:
        """The network from its factory (called once per stacked member, under the member's seed)."""
        return factory(self.num_classes, self.in_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.backbone(x)

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Training loss of a batch. Default: cross-entropy against the (possibly noisy) labels."""
        return F.cross_entropy(logits, batch["y"])

    def derived_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Metrics computed from the evaluated ones (e.g. a rescaled error). Default: none."""
        return {}

    # -- the loop ---------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        # Lightning calls this once per fit/validate; compile once.
        if self.compile and not hasattr(self.backbone, "_orig_mod"):
            self.backbone = torch.compile(self.backbone, mode=self.compile_mode)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self(batch["x"])
        if not self.stack_seeds:
            loss = self.loss(logits, batch)
            self._check_finite(loss)
            self.log("fit/loss", loss, on_step=True, on_epoch=False)
            return loss
        losses = torch.stack([self.loss(member_logits, batch) for member_logits in logits])
        self._check_finite(losses.sum())
        self.log_dict({f"member{i}/fit/loss": v for i, v in enumerate(losses)}, on_step=True, on_epoch=False)
        self.log("fit/loss", losses.mean(), on_step=True, on_epoch=False)
        return losses.sum()  # member i's parameters get exactly the gradient of member i's loss

    def _check_finite(self, loss: torch.Tensor) -> None:
        if self.nan_check_every and self.global_step % self.nan_check_every == 0 and not torch.isfinite(loss):
            raise ReproError(
                f"training loss became {loss.item()} at step {self.global_step}; the run diverged. "
                "Lower the learning rate (model.init_args.optimizer.init_args.lr) or use fp32 "
                "(trainer.precision=32-true). Finished runs are kept."
            )

    def metrics_of(self, split: str, member: int | None = None) -> SplitMetrics:
        return self.split_metrics[f"split_{split}" + ("" if member is None else f"_m{member}")]

    def _update_metrics(self, split: str, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        if not self.stack_seeds:
            self.metrics_of(split).update(logits, batch["y"], batch["y_clean"])
            return
        for i, member_logits in enumerate(logits):
            self.metrics_of(split, i).update(member_logits, batch["y"], batch["y_clean"])

    def _eval_split(self, dataloader_idx: int) -> str:
        splits = getattr(self.trainer.datamodule, "eval_splits", ("val",))
        return splits[dataloader_idx]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        self._update_metrics(self._eval_split(dataloader_idx), self(batch["x"]), batch)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._update_metrics("test", self(batch["x"]), batch)

    def _log_splits(self, splits: Sequence[str]) -> None:
        if not self.stack_seeds:
            self.log_dict(self._split_values(splits), sync_dist=False)  # torchmetrics already reduced across ranks
            return
        per_member = [self._split_values(splits, i) for i in range(len(self.stack_seeds))]
        values = {f"member{i}/{k}": v for i, vals in enumerate(per_member) for k, v in vals.items()}
        values.update({k: sum(vals[k] for vals in per_member) / len(per_member) for k in per_member[0]})
        self.log_dict(values, sync_dist=False)

    def _split_values(self, splits: Sequence[str], member: int | None = None) -> dict[str, float]:
        values: dict[str, float] = {}
        for split in splits:
            computed = self.metrics_of(split, member).compute()
            self.metrics_of(split, member).reset()
            values[f"{split}/error"] = float(computed["error"])
            values[f"{split}/loss"] = float(computed["loss"])
            if split == "train":
                values["train/error_clean"] = float(computed["error_clean"])
            if "class_accuracy" in computed:
                values.update(per_class_summary(split, computed["class_accuracy"]))
        values.update(self.derived_metrics(values))
        return values

    def on_validation_epoch_end(self) -> None:
        self._log_splits(getattr(self.trainer.datamodule, "eval_splits", ("val",)))

    def on_test_epoch_end(self) -> None:
        self._log_splits(("test",))

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.lr_scheduler_factory is None:
            return optimizer
        scheduler = self.lr_scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval}}
