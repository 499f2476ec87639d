"""SNGP: Spectral-normalized Neural Gaussian Process (Liu et al., NeurIPS 2020, arXiv:2006.10108).

Two changes make a residual network distance-aware (§3): spectral normalization of the hidden weights with a soft
bound c (``repro.models.spectral``, Eq. 7), and a random-feature GP output layer with a Laplace posterior in place
of the dense head (``repro.models.gp_head``, Eqs. 8–11). We implement the official code's form: one Gaussian-
likelihood precision shared by all classes, reset at every epoch start, and mean-field logits (UB issue #288).

The same module gives the baselines of the paper's tables: ``spectral_bound: null`` and ``gp: null`` is the
deterministic network; ``mc_dropout_samples > 0`` averages the softmax over dropout masks at test time (MC dropout).

The backbone must offer ``forward_features(x)`` (the penultimate representation) and a ``head`` (the dense output
layer, replaced by the GP layer when ``gp`` is set).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.methods.base import BackboneFactory, Classifier
from repro.models.gp_head import RandomFeatureGP
from repro.models.spectral import apply_spectral_norm


class SNGP(Classifier):
    """Classifier with optional spectral normalization, GP head and MC dropout.

    Args:
        backbone: a network with ``forward_features`` and ``head``.
        spectral_bound: c of the soft spectral norm; ``None`` switches it off.
        n_power_iterations: power-iteration steps per training step.
        conv_operator_norm: convolutions use the operator norm (else the reshaped kernel's norm).
        gp: keyword arguments of :class:`RandomFeatureGP` (``num_features``, ``kernel_scale``, ``ridge``,
            ``momentum``, ``mean_field_factor``, ...); ``None`` keeps the dense head.
        mc_dropout_samples: if > 0, evaluation averages the softmax over this many dropout masks.
        **kwargs: :class:`Classifier` arguments (optimizer, schedule, ...).
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        *,
        spectral_bound: float | None = 0.9,
        n_power_iterations: int = 1,
        conv_operator_norm: bool = True,
        gp: dict[str, Any] | None = None,
        mc_dropout_samples: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(backbone, **kwargs)
        if mc_dropout_samples < 0:
            raise ConfigValueError(f"`mc_dropout_samples` must be >= 0, got {mc_dropout_samples}")
        if not hasattr(self.backbone, "forward_features"):
            name = type(self.backbone).__name__
            raise ConfigValueError(f"model.init_args.backbone: SNGP needs forward_features, {name} has none")
        self.mc_dropout_samples = mc_dropout_samples
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

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.gp is None:
            return self.backbone(x)
        return self.gp(self.backbone.forward_features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def on_train_epoch_start(self) -> None:
        # Exact Laplace precision covers exactly one pass over the data: reset at each epoch start (card §3).
        if self.gp is not None and self.gp.momentum < 0:
            self.gp.reset_precision()
