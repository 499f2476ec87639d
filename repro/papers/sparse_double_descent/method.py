"""Sparse double descent (He et al., ICML 2022, arXiv:2206.08684) and DSD² (Quétu & Tartaglione, AAAI 2024,
arXiv:2303.01213): iterative magnitude pruning of a network trained on noisy labels, without and with knowledge
distillation, with the ReLU-state entropy logged at every round.

One run is one IMP curve (``repro.training.pruning.IterativePruning``): round 0 trains the dense network for
``epochs_per_round`` epochs; each later round removes ``prune_rate`` of the remaining Conv/Linear weights by global
magnitude, restarts the optimizer and schedule and retrains (LR rewinding, DSD²'s schedule and the default; He
et al.'s Fig. 1 rewinds weights and schedule to step 1000: ``retrain: weight_rewind, rewind_step``). DSD² is the same
loop with the loss replaced by distillation from a frozen ``teacher`` (α·T²·KL + (1 − α)·CE on the noisy labels,
``repro.training.distillation``), a checkpoint another run of the study wrote — the best round of the vanilla
curve, ``rounds/best.ckpt``, or its dense round, ``rounds/dense.ckpt``::

    repro reproduce sparse_double_descent --scale quick    # digits MLP, vanilla vs DSD², minutes on a CPU
    repro reproduce sparse_double_descent --scale paper    # ResNet-18 on CIFAR-10, He et al. Fig. 1

Logged at every round end: ``test/accuracy`` (clean labels), ``train/accuracy`` (the noisy training labels),
``imp/round``, ``imp/sparsity`` and ``entropy/*`` (``repro.training.relu_entropy``). The claims and the report
read those per-round curves (``rounds.py``). This package's README.md has the papers, the studies and every
departure.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from repro.data.fixed_inputs import split_inputs
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.distillation import Teacher, check_distillation, distillation_loss
from repro.training.pruning import IterativePruning, check_pruning
from repro.training.relu_entropy import ReLUEntropy


class SparseDoubleDescent(Classifier):
    """IMP (vanilla), or IMP with distillation from a teacher (DSD²).

    Args (beyond :class:`~repro.training.classifier.Classifier`):
        rounds: pruning rounds after the dense one (30 in He et al., 34 in DSD²).
        epochs_per_round: the full training schedule, replayed every round (160).
        prune_rate: fraction of the remaining weights pruned per round, in (0, 1) (0.2).
        retrain: ``lr_rewind`` (default), ``weight_rewind``, ``finetune`` or ``scratch`` (He et al.'s modes).
        rewind_epoch, rewind_step, finetune_lr: for ``weight_rewind`` (``rewind_step``: lottery-ticket rewinding to
            a round-0 optimizer step, He et al.'s Fig. 1 at 1000) and ``finetune``.
        prune_exclude: weights left dense (e.g. ``[head.weight]``).
        best_metric: the round-end metric that picks the best round written to ``rounds/best.ckpt``.
        teacher: a checkpoint with ``backbone.*`` weights of the student's architecture; set, the loss is DSD²'s.
        alpha, temperature: α and T of the distillation loss (0.8 and 10).
        entropy: log the ReLU-state entropy of all training images at every round end.
    """

    paper = "sparse_double_descent"

    def __init__(self, backbone: BackboneFactory, *, rounds: int = 18, epochs_per_round: int = 300,
                 prune_rate: float = 0.2, retrain: str = "lr_rewind", rewind_epoch: int = 0,
                 rewind_step: int | None = None, finetune_lr: float | None = None, prune_exclude: tuple[str, ...] = (),
                 best_metric: str = "test/accuracy", teacher: str | None = None, alpha: float = 0.8,
                 temperature: float = 10.0, entropy: bool = True, **kwargs: Any) -> None:
        check_pruning(prune_rate, rounds, epochs_per_round, retrain)
        check_distillation(alpha, temperature)
        super().__init__(backbone, **kwargs)
        self.pruning = dict(rounds=rounds, epochs_per_round=epochs_per_round, rate=prune_rate, retrain=retrain,
                            rewind_epoch=rewind_epoch, rewind_step=rewind_step, finetune_lr=finetune_lr,
                            exclude=tuple(prune_exclude), monitor=best_metric)
        IterativePruning(**self.pruning)  # every pruning setting checked now, before any training
        self.teacher_path, self.alpha, self.temperature = teacher, alpha, temperature
        self.entropy = entropy
        self.teacher: Teacher | None = None  # read at fit start: the file does not exist while a study is planned

    def configure_callbacks(self) -> list[pl.Callback]:
        self.imp = IterativePruning(**self.pruning)  # kept: training_step asks it which batches to skip
        callbacks = [*super().configure_callbacks(), self.imp]
        if self.entropy:
            callbacks.append(ReLUEntropy(every_n_epochs=self.pruning["epochs_per_round"]))
        return callbacks

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        if self.pruning["rewind_step"] is not None and self.imp.skips(self.trainer, batch_idx):
            return None  # before the rewind point of a lottery-ticket round: no step (Lightning skips the batch)
        return super().training_step(batch, batch_idx)

    def on_fit_start(self) -> None:
        if not self.teacher_path:
            return
        self.teacher = Teacher.from_checkpoint(self.teacher_path, like=self.backbone)
        data = self.trainer.datamodule
        if not getattr(data, "augment", True):  # fixed inputs: the teacher's logits once, served by example index
            param = next(self.backbone.parameters())
            self.teacher.cache(split_inputs(data, "train", device=param.device, dtype=param.dtype))

    def member_losses(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.teacher is None:
            return super().member_losses(logits, batch)
        teacher_logits = self.teacher.cached(batch["index"]) if "index" in batch else None
        if teacher_logits is None:
            teacher_logits = self.teacher(batch["x"])
        # one model: a scalar; a stack: the (M,) members' losses in one pass
        return distillation_loss(logits, teacher_logits, batch["y"], alpha=self.alpha, temperature=self.temperature)
