"""SNGP's own claim type, named in its study YAMLs by import path; the generic checks (``at_least``,
``at_most``, ``close``, ``less_than``) are the shared ones (``repro.studies.claims``)."""

from __future__ import annotations

import numpy as np

from repro.studies.claims import ClaimResult
from repro.studies.results import MissingRuns, select
from repro.studies.stats import seed_interval

__all__ = ["uncertainty_ratio"]

FLOOR = 1e-3


def uncertainty_ratio(rows, *, a: dict, metric_a: str, b: dict, metric_b: str | None = None, factor: float,
                      name: str | None = None) -> ClaimResult:
    """Uncertainty 1 − confidence: mean(1 − ``metric_a`` of rows ``a``) / mean(1 − ``metric_b`` of rows ``b``)
    over the seeds both have, whose 95% interval over seeds (a seed's two values resampled together) must have its
    low end ≥ ``factor``. The denominator is floored at 1e-3, so a model that is certain to float precision still
    needs uncertainty ≥ factor × 1e-3."""
    metric_b = metric_b or metric_a
    ua = {r.get("seed"): 1 - float(r[metric_a]) for r in select(rows, a) if r.get(metric_a) is not None}
    ub = {r.get("seed"): 1 - float(r[metric_b]) for r in select(rows, b) if r.get(metric_b) is not None}
    seeds = sorted(set(ua) & set(ub), key=str)
    if not seeds:
        raise MissingRuns(f"uncertainty_ratio: no seed with {metric_a!r} in {a} and {metric_b!r} in {b}")
    pairs = np.array([[ua[s], ub[s]] for s in seeds])

    def ratio(sample: np.ndarray) -> float:
        return float(sample[:, 0].mean()) / max(float(sample[:, 1].mean()), FLOOR)

    iv = seed_interval(pairs, statistic=ratio)
    return ClaimResult(name or f"uncertainty of {a} ≥ {factor:g} × {b}",
                       f"(1 − {metric_a})[{_kv(a)}] / (1 − {metric_b})[{_kv(b)}]: 95% interval ≥ {factor:g}",
                       f"{pairs[:, 0].mean():.4f} vs {pairs[:, 1].mean():.4f} (×{iv.text('.1f')})", iv.clears(factor),
                       {"a": float(pairs[:, 0].mean()), "b": float(pairs[:, 1].mean()), "ratio": iv.estimate,
                        "effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n})


def _kv(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())
