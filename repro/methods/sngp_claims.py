"""Claim types of the SNGP studies (Liu et al. 2020; the card §6), named in study YAMLs by import path.

Each takes the study's collected rows (grid overrides by short name + final metrics) and averages a metric over
the runs selected by ``where``/``a``/``b`` (the seeds).
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.studies.claims import ClaimResult, select

__all__ = ["at_least", "at_most", "close", "uncertainty_ratio"]


def _values(rows: list[dict], metric: str, where: dict | None, claim: str) -> np.ndarray:
    vals = [float(r[metric]) for r in select(rows, where) if r.get(metric) is not None]
    if not vals:
        raise ReproError(f"{claim}: no results with metric {metric!r} where {where}; did the study run?")
    return np.array(vals)


def at_least(rows, *, metric: str, value: float, where: dict | None = None, every_run: bool = False,
             name: str | None = None) -> ClaimResult:
    """Mean ``metric`` over the selected runs ≥ ``value`` (with ``every_run``: each run's own value)."""
    vals = _values(rows, metric, where, "at_least")
    got = float(vals.min() if every_run else vals.mean())
    what = "min over runs" if every_run else "mean"
    return ClaimResult(name or f"{metric} ≥ {value:g}", f"{what} ≥ {value:g}",
                       f"mean {vals.mean():.4f} ± {vals.std():.4f}, min {vals.min():.4f} (n={len(vals)})",
                       got >= value, {"value": got, "mean": float(vals.mean())})


def at_most(rows, *, metric: str, value: float, where: dict | None = None, name: str | None = None) -> ClaimResult:
    """Mean ``metric`` over the selected runs ≤ ``value``."""
    vals = _values(rows, metric, where, "at_most")
    got = float(vals.mean())
    return ClaimResult(name or f"{metric} ≤ {value:g}", f"mean ≤ {value:g}",
                       f"{got:.4f} ± {vals.std():.4f} (n={len(vals)})", got <= value, {"mean": got})


def close(rows, *, metric: str, a: dict, b: dict, tolerance: float, name: str | None = None) -> ClaimResult:
    """|mean metric of rows ``a`` − that of rows ``b``| ≤ ``tolerance`` (e.g. no accuracy cost)."""
    ma, mb = float(_values(rows, metric, a, "close").mean()), float(_values(rows, metric, b, "close").mean())
    expected = f"gap between {_fmt(a)} and {_fmt(b)} ≤ {tolerance:g}"  # no "|": it would split a markdown cell
    return ClaimResult(name or f"{metric}: {_fmt(a)} ≈ {_fmt(b)}", expected,
                       f"{ma:.4f} vs {mb:.4f} (gap {ma - mb:+.4f})", abs(ma - mb) <= tolerance, {"a": ma, "b": mb})


def uncertainty_ratio(rows, *, a: dict, metric_a: str, b: dict, metric_b: str | None = None, factor: float,
                      name: str | None = None) -> ClaimResult:
    """Uncertainty 1 − confidence: mean(1 − ``metric_a`` of rows ``a``) ≥ ``factor`` × mean(1 − ``metric_b`` of
    rows ``b``). The denominator is floored at 1e-3, so a model that is certain to float precision still needs
    uncertainty ≥ factor × 1e-3."""
    ua = float(1 - _values(rows, metric_a, a, "uncertainty_ratio").mean())
    ub = float(1 - _values(rows, metric_b or metric_a, b, "uncertainty_ratio").mean())
    ratio = ua / max(ub, 1e-3)
    return ClaimResult(name or f"uncertainty of {a} ≥ {factor:g} × {b}",
                       f"(1 − {metric_a})[{_fmt(a)}] ≥ {factor:g} × (1 − {metric_b or metric_a})[{_fmt(b)}]",
                       f"{ua:.4f} vs {ub:.4f} (×{ratio:.1f})", ratio >= factor, {"a": ua, "b": ub, "ratio": ratio})


def _fmt(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())
