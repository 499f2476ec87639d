"""SNGP's own claim type, named in its study YAMLs by import path; the generic checks (``at_least``,
``at_most``, ``close``, ``less_than``) are the shared ones (``repro.studies.claims``)."""

from __future__ import annotations

from repro.studies.claims import ClaimResult, values_of

__all__ = ["uncertainty_ratio"]


def uncertainty_ratio(rows, *, a: dict, metric_a: str, b: dict, metric_b: str | None = None, factor: float,
                      name: str | None = None) -> ClaimResult:
    """Uncertainty 1 − confidence: mean(1 − ``metric_a`` of rows ``a``) ≥ ``factor`` × mean(1 − ``metric_b`` of
    rows ``b``). The denominator is floored at 1e-3, so a model that is certain to float precision still needs
    uncertainty ≥ factor × 1e-3."""
    ua = float(1 - values_of(rows, metric_a, a, "uncertainty_ratio").mean())
    ub = float(1 - values_of(rows, metric_b or metric_a, b, "uncertainty_ratio").mean())
    ratio = ua / max(ub, 1e-3)
    return ClaimResult(name or f"uncertainty of {a} ≥ {factor:g} × {b}",
                       f"(1 − {metric_a})[{_kv(a)}] ≥ {factor:g} × (1 − {metric_b or metric_a})[{_kv(b)}]",
                       f"{ua:.4f} vs {ub:.4f} (×{ratio:.1f})", ratio >= factor, {"a": ua, "b": ub, "ratio": ratio})


def _kv(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())
