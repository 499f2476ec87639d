"""Singular values of class-conditional representations: how many directions each class's features vary in.

For a representation H (N × D, one row per example, flattened) and labels y, class c's matrix H_c holds the rows of
class c, *uncentred* (the class mean is not subtracted, so σ₁ is mostly the class-mean direction). Summaries, means
over the classes present:

- ``sv_top``: σ₁(H_c);
- ``sv_rest``: Σ_{i≥2} σ_i(H_c), the spread beyond the first direction (scale-dependent: it grows with ‖H‖);
- ``sv_rest_ratio``: Σ_{i≥2} σ_i(H_c) / σ₁(H_c), a scale-free version.

A "flatter" representation has a smaller ``sv_rest`` (and ratio). Computed in float64.
"""

from __future__ import annotations

import torch

from repro.errors import ReproError

__all__ = ["class_singular_values", "spectrum_summary"]


def class_singular_values(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[int, torch.Tensor]:
    """Class → singular values (descending, float64) of that class's uncentred feature matrix."""
    h = features.reshape(len(features), -1).double()
    if len(labels) != len(h):
        raise ReproError(f"class_singular_values: {len(h)} feature rows but {len(labels)} labels")
    return {c: torch.linalg.svdvals(h[labels == c]) for c in range(num_classes) if bool((labels == c).any())}


def spectrum_summary(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """``sv_top``, ``sv_rest`` and ``sv_rest_ratio`` (see the module docstring), means over the classes."""
    spectra = class_singular_values(features, labels, num_classes).values()
    if not spectra:
        raise ReproError("spectrum_summary: no examples")
    top = torch.stack([s[0] for s in spectra])
    rest = torch.stack([s[1:].sum() for s in spectra])
    return {"sv_top": float(top.mean()), "sv_rest": float(rest.mean()),
            "sv_rest_ratio": float((rest / top.clamp_min(torch.finfo(torch.float64).tiny)).mean())}
