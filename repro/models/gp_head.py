"""Random-feature Gaussian-process output layer with a Laplace posterior (random Fourier features, Rahimi & Recht
2007), a distance-aware replacement for a network's dense output layer.

Logits ``z = Φ(h)ᵀβ`` (+ an optional trainable bias) with random Fourier features ``Φ(h) = s·cos(W g(h) + b)``
(Eq. 8; W with i.i.d. N(0, σ_W²) rows, Gaussian or orthogonal random features, and b ~ U(0, 2π), both fixed;
s = √(2/D) or 1), so ``Φ(h)ᵀΦ(h')`` ≈ the RBF kernel ``exp(-σ_W²‖g−g'‖²/2)``: length-scale 1/σ_W on g. Only β (and
the LayerNorm's affine parameters) are trained. As in edward2's ``RandomFeatureGaussianProcess``, g is either the
LayerNorm of the (projected) input, or the input times 1/√kernel_scale: the kernel scale is never applied after
the LayerNorm, so with ``normalize_input`` the length-scale is set by ``rff_stddev`` alone.

Posterior in edward2's form (``LaplaceRandomFeatureCovariance``): one precision matrix shared by
all classes, ``P = r·I + Σ_i Φ_iΦ_iᵀ`` accumulated over exactly one epoch (reset at every epoch start)
or with momentum ``P ← m·P + (1−m)·ΦᵀΦ/B``. The covariance ``Σ = P⁻¹`` is computed lazily by Cholesky
the first time it is needed after training, after summing P across DDP ranks. Predictions use the
mean-field approximation ``softmax(z / √(1 + λ·σ²))`` with ``σ² = r·ΦᵀΣΦ`` (Eq. 11; the extra factor r is
in the code, UB issue #640), or Monte Carlo samples of ``z ~ N(z, σ²)``.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn

from repro.errors import ConfigValueError

__all__ = ["RandomFeatureGP", "orthogonal_random_features"]


class RandomFeatureGP(nn.Module):
    """The GP output layer. ``forward`` returns plain logits in training, mean-field logits in eval.

    Args:
        in_features: width of the penultimate feature h.
        num_classes: number of outputs.
        num_features: random features D (paper: 1024).
        kernel_scale: inputs are multiplied by 1/√kernel_scale (ℓ² = kernel_scale/rff_stddev²); only without
            ``normalize_input``: with it the scale has no effect in edward2, so a value ≠ 1 is refused.
        projection_dim: if set, a frozen random Gaussian projection h ↦ Rh to this width first (the CIFAR
            recipe: 640 → 128, no bias).
        projection_std: std of R's entries; ``None``: 1/√in_features (with ``normalize_input`` the scale has no
            effect; Keras' ``random_normal`` initializer is 0.05).
        normalize_input: LayerNorm on (projected) h before the features (the CIFAR recipe).
        norm_eps: the LayerNorm's eps (Keras' default 1e-3, PyTorch's 1e-5).
        rff_init: ``gaussian`` (W i.i.d. N(0, rff_stddev²)) or ``orf`` (orthogonal random features, Yu et al.
            2016: blocks of orthonormal rows, each row rescaled to a χ(d)-distributed norm, times rff_stddev).
        rff_stddev: σ_W, the inverse length-scale on g (edward2's ORF initializer for the CIFAR recipe: 0.05).
        output_bias: a trainable bias on the logits (edward2's GP layer has a constant 0, i.e. none).
        ridge: prior precision r (> 0).
        momentum: < 0 for the exact per-epoch precision; in [0, 1) for the momentum update.
        precision_share: the share s ∈ (0, 1] of each epoch's data that enters the exact precision, P = r·I +
            s·ΣΦᵀΦ (1: every batch on every rank). edward2 keeps the precision with ONLY_FIRST_REPLICA
            aggregation, so on k replicas only the first one's batches accumulate: s = 1/k reproduces that in
            expectation (a shuffled 1/k of the data).
        mean_field_factor: λ; < 0 disables the mean-field adjustment.
        scale_features: multiply Φ by √(2/D) (else 1, as some configs do).
        mc_samples: if > 0, eval logits are log of the mean softmax over this many samples instead.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        num_features: int = 1024,
        kernel_scale: float = 1.0,
        projection_dim: int | None = None,
        normalize_input: bool = False,
        ridge: float = 1.0,
        momentum: float = -1.0,
        mean_field_factor: float = math.pi / 8,
        scale_features: bool = True,
        mc_samples: int = 0,
        projection_std: float | None = None,
        norm_eps: float = 1e-5,
        rff_init: str = "gaussian",
        rff_stddev: float = 1.0,
        output_bias: bool = True,
        precision_share: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 < precision_share <= 1:
            raise ConfigValueError(f"`precision_share` must be in (0, 1], got {precision_share}")
        if precision_share != 1 and momentum >= 0:
            raise ConfigValueError("`precision_share` applies to the exact precision (momentum < 0); a momentum "
                                   "estimate is an average, which a share of the data leaves unchanged")
        self.precision_share = float(precision_share)
        if num_features < 1:
            raise ConfigValueError(f"`num_features` must be >= 1, got {num_features}")
        if not ridge > 0:
            raise ConfigValueError(f"`ridge` must be > 0, got {ridge}")
        if not kernel_scale > 0:
            raise ConfigValueError(f"`kernel_scale` must be > 0, got {kernel_scale}")
        if momentum >= 1:
            raise ConfigValueError(f"`momentum` must be < 1 (negative for the exact update), got {momentum}")
        if normalize_input and kernel_scale != 1:
            raise ConfigValueError(
                f"`kernel_scale` {kernel_scale} has no effect with `normalize_input` (edward2 applies the input scale "
                "only without the LayerNorm): set kernel_scale to 1 and the length-scale with `rff_stddev`")
        if rff_init not in ("gaussian", "orf"):
            raise ConfigValueError(f"`rff_init` must be gaussian or orf, got {rff_init!r}")
        if not rff_stddev > 0:
            raise ConfigValueError(f"`rff_stddev` must be > 0, got {rff_stddev}")
        self.num_features, self.ridge, self.momentum = num_features, float(ridge), float(momentum)
        self.kernel_scale, self.mean_field_factor, self.mc_samples = kernel_scale, mean_field_factor, mc_samples
        self.feature_scale = math.sqrt(2.0 / num_features) if scale_features else 1.0
        if projection_dim is not None and projection_dim < 1:
            raise ConfigValueError(f"`projection_dim` must be >= 1 (or null), got {projection_dim}")
        self.projection: torch.Tensor | None
        if projection_dim is not None:
            std = 1 / math.sqrt(in_features) if projection_std is None else projection_std
            self.register_buffer("projection", torch.randn(projection_dim, in_features) * std)
            in_features = projection_dim
        else:
            self.projection = None
        self.normalize_input = normalize_input
        self.norm = nn.LayerNorm(in_features, eps=norm_eps) if normalize_input else nn.Identity()
        weight = orthogonal_random_features(num_features, in_features) if rff_init == "orf" \
            else torch.randn(num_features, in_features)
        self.register_buffer("rff_weight", rff_stddev * weight)
        self.register_buffer("rff_bias", torch.rand(num_features) * 2 * math.pi)
        self.output = nn.Linear(num_features, num_classes, bias=output_bias)
        self.register_buffer("precision", self.ridge * torch.eye(num_features))
        self.register_buffer("covariance", torch.zeros(num_features, num_features))
        self.covariance_stale = True

    # -- features ----------------------------------------------------------------------------------
    def features(self, h: torch.Tensor) -> torch.Tensor:
        """Φ(h) = s·cos(W g + b), g = LayerNorm(R h) or R h/√kernel_scale, shape (B, D)."""
        # In fp32 even under bf16 autocast: phases W h of size ~10 lose the kernel in bf16's 3 significant digits.
        with torch.autocast(h.device.type, enabled=False):
            h = h if h.dtype == torch.float64 else h.float()  # float64 runs stay in float64
            if self.projection is not None:
                h = h @ self.projection.T
            h = self.norm(h) if self.normalize_input else h / math.sqrt(self.kernel_scale)
            return self.feature_scale * torch.cos(h @ self.rff_weight.T + self.rff_bias)

    # -- posterior bookkeeping ---------------------------------------------------------------------
    def reset_precision(self) -> None:
        """Start a new epoch's exact accumulation: P ← r·I (the official code's reset at step 0)."""
        self.precision.copy_(self.ridge * torch.eye(self.num_features, device=self.precision.device))
        self.covariance_stale = True

    @torch.no_grad()
    def update_precision(self, phi: torch.Tensor) -> None:
        """Add one training batch: P += ΦᵀΦ (exact) or P ← m·P + (1−m)·ΦᵀΦ/B (momentum)."""
        phi = phi.detach().to(self.precision.dtype)
        with torch.autocast(phi.device.type, enabled=False):  # never accumulate the precision in bf16
            gram = phi.T @ phi
        if self.momentum < 0:
            self.precision.add_(gram)
        else:
            self.precision.mul_(self.momentum).add_(gram, alpha=(1 - self.momentum) / phi.shape[0])
        self.covariance_stale = True

    @torch.no_grad()
    def compute_covariance(self) -> torch.Tensor:
        """Σ = P⁻¹ by Cholesky in float64, after summing the data part of P over DDP ranks. The buffer keeps this
        rank's own sum, so computing Σ again (mid-epoch validation, a reloaded checkpoint) never sums twice."""
        precision = self.precision.double()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            eye = torch.eye(self.num_features, dtype=precision.dtype, device=precision.device)
            prior = self.ridge * eye if self.momentum < 0 else 0 * eye
            data = precision - prior
            dist.all_reduce(data)
            if self.momentum >= 0:  # momentum estimates are averages: average them across ranks
                data /= dist.get_world_size()
            precision = data + prior
        if self.precision_share != 1:
            prior = self.ridge * torch.eye(self.num_features, dtype=precision.dtype, device=precision.device)
            precision = self.precision_share * (precision - prior) + prior
        chol = torch.linalg.cholesky(precision)
        self.covariance.copy_(torch.cholesky_inverse(chol))
        self.covariance_stale = False
        return self.covariance

    def predictive_variance(self, phi: torch.Tensor) -> torch.Tensor:
        """σ²(x) = r·Φ(x)ᵀΣΦ(x), shape (B,)."""
        if self.covariance_stale:
            self.compute_covariance()
        phi = phi if phi.dtype == torch.float64 else phi.float()
        with torch.autocast(phi.device.type, enabled=False):
            return self.ridge * ((phi @ self.covariance.to(phi.dtype)) * phi).sum(-1)

    # -- prediction --------------------------------------------------------------------------------
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        phi = self.features(h)
        logits = self.output(phi)
        if self.training:
            # Precision only from training steps (never validation or sanity checks, which run in eval).
            self.update_precision(phi)
            return logits
        if self.mean_field_factor < 0 and self.mc_samples <= 0:
            return logits
        var = self.predictive_variance(phi)
        if self.mc_samples > 0:
            noise = torch.randn(self.mc_samples, *logits.shape, device=logits.device, dtype=logits.dtype)
            samples = logits + noise * var.sqrt()[:, None]
            probs = samples.softmax(-1).mean(0)
            return probs.clamp_min(1e-12).log()
        return mean_field_logits(logits, var, self.mean_field_factor)


def orthogonal_random_features(num_features: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(num_features, dim) orthogonal random features of unit scale: stacked blocks of ``dim`` orthonormal rows (the
    Q of a Gaussian matrix's QR, sign-corrected so it is Haar-distributed), each row rescaled to the norm of an
    independent N(0, I_dim) vector, so every row has the N(0, I) law marginally while rows within a block are
    orthogonal (edward2's ``OrthogonalRandomFeatures`` up to its stddev factor)."""
    blocks = []
    for _ in range(-(-num_features // dim)):
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
        blocks.append(q * torch.sign(torch.diagonal(r))[None, :])
    rows = torch.cat([b.T for b in blocks])[:num_features]
    norms = torch.randn(num_features, dim, generator=generator).norm(dim=1, keepdim=True)
    return rows * norms


def mean_field_logits(logits: torch.Tensor, variance: torch.Tensor, factor: float = math.pi / 8) -> torch.Tensor:
    """z / √(1 + λ·σ²), the mean-field approximation of E[softmax(z)] (Lu et al. 2020)."""
    if factor < 0:
        return logits
    return logits / torch.sqrt(1 + factor * variance)[:, None]
