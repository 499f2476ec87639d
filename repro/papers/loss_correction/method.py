"""Loss correction for class-dependent label noise (Patrini et al., "Making Deep Neural Networks Robust to Label
Noise: a Loss Correction Approach", CVPR 2017, arXiv:1609.03683).

One module, every row of the paper's tables by config::

    loss: ce | forward | backward | unhinged | sigmoid | savage | boot_soft
    transition: true | <a stage-1 run's T̂ file> | [[...], ...]     (forward and backward only)

The two-stage pipeline is two runs of a study: stage 1 trains with ``loss: ce`` and ``estimate_transition: true``;
with the best noisy-validation checkpoint restored it computes its softmax over every training input (train and
validation, no labels) and writes the anchor-point estimates of T (``estimator.py``) into its run folder:
``T_hat_percentile.json`` (the 97th-percentile variant) and ``T_hat_argmax.json`` (the plain argmax). A stage-2 run,
a freshly initialised model, takes one as ``transition: {from_run: {method: CE}, file: T_hat_percentile.json}``;
``transition: true`` uses the matrix the noise was drawn from (the "T known" rows).

Model selection as in the paper's code: every run logs ``val/objective``, its own (corrected) training loss on the
*noisy* validation labels, saves the weights at its minimum (``checkpoint_best: val/objective``) and restores them
when training ends, so the final evaluation — ``test/accuracy`` on clean test labels — is of the selected model.
Unhinged and sigmoid get a BatchNorm on the logits (their scores must be bounded). See README.md for the paper,
the studies and every departure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torchmetrics import MeanMetric

from repro.atomic import write_text
from repro.data.loaders import DeviceLoader
from repro.errors import ConfigValueError, ReproError
from repro.papers.loss_correction.estimator import anchor_transition, transition_error
from repro.papers.loss_correction.losses import (
    backward_loss,
    check_transition,
    clipped_cross_entropy,
    forward_loss,
    inverse_transition,
)
from repro.training.callbacks import BestCheckpoint
from repro.training.classifier import BackboneFactory, Classifier
from repro.training.noise_robust_losses import savage_loss, sigmoid_loss, soft_bootstrap_loss, unhinged_loss

LOSSES = ("ce", "forward", "backward", "unhinged", "sigmoid", "savage", "boot_soft")
CORRECTED = ("forward", "backward")
BOUNDED = ("unhinged", "sigmoid")  # the code puts a BatchNorm on their logits
ESTIMATE_FILES = {"percentile": "T_hat_percentile.json", "argmax": "T_hat_argmax.json"}
OBJECTIVE = "val/objective"


class LossCorrection(Classifier):
    """Classifier trained with a loss-corrected or noise-robust loss; stage 1 of the pipeline estimates T.

    Args (beyond :class:`~repro.training.classifier.Classifier`):
        loss: ``ce``; ``forward`` / ``backward`` (corrected with ``transition``); the baselines ``unhinged``,
            ``sigmoid``, ``savage``, ``boot_soft`` (soft bootstrapping with ``bootstrap_beta``).
        transition: the noise matrix of the corrected losses: ``"true"`` (the datamodule's, the one the labels were
            drawn from), the path of a T̂ file a stage-1 run wrote, or the matrix itself.
        estimate_transition: at the end of training write the T̂ files and log their error against the true T.
        estimator_percentile: the robust anchor's outlier percentile (97); ``null``: ``T_hat_percentile.json`` holds
            the plain argmax anchors too (the code's CIFAR-100 choice). The argmax variant is always written.
        estimator_in_place_outliers: the original estimator's in-place zeroing (``estimator.py``; default, as in
            the code); ``false`` filters each column on a clean copy.
        logit_batchnorm: BatchNorm1d on the logits (ε 1e-3, momentum 0.01); default: for unhinged and sigmoid.
        bootstrap_beta: β of soft bootstrapping (0.95).
        decay_kernels_only: the optimizer's weight decay on weight matrices and conv kernels only (ndim > 1), not on
            biases or BatchNorm (Keras' per-layer ``kernel_regularizer``).
        restore_best: reload the best ``checkpoint_best`` weights when training ends (the paper's model selection).
        init_weights: start from the weights of this checkpoint (e.g. another run's ``checkpoints/best.ckpt``, to
            fine-tune it), loaded when a fit starts afresh (a resumed run keeps its own).

    Logged besides the shared metrics: ``val/objective``; with a transition ``noise/T_l1`` (mean row-wise L1 error
    of the matrix in use against the true T) and ``noise/T_condition``; after an estimate ``noise/T_hat_l1``,
    ``noise/T_hat_l1_noisy_rows``, ``noise/T_hat_condition`` and ``noise/T_hat_argmax_l1``.
    """

    paper = "loss_correction"

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        num_classes: int = 10,
        in_shape: Sequence[int] = (64,),
        loss: Literal["ce", "forward", "backward", "unhinged", "sigmoid", "savage", "boot_soft"] = "ce",
        transition: str | list[list[float]] | None = None,
        estimate_transition: bool = False,
        estimator_percentile: float | None = 97.0,
        estimator_in_place_outliers: bool = True,
        logit_batchnorm: bool | None = None,
        bootstrap_beta: float = 0.95,
        decay_kernels_only: bool = False,
        restore_best: bool = True,
        checkpoint_best: str | None = OBJECTIVE,
        init_weights: str | None = None,
        **kwargs: Any,
    ) -> None:
        if loss not in LOSSES:
            raise ConfigValueError(f"model.init_args.loss must be one of {LOSSES}, got {loss!r}")
        if (loss in CORRECTED) != (transition is not None):
            raise ConfigValueError(
                f"model.init_args.transition: loss {loss!r} " + ("needs a noise matrix: 'true' (the one the labels "
                "were drawn from), a stage-1 run's T̂ file, or the matrix" if loss in CORRECTED else
                "uses no noise matrix; drop the transition key or use loss: forward / backward"))
        if kwargs.get("stack_seeds"):
            raise ConfigValueError("model.init_args.stack_seeds: this module trains one model per run (its validation "
                                   "objective and T̂ are per model); give the seeds as a grid axis instead")
        if not 0 <= bootstrap_beta <= 1:
            raise ConfigValueError(f"model.init_args.bootstrap_beta must be in [0, 1], got {bootstrap_beta}")
        self.loss_name = loss
        self.logit_batchnorm = loss in BOUNDED if logit_batchnorm is None else logit_batchnorm
        super().__init__(backbone, num_classes=num_classes, in_shape=in_shape, checkpoint_best=checkpoint_best,
                         **kwargs)
        self.transition_spec = transition
        self.estimate_transition = estimate_transition
        self.estimator_percentile = estimator_percentile
        self.estimator_in_place_outliers = estimator_in_place_outliers
        self.bootstrap_beta = bootstrap_beta
        self.decay_kernels_only = decay_kernels_only
        self.restore_best = restore_best
        self.init_weights = init_weights
        if restore_best and not checkpoint_best:
            raise ConfigValueError("model.init_args.restore_best needs checkpoint_best (the metric to select on)")
        self.register_buffer("T", torch.eye(num_classes), persistent=False)
        self.register_buffer("T_inv", torch.eye(num_classes), persistent=False)
        self.objective = MeanMetric()
        self.estimates: dict[str, dict[str, float]] = {}
        if isinstance(transition, list):  # given inline: check it now, before any training
            self._set_transition(transition)

    # -- the network and the loss ------------------------------------------------------------------------
    def build_backbone(self, factory) -> nn.Module:
        network = super().build_backbone(factory)
        if self.logit_batchnorm:
            network = nn.Sequential(network, nn.BatchNorm1d(self.num_classes, eps=1e-3, momentum=0.01))
        return network

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        y = batch["y"]
        if self.loss_name == "forward":
            return forward_loss(logits, y, self.T)
        if self.loss_name == "backward":
            return backward_loss(logits, y, self.T_inv)
        if self.loss_name == "unhinged":
            return unhinged_loss(logits, y)
        if self.loss_name == "sigmoid":
            return sigmoid_loss(logits, y)
        if self.loss_name == "savage":
            return savage_loss(logits, y)
        if self.loss_name == "boot_soft":
            return soft_bootstrap_loss(logits, y, self.bootstrap_beta)
        return clipped_cross_entropy(logits, y)

    def _set_transition(self, spec) -> None:
        what = "model.init_args.transition"
        if isinstance(spec, str) and spec != "true":
            path = Path(spec)
            if not path.is_file():
                raise ReproError(f"{what}: no T̂ file at {path}; it is written by a stage-1 run with "
                                 "estimate_transition: true")
            spec, what = json.loads(path.read_text())["T_hat"], f"{what} (from {path})"
        elif spec == "true":
            spec, what = self.true_transition(), f"{what}: true (data.init_args.noise_kind, label_noise)"
        T = check_transition(spec, self.num_classes, what)
        self.T.copy_(T)
        if self.loss_name == "backward":
            self.T_inv.copy_(inverse_transition(T, what))

    def known_transition(self) -> torch.Tensor | None:
        """The matrix the labels were drawn from, or ``None`` for data with real noise (no known T)."""
        datamodule = self.trainer.datamodule if self._trainer is not None else None
        return getattr(datamodule, "T", None)

    def true_transition(self) -> torch.Tensor:
        T = self.known_transition()
        if T is None:
            raise ReproError("model.init_args.transition: true needs a datamodule with a noise matrix T "
                             "(repro.data.core.TensorDataModule with label_noise); real noise has none, use a "
                             "stage-1 run's T̂ file")
        return T

    def on_fit_start(self) -> None:
        if self.transition_spec is not None:
            self._set_transition(self.transition_spec)  # a stage-1 file exists only now, not while the study plans
        if self.init_weights is not None and self.trainer.ckpt_path is None:  # not over a resumed run's weights
            path = Path(self.init_weights)
            if not path.is_file():
                raise ReproError(f"model.init_args.init_weights: no checkpoint at {path}; it is written by the run "
                                 "it names (checkpoint_best)")
            state = torch.load(path, map_location=self.device, weights_only=False)["state_dict"]
            self.load_state_dict(state)

    def configure_optimizers(self):
        if not self.decay_kernels_only:
            return super().configure_optimizers()
        kernels = [p for p in self.parameters() if p.ndim > 1]
        others = [p for p in self.parameters() if p.ndim <= 1]
        optimizer = self.optimizer_factory([{"params": kernels}, {"params": others, "weight_decay": 0.0}])
        if self.lr_scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_scheduler_factory(optimizer),
                                                         "interval": self.scheduler_interval}}

    # -- model selection on the noisy validation set ----------------------------------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        logits = self(batch["x"])
        split = self._eval_split(dataloader_idx)
        self._update_metrics(split, logits, batch)
        if split == "val":
            self.objective.update(self.loss(logits, batch).detach().float(), weight=len(batch["y"]))

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        if self.objective.update_count:
            self.log(OBJECTIVE, self.objective.compute(), sync_dist=False)
            self.objective.reset()

    def derived_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.loss_name in CORRECTED and self._trainer is not None:
            known = self.known_transition()
            if known is None:
                out["noise/T_condition"] = float(torch.linalg.cond(self.T.double().cpu()))
            else:
                err = transition_error(self.T.double().cpu(), known)
                out.update({"noise/T_l1": err["l1"], "noise/T_condition": err["condition_number"]})
        if self.estimates:
            p, a = self.estimates["percentile"], self.estimates["argmax"]
            out.update({"noise/T_hat_condition": p["condition_number"],
                        "noise/T_hat_argmax_condition": a["condition_number"]})
            if "l1" in p:  # only when the true T is known
                out.update({"noise/T_hat_l1": p["l1"], "noise/T_hat_l1_noisy_rows": p["l1_noisy_rows"],
                            "noise/T_hat_argmax_l1": a["l1"]})
        return out

    def on_fit_end(self) -> None:
        if self.restore_best and not self.trainer.fast_dev_run:  # a smoke run saves no checkpoints
            self._restore_best()
        if self.estimate_transition:
            self._write_estimates()

    def _restore_best(self) -> None:
        best = [c for c in self.trainer.callbacks if isinstance(c, BestCheckpoint)]
        path = best[0].best_model_path if best else ""
        if not path or not Path(path).is_file():
            raise ReproError(f"restore_best: no best checkpoint of {self.checkpoint_best} was saved; validate at least "
                             "once (trainer.check_val_every_n_epoch) with a 'val' split (data.init_args.eval_splits)")
        state = torch.load(path, map_location=self.device, weights_only=False)["state_dict"]
        self.load_state_dict(state)  # the T buffers are not saved (non-persistent); they stay as set at fit start

    # -- stage 1: the anchor-point estimate of T -----------------------------------------------------------
    @torch.no_grad()
    def training_softmax(self) -> torch.Tensor:
        """Softmax outputs (float64, on the CPU) over every training input — the training split and the validation
        split (a streamed datamodule's validation split is separate data: its training split only) — in eval mode,
        no labels used."""
        dm = self.trainer.datamodule
        was_training = self.training
        self.eval()
        probs = []
        streamed = hasattr(dm, "predict_loader")
        for split in ("train",) if streamed else ("train", "val"):
            if split not in dm.splits:
                continue
            loader = dm.predict_loader(split) if streamed else DeviceLoader(
                dm.splits[split], batch_size=dm.eval_batch_size, shuffle=False, augment=False, padding=0,
                normalize=dm.normalize)
            for batch in loader:
                x = batch["x"].to(self.device, dtype=next(self.parameters()).dtype)
                probs.append(torch.softmax(self(x).double(), dim=-1).cpu())
        self.train(was_training)
        return torch.cat(probs)

    def _write_estimates(self) -> None:
        probs, T = self.training_softmax(), self.known_transition()
        out = Path(self.trainer.default_root_dir)
        variants = {"percentile": self.estimator_percentile, "argmax": None}
        for name, percentile in variants.items():
            estimate = anchor_transition(probs, percentile=percentile,
                                         in_place_outliers=self.estimator_in_place_outliers)
            self.estimates[name] = (transition_error(estimate.T_hat, T) if T is not None else
                                    {"condition_number": float(torch.linalg.cond(estimate.T_hat.double()))})
            record = {**estimate.to_json(), "variant": name, "percentile": percentile,
                      "T_true": T.tolist() if T is not None else None, "error": self.estimates[name],
                      "num_inputs": len(probs)}
            write_text(out / ESTIMATE_FILES[name], json.dumps(record, indent=1))
