"""SNGP: Spectral-normalized Neural Gaussian Process (Liu et al., NeurIPS 2020, arXiv:2006.10108).

Two changes make a residual network distance-aware (§3): spectral normalization of the hidden weights with a soft
bound c (``repro.models.spectral``, Eq. 7), and a random-feature GP output layer with a Laplace posterior in place
of the dense head (``repro.models.gp_head``, Eqs. 8–11). We implement the official code's form: one Gaussian-
likelihood precision shared by all classes, reset at every epoch start, and mean-field logits.

The same module gives the baselines of the paper's tables, chosen by ``method`` so that one study grid runs them
all on the same config: ``sngp`` uses the spectral norm and GP head as configured (``null`` switches either
off: the paper's DNN-GP and DNN-SN ablations; ``precision_reset: false`` keeps accumulating the exact precision
over all epochs, the reset ablation); ``deterministic`` switches both off; ``mc_dropout`` is the deterministic
network with ``mc_dropout_samples`` dropout masks averaged at test time; ``ensemble`` trains ``ensemble_size``
plain networks together (``repro.models.ensemble``). Evaluation (calibration, OOD AUROC/AUPR) is
``repro.training.ood``'s; with the GP head, every evaluation also logs ``<split>/gp_variance`` (mean
predictive variance σ² over the split) and ``gp/precision_trace`` (the trace of the data part Σ ΦΦᵀ of the
precision, summed over DDP ranks).

The backbone must offer ``forward_features(x)`` (the penultimate representation) and a ``head`` (the dense output
layer, replaced by the GP layer when ``gp`` is set).

    repro reproduce sngp --study two_moons
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.ensemble import Ensemble, ensemble_loss
from repro.models.gp_head import RandomFeatureGP
from repro.models.spectral import apply_spectral_norm
from repro.training.classifier import BackboneFactory
from repro.training.ood import UncertaintyClassifier

Method = Literal["sngp", "deterministic", "mc_dropout", "ensemble"]


class SNGP(UncertaintyClassifier):
    """Classifier with optional spectral normalization, GP head, MC dropout, or a deep ensemble.

    Args:
        backbone: a network with ``forward_features`` and ``head`` (``forward_features`` only needed with ``gp``).
        method: which of the configured parts are used (see the module docstring).
        spectral_bound: c of the soft spectral norm; ``None`` switches it off.
        n_power_iterations: power-iteration steps per training step.
        conv_operator_norm: convolutions use the operator norm (else the reshaped kernel's norm).
        gp: keyword arguments of :class:`RandomFeatureGP` (``num_features``, ``kernel_scale``, ``ridge``,
            ``momentum``, ``mean_field_factor``, ...); ``None`` keeps the dense head.
        mc_dropout_samples: masks of the ``mc_dropout`` method (evaluation averages the softmax over them).
        ensemble_size: members of the ``ensemble`` method (the paper's tables: 4).
        precision_reset: reset the exact precision at every epoch start (the official code); ``False`` lets it
            grow over all epochs (an ablation; only with the exact precision, ``gp.momentum < 0``).
        **kwargs: :class:`Classifier` arguments (optimizer, schedule, ...).
    """

    paper = "sngp"

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        method: Method = "sngp",
        spectral_bound: float | None = 0.9,
        n_power_iterations: int = 1,
        conv_operator_norm: bool = True,
        gp: dict[str, Any] | None = None,
        mc_dropout_samples: int = 0,
        ensemble_size: int = 4,
        precision_reset: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        if self.stack_seeds:
            raise ConfigValueError("SNGP's evaluation needs one model per run: drop model.init_args.stack_seeds and "
                                   "list the seeds in the grid (seed_everything) instead")
        if method not in ("sngp", "deterministic", "mc_dropout", "ensemble"):
            raise ConfigValueError(f"`method` must be sngp, deterministic, mc_dropout or ensemble, got {method!r}")
        if mc_dropout_samples < 0:
            raise ConfigValueError(f"`mc_dropout_samples` must be >= 0, got {mc_dropout_samples}")
        if method == "mc_dropout" and mc_dropout_samples < 1:
            raise ConfigValueError("method mc_dropout needs model.init_args.mc_dropout_samples >= 1")
        if method != "sngp":  # the baselines: a plain network (plus MC dropout or more members)
            spectral_bound, gp = None, None
        mc_dropout_samples = mc_dropout_samples if method == "mc_dropout" else 0
        if gp is not None and not hasattr(self.backbone, "forward_features"):
            name = type(self.backbone).__name__
            raise ConfigValueError(f"model.init_args.backbone: the GP head needs forward_features, {name} has none")
        self.method = method
        self.mc_dropout_samples = mc_dropout_samples
        if method == "ensemble":
            if ensemble_size < 1:
                raise ConfigValueError(f"`ensemble_size` must be >= 1, got {ensemble_size}")
            extra = [backbone(self.num_classes, self.in_shape) for _ in range(ensemble_size - 1)]
            self.backbone = Ensemble([self.backbone, *extra])
        example = torch.zeros(2, *self.in_shape)
        if spectral_bound is not None:
            # The dense head is replaced (or is the output layer, which the paper leaves unnormalized) and frozen
            # layers never change, so neither is normalized.
            skip = [m for m in self.backbone.modules() if isinstance(m, nn.Linear | nn.Conv2d)
                    and not m.weight.requires_grad]
            skip += [getattr(self.backbone, "head", None)]
            apply_spectral_norm(
                self.backbone, spectral_bound, n_power_iterations,
                example_input=example if conv_operator_norm else None, skip=[m for m in skip if m is not None],
            )
        self.gp: RandomFeatureGP | None = None
        if gp is not None:
            was = self.backbone.training
            self.backbone.eval()
            with torch.no_grad():
                width = self.backbone.forward_features(example).shape[-1]
            self.backbone.train(was)
            self.gp = RandomFeatureGP(width, self.num_classes, **gp)
            if not precision_reset and self.gp.momentum >= 0:
                raise ConfigValueError("model.init_args.precision_reset: false only applies to the exact precision "
                                       "(gp.momentum < 0); the momentum update never resets: drop precision_reset")
        self.precision_reset = precision_reset
        self._variance_sums: dict[str, list[float]] = {}
        # MC dropout, ensembles and MC GP samples give log-probabilities of an average, not logits.
        self.outputs_logits = not (mc_dropout_samples or method == "ensemble" or (self.gp and self.gp.mc_samples > 0))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.gp is None:
            return self.backbone(x)
        return self.gp(self.backbone.forward_features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.training or self.mc_dropout_samples == 0:
            return self._logits(x)
        # MC dropout (Gal & Ghahramani 2016): dropout on at test time, log of the mean softmax over masks.
        dropouts = [m for m in self.backbone.modules() if isinstance(m, nn.Dropout | nn.Dropout2d)]
        for m in dropouts:
            m.train()
        try:
            probs = torch.stack([self._logits(x).softmax(-1) for _ in range(self.mc_dropout_samples)]).mean(0)
        finally:
            for m in dropouts:
                m.eval()
        return probs.clamp_min(1e-12).log()

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.method == "ensemble":
            return ensemble_loss(logits, batch["y"])
        return super().loss(logits, batch)

    def on_train_epoch_start(self) -> None:
        # Exact Laplace precision covers exactly one pass over the data: reset at each epoch start.
        if self.gp is not None and self.gp.momentum < 0 and self.precision_reset:
            self.gp.reset_precision()

    @torch.no_grad()
    def on_validation_batch_end(self, outputs: Any, batch: dict[str, torch.Tensor], batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        if self.gp is None or self.trainer.sanity_checking:
            return
        x = batch["x"]
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        var = self.gp.predictive_variance(self.gp.features(self.backbone.forward_features(x)))
        sums = self._variance_sums.setdefault(self._eval_split(dataloader_idx), [0.0, 0.0])
        sums[0] += float(var.double().sum())
        sums[1] += var.numel()

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        if self.gp is None or self.trainer.sanity_checking:
            self._variance_sums = {}
            return
        splits = dict.fromkeys((*getattr(self.trainer.datamodule, "eval_splits", ()), *self._variance_sums))
        # Every rank gathers the same splits in the same order, even one that saw no batch of a split.
        sums = {k: torch.tensor(self._variance_sums.get(k, [0.0, 0.0]), dtype=torch.float64, device=self.device)
                for k in splits}
        if self.trainer.world_size > 1:
            sums = {k: self.all_gather(v).sum(0) for k, v in sums.items()}
        values = {f"{split}/gp_variance": float(s / n) for split, (s, n) in sums.items() if n > 0}
        self._variance_sums = {}
        eye = self.gp.ridge * self.gp.num_features if self.gp.momentum < 0 else 0.0
        trace = torch.trace(self.gp.precision.double()) - eye
        if self.trainer.world_size > 1:
            trace = self.all_gather(trace).sum() if self.gp.momentum < 0 else self.all_gather(trace).mean()
        values["gp/precision_trace"] = float(trace)
        self.log_dict(values, sync_dist=False)
