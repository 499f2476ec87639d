"""The loss-correction studies' own claim types (named in the YAML by import path).

- :func:`gap_at_least` — mean(metric | a) − mean(metric | b) ≥ margin at every level of a grid key (or the levels
  given), e.g. forward-T̂ beats cross-entropy by 2 accuracy points at N = 0.4;
- :func:`ratio_at_least` — mean(metric | a) / mean(metric | b) ≥ value, e.g. T̂'s error at N = 0.6 against 0.4;
- :func:`gap_grows` — the gap of :func:`gap_at_least` at one level exceeds the gap at another by ≥ margin.

Means are over the seeds a study ran; a missing level or method raises MissingRuns (reported as not evaluated).
"""

from __future__ import annotations

import numpy as np

from repro.studies.claims import ClaimResult, require, values_of, where_text
from repro.studies.results import MissingRuns

__all__ = ["gap_at_least", "gap_grows", "ratio_at_least"]


def _levels(rows: list[dict], over: str | None, levels, a: dict, claim: str) -> list:
    if over is None:
        return [None]
    found = sorted({r[over] for r in require(rows, a, claim) if over in r})
    if levels is None:
        if not found:
            raise MissingRuns(f"{claim}: no results with {over}")
        return found
    return list(levels)


def _gap(rows, metric, a, b, over, level, scale, claim) -> float:
    at = {} if over is None else {over: level}
    ma = values_of(rows, metric, {**a, **at}, claim).mean()
    mb = values_of(rows, metric, {**b, **at}, claim).mean()
    return float(ma - mb) * scale


def gap_at_least(rows, *, metric: str, a: dict, b: dict, margin: float, over: str | None = None,
                 levels: list | None = None, scale: float = 1.0, name: str | None = None) -> ClaimResult:
    """mean(a) − mean(b) of ``metric`` (× ``scale``) ≥ ``margin`` at each level of ``over`` (every level the runs of
    ``a`` have, or ``levels``)."""
    chosen = _levels(rows, over, levels, a, "gap_at_least")
    gaps = {lv: _gap(rows, metric, a, b, over, lv, scale, "gap_at_least") for lv in chosen}
    at = "" if over is None else f" at {over} = {', '.join(f'{lv:g}' for lv in chosen)}"
    measured = "; ".join(f"{'' if lv is None else f'{lv:g}: '}{g:+.2f}" for lv, g in gaps.items())
    return ClaimResult(name or f"{metric}: {where_text(a)} ≥ {where_text(b)} + {margin:g}",
                       f"{where_text(a)} − {where_text(b)} ≥ {margin:g}{at}", f"gap {measured} (min margin "
                       f"{min(gaps.values()) - margin:+.2f})", all(g >= margin for g in gaps.values()),
                       {"gaps": {str(k): v for k, v in gaps.items()}})


def gap_grows(rows, *, metric: str, a: dict, b: dict, over: str, low, high, margin: float, scale: float = 1.0,
              name: str | None = None) -> ClaimResult:
    """gap(high) − gap(low) ≥ ``margin``, the gap being mean(a) − mean(b) of ``metric`` (× ``scale``) at a level."""
    g_low = _gap(rows, metric, a, b, over, low, scale, "gap_grows")
    g_high = _gap(rows, metric, a, b, over, high, scale, "gap_grows")
    return ClaimResult(name or f"{where_text(a)} − {where_text(b)} grows from {over} {low:g} to {high:g}",
                       f"gap({high:g}) − gap({low:g}) ≥ {margin:g}",
                       f"gap {g_low:+.2f} at {low:g}, {g_high:+.2f} at {high:g} (growth {g_high - g_low:+.2f})",
                       g_high - g_low >= margin, {"low": g_low, "high": g_high})


def ratio_at_least(rows, *, metric: str, a: dict, b: dict, value: float, name: str | None = None) -> ClaimResult:
    """mean(metric | a) / mean(metric | b) ≥ ``value``."""
    va, vb = values_of(rows, metric, a, "ratio_at_least"), values_of(rows, metric, b, "ratio_at_least")
    ma, mb = float(np.mean(va)), float(np.mean(vb))
    ratio = ma / mb if mb > 0 else float("inf")
    return ClaimResult(name or f"{metric}: {where_text(a)} / {where_text(b)} ≥ {value:g}",
                       f"{where_text(a)} / {where_text(b)} ≥ {value:g}",
                       f"{ma:.3f} / {mb:.3f} = {ratio:.2f} (n={len(va)}, {len(vb)})", ratio >= value,
                       {"a": ma, "b": mb, "ratio": ratio})
