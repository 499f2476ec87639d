"""The loss-correction studies' own claim types (named in the YAML by import path), each judged on an interval over
seeds (``repro.studies.stats.seed_interval``, a percentile bootstrap over the seeds):

- :func:`gap_at_least` — the paired per-seed gap metric(a) − metric(b) (same seed, same noise draw) has a 95%
  interval whose low end is ≥ margin at every level of a grid key (or the levels given), e.g. forward-T̂ beats
  cross-entropy by 2 accuracy points at N = 0.4;
- :func:`ratio_at_least` — the ratio of seed means mean(a) / mean(b), its interval from resampling the seeds of
  both, has a low end ≥ value;
- :func:`gap_grows` — the per-seed gap at one level minus the same seed's gap at another, interval low end ≥ margin.

A missing level or method raises MissingRuns (reported as not evaluated).
"""

from __future__ import annotations

import numpy as np

from repro.studies.claims import ClaimResult, require, where_text
from repro.studies.results import MissingRuns, select
from repro.studies.stats import Interval, seed_interval

__all__ = ["gap_at_least", "gap_grows", "paired_gaps", "ratio_at_least"]


def _levels(rows: list[dict], over: str | None, levels, a: dict, claim: str) -> list:
    if over is None:
        return [None]
    found = sorted({r[over] for r in require(rows, a, claim) if over in r})
    if levels is None:
        if not found:
            raise MissingRuns(f"{claim}: no results with {over}")
        return found
    return list(levels)


def _by_seed(rows, metric: str, where: dict) -> dict:
    return {r.get("seed"): float(r[metric]) for r in select(rows, where) if r.get(metric) is not None}


def paired_gaps(rows, metric: str, a: dict, b: dict, claim: str, scale: float = 1.0) -> np.ndarray:
    """metric(a) − metric(b) of each seed both have (× ``scale``), in seed order; MissingRuns if none."""
    ma, mb = _by_seed(rows, metric, a), _by_seed(rows, metric, b)
    seeds = sorted(set(ma) & set(mb), key=str)
    if not seeds:
        raise MissingRuns(f"{claim}: no seed with {metric!r} in both {a} and {b}")
    return np.array([(ma[s] - mb[s]) * scale for s in seeds])


def _at(over, level) -> dict:
    return {} if over is None else {over: level}


def _result(name, expected, parts: dict, passed: bool, worst: Interval, extra: dict) -> ClaimResult:
    measured = "; ".join(f"{'' if k is None else f'{k:g}: '}{iv.text('+.2f')}" for k, iv in parts.items())
    return ClaimResult(name, expected, measured, passed,
                       {"effect": worst.estimate, "ci": [worst.low, worst.high], "n": worst.n,
                        "levels": {str(k): {"effect": iv.estimate, "ci": [iv.low, iv.high]} for k, iv in parts.items()},
                        **extra})


def gap_at_least(rows, *, metric: str, a: dict, b: dict, margin: float, over: str | None = None,
                 levels: list | None = None, scale: float = 1.0, name: str | None = None) -> ClaimResult:
    """The paired per-seed gap metric(a) − metric(b) (× ``scale``): its 95% interval over seeds clears ``margin``
    (low end ≥ margin) at each level of ``over`` (every level the runs of ``a`` have, or ``levels``)."""
    chosen = _levels(rows, over, levels, a, "gap_at_least")
    parts = {lv: seed_interval(paired_gaps(rows, metric, {**a, **_at(over, lv)}, {**b, **_at(over, lv)},
                                           "gap_at_least", scale)) for lv in chosen}
    worst = min(parts.values(), key=lambda iv: iv.low)
    at = "" if over is None else f" at {over} = {', '.join(f'{lv:g}' for lv in chosen)}"
    return _result(name or f"{metric}: {where_text(a)} ≥ {where_text(b)} + {margin:g}",
                   f"{where_text(a)} − {where_text(b)}, paired by seed: 95% interval ≥ {margin:g}{at}", parts,
                   all(iv.clears(margin) for iv in parts.values()), worst, {"margin": margin})


def gap_grows(rows, *, metric: str, a: dict, b: dict, over: str, low, high, margin: float, scale: float = 1.0,
              name: str | None = None) -> ClaimResult:
    """Per seed, gap(high) − gap(low) (the gap being metric(a) − metric(b) × ``scale`` at a level): its 95%
    interval over seeds clears ``margin``."""
    g_low = paired_gaps(rows, metric, {**a, over: low}, {**b, over: low}, "gap_grows", scale)
    g_high = paired_gaps(rows, metric, {**a, over: high}, {**b, over: high}, "gap_grows", scale)
    if len(g_low) != len(g_high):
        raise MissingRuns(f"gap_grows: {len(g_low)} seeds at {over} = {low:g}, {len(g_high)} at {high:g}")
    iv = seed_interval(g_high - g_low)
    return _result(name or f"{where_text(a)} − {where_text(b)} grows from {over} {low:g} to {high:g}",
                   f"gap({high:g}) − gap({low:g}), per seed: 95% interval ≥ {margin:g}", {None: iv},
                   iv.clears(margin), iv, {"low": float(g_low.mean()), "high": float(g_high.mean())})


def ratio_at_least(rows, *, metric: str, a: dict, b: dict, value: float, name: str | None = None) -> ClaimResult:
    """mean(metric | a) / mean(metric | b) over the seeds both have: its 95% interval (seeds resampled, the two
    arms of a seed together) clears ``value``; a zero denominator is a ratio of +inf only for a positive numerator
    (0 / 0 is no growth: ratio 1)."""
    ma, mb = _by_seed(rows, metric, a), _by_seed(rows, metric, b)
    seeds = sorted(set(ma) & set(mb), key=str)
    if not seeds:
        raise MissingRuns(f"ratio_at_least: no seed with {metric!r} in both {a} and {b}")
    pairs = np.array([[ma[s], mb[s]] for s in seeds])

    def ratio(sample: np.ndarray) -> float:
        num, den = float(sample[:, 0].mean()), float(sample[:, 1].mean())
        return num / den if den > 0 else (float("inf") if num > 0 else 1.0)

    iv = seed_interval(pairs, statistic=ratio)
    return ClaimResult(name or f"{metric}: {where_text(a)} / {where_text(b)} ≥ {value:g}",
                       f"{where_text(a)} / {where_text(b)} of seed means: 95% interval ≥ {value:g}",
                       f"{pairs[:, 0].mean():.3f} / {pairs[:, 1].mean():.3f} = {iv.text('.2f')}", iv.clears(value),
                       {"effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n, "a": float(pairs[:, 0].mean()),
                        "b": float(pairs[:, 1].mean())})
