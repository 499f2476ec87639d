"""Classifier: the training loop every paper shares.

A paper's module subclasses it and overrides small named hooks, never the loop:

- ``build_backbone(factory)`` — the network (called once per stacked member, under the member's seed);
- ``member_specs()`` — the stacked members (default: one per seed of ``stack_seeds``); a module whose members
  differ in more than the seed (a loss weight per member, say) lists them here;
- ``training_loss(batch)`` — the batch's training loss (default: forward, then ``loss``); a method that mixes
  inputs or hidden states, or adds a second loss term, overrides this one;
- ``loss(logits, batch)`` — the loss of given logits (default: cross-entropy against the training labels);
- ``derived_metrics(metrics)`` — metrics computed from the evaluated ones;
- Lightning's own hooks (``on_train_epoch_start``, ``configure_callbacks``, ...).

Optimizer and schedule come from the YAML (LightningCLI's ``optimizer`` / ``lr_scheduler`` callables), the NaN
check and seed stacking from here. Run one from YAML::

    repro fit --config configs/<paper>/quick.yaml

The file is longer than 300 lines because the loop, its hooks and the stacked-member bookkeeping they share are
one unit a paper author reads together; the metric naming and stacking helpers already live beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from repro.errors import ConfigValueError, ReproError
from repro.training.metrics import SplitMetrics, per_class_summary

__all__ = ["BackboneFactory", "Classifier"]

# A backbone is built from (num_classes, in_shape) plus its own config keys (width, depth, ...):
# the data decides the first two, so a YAML never repeats them.
BackboneFactory = Callable[[int, Sequence[int]], nn.Module]


class Classifier(pl.LightningModule):
    """Supervised classification with cross-entropy, evaluated on every split the data offers.

    Args:
        backbone: the network, as ``class_path`` + ``init_args`` (``num_classes`` and ``in_shape``
            come from the datamodule).
        num_classes: set from the datamodule by the CLI.
        in_shape: shape of one example, set from the datamodule by the CLI.
        optimizer: optimizer class and arguments (default Adam).
        lr_scheduler: optional learning-rate schedule (e.g. ``repro.training.optim.WarmupMultiStepLR``).
        scheduler_interval: advance the schedule every ``epoch`` or every ``step``.
        channels_last: NHWC memory layout for convnets, applied when the run trains on a CUDA device (faster with
            bf16 there); ignored on a CPU, where it is slower and some torch CPU kernels crash on it.
        compile: ``torch.compile`` the backbone.
        compile_mode: ``torch.compile``'s mode; ``reduce-overhead`` captures CUDA graphs, which removes
            the per-kernel launch cost that bounds small models' steps on a GPU.
        nan_check_every: check the training loss for NaN/inf every this many steps (each check syncs
            the device, so not every step).
        per_class_metrics: also log balanced error, per-class and head/medium/tail accuracy (imbalanced data).
        log_fit_error: also log ``fit/error``, the error on each training batch, with ``fit/loss``.
        track_best: metrics whose best value over the validation passes is logged as ``<metric>_best`` (and
            ``<metric>_best_epoch``), each ``min`` or ``max`` (e.g. ``{test/balanced_error: min}``).
        checkpoint_best: save ``checkpoints/best.ckpt`` at the best value of this metric (its mode from
            ``track_best``, else ``min``), an output other runs of a study can take as input.
        init_jitter: multiply every initial parameter by (1 + init_jitter·ε), ε ~ N(0, 1) from a stream of its own:
            a last-bits perturbation of the starting point that stands in for another machine's floating point
            (the robustness check's ``perturbation: {jitter: 1e-7}``); 0 leaves the initialisation alone.
        stack_seeds: train one member per seed as one batched model (``repro.training.stacking``): each
            member's backbone is built under its own seed, every member sees the same batches, the loss is the
            sum of the members' losses (so each gets exactly its own gradient), and an element-wise optimizer
            over the stacked parameters is N independent optimizers. Metrics are logged per member as
            ``member<i>/<metric>`` (the study runner turns them into one row per seed) and as the members'
            mean. For small models, whose single runs leave the hardware idle. A module can stack members that
            differ in more than the seed by overriding ``member_specs``.

    Logged metrics: ``fit/loss`` (and ``fit/error``) every ``trainer.log_every_n_steps`` steps;
    ``<split>/accuracy``, ``<split>/error``, ``<split>/loss`` and ``train/error_clean`` after every
    validation pass (``repro.training.metrics``).
    """

    #: The paper a module reproduces (names its W&B project when no study does); a paper's module sets it.
    paper: str | None = None

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
        log_fit_error: bool = False,
        track_best: dict[str, Literal["min", "max"]] | None = None,
        checkpoint_best: str | None = None,
        init_jitter: float = 0.0,
        stack_seeds: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "optimizer", "lr_scheduler"])
        self.num_classes = num_classes
        self.in_shape = tuple(in_shape)
        self.stack_seeds = list(stack_seeds) if stack_seeds is not None else []
        if stack_seeds is not None and not self.stack_seeds:
            raise ConfigValueError("model.init_args.stack_seeds is an empty list; list the seeds, or drop the key")
        self._members = [dict(m) for m in self.member_specs()]
        if self._members:
            self.backbone = self._stacked_backbone(backbone, channels_last, compile)
        else:
            self.backbone = self.build_backbone(backbone)
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.scheduler_interval = scheduler_interval
        self.channels_last_requested = channels_last
        self.channels_last = False  # in effect: set by configure_model on a CUDA device only
        self.compile = compile
        self.compile_mode = compile_mode
        self.nan_check_every = nan_check_every
        self.log_fit_error = log_fit_error
        self.track_best = dict(track_best or {})
        bad = {k: v for k, v in self.track_best.items() if v not in ("min", "max")}
        if bad:
            raise ConfigValueError(f"model.init_args.track_best: each metric is min or max, got {bad}")
        self.checkpoint_best = checkpoint_best
        self.log_step = 0  # the step this batch's metrics belong to (callbacks log after the update)
        # ModuleDict keys must not shadow nn.Module attributes ("train"), hence the prefix.
        self.split_metrics = nn.ModuleDict(
            {f"split_{s}{m}": SplitMetrics(num_classes, per_class_metrics)
             for s in ("val", "test", "train") for m in self._member_suffixes()}
        )
        if init_jitter < 0:
            raise ConfigValueError(f"model.init_args.init_jitter must be >= 0, got {init_jitter}")
        if init_jitter:
            self._jitter(init_jitter)

    @torch.no_grad()
    def _jitter(self, scale: float) -> None:
        from repro.data.seeds import draw_seed

        gen = torch.Generator().manual_seed(draw_seed(None, "init_jitter"))
        for p in self.parameters():
            p.mul_(1 + scale * torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype))

    # -- stacked members ---------------------------------------------------------------------------------
    @property
    def stacked(self) -> bool:
        return bool(self._members)

    def member_specs(self) -> list[dict]:
        """The stacked members, one dict each, in stack order: its ``seed`` (its backbone is built under it) and
        whatever else sets it apart (the study runner makes each a row with these keys). Default: one member per
        seed of ``stack_seeds``; empty for a single model. Called once, before the backbone is built."""
        return [{"seed": s} for s in self.stack_seeds]

    @property
    def members(self) -> list[dict]:
        """One dict per stacked member (``[{"seed": 0}, ...]``); empty for a single model."""
        return [dict(m) for m in self._members]

    @property
    def num_members(self) -> int:
        return len(self._members) or 1

    def member_axis(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` with a leading member axis: (M, ...) for a stack already, (1, ...) for a single model."""
        return t if self.stacked else t.unsqueeze(0)

    def metric_names(self, name: str) -> list[str]:
        return [f"member{i}/{name}" for i in range(self.num_members)] if self.stacked else [name]

    def _member_suffixes(self) -> list[str]:
        return [f"_m{i}" for i in range(len(self._members))] or [""]

    def _stacked_backbone(self, factory: BackboneFactory, channels_last: bool, compile: bool) -> nn.Module:
        from repro.training.stacking import StackedModules

        if channels_last or compile:
            raise ConfigValueError("model.init_args.stack_seeds works with channels_last: false and compile: false "
                                   "(a stacked model runs under torch.vmap)")
        if len(set(self.stack_seeds)) != len(self.stack_seeds):
            raise ConfigValueError(f"model.init_args.stack_seeds must be distinct, got {self.stack_seeds}")
        keys = [tuple(sorted((k, repr(v)) for k, v in m.items())) for m in self._members]
        if len(set(keys)) != len(keys) or any("seed" not in m for m in self._members):
            raise ConfigValueError(f"{type(self).__name__}: the stacked members must be distinct and each name its "
                                   f"seed, got {self._members}")
        members = []
        for member in self._members:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(member["seed"])
                members.append(self.build_backbone(factory))
        return StackedModules(members)

    def log_members(self, values: dict[str, torch.Tensor], shared: dict[str, torch.Tensor] | None = None) -> None:
        """Write per-step values (each a (M,) tensor, or a scalar for a single model) under their member names
        at this batch's step, straight to the loggers in one device→host copy; ``shared`` values (e.g. the
        members' mean) go in the same record under their plain names, so a member's own W&B run keeps its own
        value where both exist.

        ``self.log`` costs about 1 ms a call (a small model's step takes a few ms on a CPU), and it would repeat
        a value logged only at some steps at every later step of an endless epoch.
        """
        if self.trainer is None or not self.trainer.is_global_zero or not values:
            return
        shared = shared or {}
        flat = torch.cat([v.detach().float().reshape(-1) for v in (*values.values(), *shared.values())]).tolist()
        out, i = {}, 0
        for name in values:
            for n in self.metric_names(name):
                out[n], i = flat[i], i + 1
        for name in shared:
            out[name], i = flat[i], i + 1
        for logger in self.trainer.loggers:
            logger.log_metrics(out, step=self.log_step)

    # -- hooks a paper overrides -----------------------------------------------------------------------
    def build_backbone(self, factory: BackboneFactory) -> nn.Module:
        """The network from its factory (called once per stacked member, under the member's seed)."""
        return factory(self.num_classes, self.in_shape)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Logits, (N, C) for one model and (M, N, C) for a stack; ``kwargs`` go to the backbone."""
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.backbone(x, **kwargs)

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Training loss of one model's logits. Default: cross-entropy against the (possibly noisy) labels."""
        return F.cross_entropy(logits, batch["y"])

    def member_losses(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``loss`` of each stacked member, (M,); the plain ``loss`` for a single model."""
        if not self.stacked:
            return self.loss(logits, batch)
        return torch.stack([self.loss(member_logits, batch) for member_logits in logits])

    def training_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of one training batch — a scalar, or the (M,) members' losses of a stack. Default: the
        forward pass, then ``loss`` (and the batch error, with ``log_fit_error``)."""
        logits = self(batch["x"])
        if self.log_fit_error and self._logging_step():
            errors = (logits.argmax(-1) != batch["y"]).float().mean(-1)
            self.log_members({"fit/error": errors})
        return self.member_losses(logits, batch)

    def derived_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Metrics computed from the evaluated ones (e.g. a rescaled error). Default: none."""
        return {}

    # -- the loop ---------------------------------------------------------------------------------------
    def configure_callbacks(self) -> list[pl.Callback]:
        """The shared loop's own callbacks; a paper's module extends this list (``super().configure_callbacks()``)."""
        from repro.training.callbacks import BestCheckpoint, BestMetrics

        callbacks: list[pl.Callback] = []
        if self.track_best:
            callbacks.append(BestMetrics(self.track_best))
        if self.checkpoint_best:
            callbacks.append(BestCheckpoint(self.checkpoint_best, self.track_best.get(self.checkpoint_best, "min")))
        return callbacks

    def configure_model(self) -> None:
        # Lightning calls this once per fit/validate, before the weights move to the device (which keeps the
        # memory format) and before a checkpoint is restored (copied into the same layout); compile once.
        if self.channels_last_requested and not self.channels_last and self._trains_on_cuda():
            self.channels_last = True
            self.backbone = self.backbone.to(memory_format=torch.channels_last)
        if self.compile and not hasattr(self.backbone, "_orig_mod"):
            self.backbone = torch.compile(self.backbone, mode=self.compile_mode)

    def _trains_on_cuda(self) -> bool:
        return self._trainer is not None and self.trainer.strategy.root_device.type == "cuda"

    def _logging_step(self) -> bool:
        every = self.trainer.log_every_n_steps if self._trainer is not None else 1
        return self.global_step % max(every, 1) == 0

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        self.log_step = self.global_step
        losses = self.training_loss(batch)
        loss = losses.sum()  # a stack: member i's parameters get exactly the gradient of member i's loss
        self._check_finite(loss)
        if self.stacked:  # the members' own losses and their mean, in one record; Lightning's copy feeds the bar
            if self._logging_step():
                self.log_members({"fit/loss": losses}, shared={"fit/loss": losses.mean()})
            self.log("fit/loss", losses.mean(), on_step=True, on_epoch=False, prog_bar=True, logger=False)
        else:
            self.log("fit/loss", loss, on_step=True, on_epoch=False, prog_bar=True)
        return loss

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
        if not self.stacked:
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
        if not self.stacked:
            self.log_dict(self._split_values(splits), sync_dist=False)  # torchmetrics already reduced across ranks
            return
        per_member = [self._split_values(splits, i) for i in range(len(self._members))]
        values = {f"member{i}/{k}": v for i, vals in enumerate(per_member) for k, v in vals.items()}
        values.update({k: sum(vals[k] for vals in per_member) / len(per_member) for k in per_member[0]})
        self.log_dict(values, sync_dist=False)

    def _split_values(self, splits: Sequence[str], member: int | None = None) -> dict[str, float]:
        values: dict[str, float] = {}
        for split in splits:
            metrics = self.metrics_of(split, member)
            if not metrics.accuracy.update_count:  # a split this pass did not evaluate
                continue
            computed = metrics.compute()
            metrics.reset()
            for key in ("accuracy", "error", "loss"):
                values[f"{split}/{key}"] = float(computed[key])
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
