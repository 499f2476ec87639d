"""Spectral normalization with a soft bound, which keeps residual branches bi-Lipschitz (distance-preserving).

Each weight is rescaled by its spectral norm: ``W̄ = W · min(1, c / σ̂(W))`` (the soft bound of edward2's
``SpectralNormalization`` layers), where σ̂ is
estimated by one power iteration per training step from a persistent vector kept in a buffer.

``torch.nn.utils.spectral_norm`` always divides by σ̂ (target 1) and, for convolutions, uses the
reshaped kernel; here convolutions use the *operator* norm, iterating through conv / transposed conv on
an input-shaped vector as ``SpectralNormalizationConv2D`` does. Built on ``torch.nn.utils.parametrize``
so modules stay deep-copyable (EMA, ensembles).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from repro.errors import ConfigValueError

__all__ = ["SoftSpectralNorm", "spectral_normalize", "apply_spectral_norm", "operator_norm"]


def _normalize(t: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return t / t.norm().clamp_min(eps)


class SoftSpectralNorm(nn.Module):
    """Parametrization ``W ↦ W · min(1, c/σ̂)`` with σ̂ from power iteration kept in buffers.

    Args:
        weight: the weight being parametrized (shape of the buffers).
        coeff: the bound c (> 0); the weight is rescaled only when σ̂ > c.
        n_power_iterations: power-iteration steps per training forward (the paper: 1).
        conv: ``None`` for a Linear layer (or the reshaped-kernel norm of a conv); for the operator norm
            of a Conv2d, a dict with ``input_shape`` (C, H, W) and ``stride``/``padding``/``dilation``/``groups``.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        coeff: float = 1.0,
        n_power_iterations: int = 1,
        conv: dict | None = None,
    ) -> None:
        super().__init__()
        if not coeff > 0:
            raise ConfigValueError(f"spectral norm bound `coeff` must be > 0, got {coeff}")
        if n_power_iterations < 1:
            raise ConfigValueError(f"`n_power_iterations` must be >= 1, got {n_power_iterations}")
        self.coeff = float(coeff)
        self.n_power_iterations = n_power_iterations
        self.conv = conv
        with torch.no_grad():
            if conv is None:
                mat = weight.reshape(weight.shape[0], -1)
                v = _normalize(torch.randn(mat.shape[1], dtype=weight.dtype, device=weight.device))
                u = _normalize(mat @ v)
            else:
                v = _normalize(torch.randn(1, *conv["input_shape"], dtype=weight.dtype, device=weight.device))
                u = _normalize(self._conv(v, weight))
        self.register_buffer("u", u)
        self.register_buffer("v", v)
        self.register_buffer("sigma", torch.ones((), dtype=weight.dtype, device=weight.device))
        # Run enough iterations at construction that the first estimate is already good.
        with torch.no_grad():
            self._power_iteration(weight, 50)

    def _conv(self, v: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return F.conv2d(v, weight, None, c["stride"], c["padding"], c["dilation"], c["groups"])

    def _conv_t(self, u: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        # The adjoint of conv2d, with the input size fixed (conv_transpose2d alone is ambiguous in size).
        c = self.conv
        return torch.nn.grad.conv2d_input(
            self.v.shape, weight, u, c["stride"], c["padding"], c["dilation"], c["groups"]
        )

    def _matvec(self, v: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return weight.reshape(weight.shape[0], -1) @ v if self.conv is None else self._conv(v, weight)

    def _rmatvec(self, u: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return weight.reshape(weight.shape[0], -1).T @ u if self.conv is None else self._conv_t(u, weight)

    @torch.no_grad()
    def _power_iteration(self, weight: torch.Tensor, steps: int) -> None:
        u, v = self.u, self.v
        for _ in range(steps):
            v = _normalize(self._rmatvec(u, weight))
            u = _normalize(self._matvec(v, weight))
        self.u.copy_(u)
        self.v.copy_(v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._power_iteration(weight.detach(), self.n_power_iterations)
        # σ̂ = uᵀ W v with u, v fixed: differentiable in W, as in Miyato et al. 2018.
        sigma = (self.u * self._matvec(self.v, weight)).sum()
        self.sigma.copy_(sigma.detach())
        return weight * torch.clamp(self.coeff / sigma, max=1.0)


def spectral_normalize(
    module: nn.Module,
    coeff: float = 1.0,
    n_power_iterations: int = 1,
    input_shape: Sequence[int] | None = None,
) -> nn.Module:
    """Register :class:`SoftSpectralNorm` on ``module.weight`` (Linear or Conv2d) and return the module.

    For a Conv2d, ``input_shape`` (C, H, W) selects the operator norm; without it the reshaped kernel's
    norm is used (the cheaper option, a looser proxy for the operator norm).
    """
    conv = None
    if isinstance(module, nn.Conv2d) and input_shape is not None:
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise ConfigValueError("operator-norm spectral normalization needs zero, numeric conv padding")
        conv = {
            "input_shape": tuple(input_shape),
            "stride": module.stride,
            "padding": module.padding,
            "dilation": module.dilation,
            "groups": module.groups,
        }
    elif not isinstance(module, nn.Linear | nn.Conv2d):
        raise ConfigValueError(f"spectral normalization supports Linear and Conv2d, got {type(module).__name__}")
    param = SoftSpectralNorm(module.weight, coeff, n_power_iterations, conv)
    parametrize.register_parametrization(module, "weight", param)
    return module


def apply_spectral_norm(
    model: nn.Module,
    coeff: float = 1.0,
    n_power_iterations: int = 1,
    example_input: torch.Tensor | None = None,
    skip: Sequence[nn.Module] = (),
) -> nn.Module:
    """Spectral-normalize every Linear and Conv2d of ``model`` (except modules in ``skip``).

    With ``example_input`` a forward pass records each conv's input shape, so convolutions get the
    operator norm; without it they get the reshaped-kernel norm.
    """
    shapes: dict[nn.Module, tuple[int, ...]] = {}
    if example_input is not None:

        def record(mod: nn.Module, args: tuple) -> None:  # a pre-hook returning a value would replace the input
            shapes.setdefault(mod, tuple(args[0].shape[1:]))

        hooks = [
            m.register_forward_pre_hook(record)
            for m in model.modules()
            if isinstance(m, nn.Conv2d)
        ]
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(example_input[:1])
        model.train(was_training)
        for h in hooks:
            h.remove()
    skip_ids = {id(m) for m in skip}
    for m in list(model.modules()):
        if isinstance(m, nn.Linear | nn.Conv2d) and id(m) not in skip_ids:
            spectral_normalize(m, coeff, n_power_iterations, shapes.get(m))
    return model


def operator_norm(module: nn.Module) -> float:
    """The last spectral-norm estimate σ̂ of a normalized module (before the min(1, c/σ̂) rescale)."""
    return float(module.parametrizations.weight[0].sigma)
