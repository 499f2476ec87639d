"""Claim types of the importance-weighting studies, judged per seed on the logged fraction curves.

A row is one stacked member (one seed, weight decay and ratio); ``where`` selects one setting, whose rows must hold
every ratio of each seed. The spread of a pool is frac(largest ratio) − frac(smallest ratio); "early" is one epoch,
"end" the mean over the last ``tail`` evaluations (the runs evaluate each of their last epochs). A study YAML names
them by import path::

    claims:
      - type: repro.papers.importance_weighting.claims.spread_shrinks
        where: {setting: none, weight_decay: 0.0}
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.papers.importance_weighting.history import (
    by_seed,
    curve,
    end_value,
    pool_metric,
    spread_curve,
    value_at,
)
from repro.studies.claims import ClaimResult, require, where_text
from repro.studies.stats import seed_interval

__all__ = ["angle_decreases", "early_effect", "end_spread_at_most", "fits_before_spread_halves", "spread_close",
           "spread_kept", "spread_shrinks"]


def _seeds(rows, where, claim: str) -> dict[object, dict[float, dict]]:
    groups = by_seed(require(rows, where, claim))
    short = {s: sorted(g) for s, g in groups.items() if len(g) < 2}
    if short:
        raise ReproError(f"{claim}: seeds {sorted(short, key=str)} have fewer than two ratios where {where}")
    return groups


def _fmt(values) -> str:
    return "/".join(f"{v:.3f}" for v in values)


def _end_spread(by_ratio: dict[float, dict], pool: str, tail: int) -> float:
    return end_value(spread_curve(by_ratio, pool_metric(pool))[1], tail)


def _paired_end_spreads(rows, where, baseline, pool: str, tail: int, claim: str):
    """End spreads of ``where`` and of ``baseline`` by seed, and the seeds both have."""
    ours = {s: _end_spread(g, pool, tail) for s, g in _seeds(rows, where, claim).items()}
    base = {s: _end_spread(g, pool, tail) for s, g in _seeds(rows, baseline, f"{claim} (baseline)").items()}
    seeds = sorted(set(ours) & set(base), key=str)
    if not seeds:
        raise ReproError(f"{claim}: no seed in both {where} and {baseline}")
    return ours, base, seeds


def _early_spreads(seeds: dict, pool: str, epoch: int) -> list[float]:
    return [value_at(*spread_curve(g, pool_metric(pool)), epoch) for g in seeds.values()]


def _precondition(seeds: dict, pool: str, epoch: int, min_early: float) -> tuple[bool, str]:
    """Every seed had a spread ≥ ``min_early`` on ``pool`` at ``epoch``: an effect that fades must first exist."""
    if not min_early:
        return True, ""
    early = _early_spreads(seeds, pool, epoch)
    return min(early) >= min_early, f"; early spread_{pool}(e{epoch}) {_fmt(early)} (needs ≥ {min_early:g})"


def early_effect(rows, *, where=None, epoch: int = 5, pool: str = "ood", min_spread: float = 0.5,
                 monotone_pools=("in", "ood", "noise"), tolerance: float = 0.0, name=None) -> ClaimResult:
    """At ``epoch``, for every seed: spread of ``pool`` ≥ ``min_spread``, and on each of ``monotone_pools`` the
    fraction is non-decreasing in the ratio (no drop between neighbouring ratios larger than ``tolerance``)."""
    spreads, drops = [], []
    for groups in _seeds(rows, where, "early_effect").values():
        ratios = sorted(groups)
        spreads.append(value_at(*spread_curve(groups, pool_metric(pool)), epoch))
        worst = 0.0
        for p in monotone_pools:
            fracs = np.array([value_at(*curve(groups[r], pool_metric(p)), epoch) for r in ratios])
            worst = max(worst, float(np.max(-np.diff(fracs), initial=0.0)))
        drops.append(worst)
    ok = min(spreads) >= min_spread and max(drops) <= tolerance
    return ClaimResult(name or f"early effect at epoch {epoch} ({where_text(where)})",
                       f"spread_{pool}(e{epoch}) ≥ {min_spread:g} and frac monotone in the ratio on "
                       f"{', '.join(monotone_pools)} (drop ≤ {tolerance:g}), every seed",
                       f"spread_{pool} {_fmt(spreads)}; largest drop {_fmt(drops)}", ok,
                       {"spread": spreads, "max_drop": drops})


def end_spread_at_most(rows, *, where=None, pool: str = "in", value: float = 0.08, tail: int = 20,
                       min_early: float = 0.0, epoch: int = 5, name=None) -> ClaimResult:
    """The end spread of ``pool`` is ≤ ``value`` for every seed (the weighting no longer shows there), after an
    early spread ≥ ``min_early`` at ``epoch`` on the same pool (with equal weights nothing vanishes)."""
    seeds = _seeds(rows, where, "end_spread_at_most")
    spreads = [_end_spread(g, pool, tail) for g in seeds.values()]
    had, early = _precondition(seeds, pool, epoch, min_early)
    expected = f"spread_{pool}(mean of last {tail} evaluations) ≤ {value:g}, every seed" + (
        f", after spread_{pool}(e{epoch}) ≥ {min_early:g}" if min_early else "")
    return ClaimResult(name or f"end spread_{pool} ≤ {value:g} ({where_text(where)})", expected,
                       f"{_fmt(spreads)} (mean {np.mean(spreads):.3f}){early}", had and max(spreads) <= value,
                       {"spread": spreads})


def spread_shrinks(rows, *, where=None, pool: str = "ood", epoch: int = 5, min_shrink: float = 0.6, tail: int = 20,
                   min_early: float = 0.0, name=None) -> ClaimResult:
    """1 − spread(end) / spread(``epoch``) ≥ ``min_shrink`` for every seed, each with spread(``epoch``) ≥
    ``min_early`` (a shrink of a spread that never was is no result)."""
    seeds = _seeds(rows, where, "spread_shrinks")
    shrinks = []
    for groups in seeds.values():
        epochs, spread = spread_curve(groups, pool_metric(pool))
        early = value_at(epochs, spread, epoch)
        shrinks.append(1 - end_value(spread, tail) / early if early > 0 else float("nan"))
    had, early_text = _precondition(seeds, pool, epoch, min_early)
    ok = had and all(s >= min_shrink for s in shrinks)  # NaN (no early spread to shrink) fails
    return ClaimResult(name or f"spread_{pool} shrinks ≥ {min_shrink:.0%} ({where_text(where)})",
                       f"1 − spread_{pool}(end) / spread_{pool}(e{epoch}) ≥ {min_shrink:g}, every seed"
                       + (f", from spread_{pool}(e{epoch}) ≥ {min_early:g}" if min_early else ""),
                       f"{_fmt(shrinks)}{early_text}", ok, {"shrink": shrinks})


def _end_train_accuracy(by_ratio: dict[float, dict], ratio: float) -> float:
    nearest = min(by_ratio, key=lambda r: abs(np.log(r) - np.log(ratio)))
    return float(curve(by_ratio[nearest], "pools/train_accuracy")[1][-1])


def spread_kept(rows, *, where=None, baseline=None, pool: str = "ood", factor: float = 2.0, margin: float = 0.1,
                min_train_accuracy: float = 0.99, fit_ratio: float = 1.0, tail: int = 20, name=None) -> ClaimResult:
    """The regularised setting keeps the effect: per seed d = spread(end) of ``where`` − ``factor`` × spread(end)
    of ``baseline`` (same seed), whose 95% interval over seeds must clear ``margin`` (a difference, not a ratio: a
    vanishing baseline does not pass by itself); and the ``where`` member nearest ``fit_ratio`` (the unweighted one)
    ends at ≥ ``min_train_accuracy`` on the training set in every seed — a spread kept by a model too regularised
    to fit the data would be underfitting, not the paper's effect."""
    ours, base, seeds = _paired_end_spreads(rows, where, baseline, pool, tail, "spread_kept")
    fit = [_end_train_accuracy(g, fit_ratio) for g in _seeds(rows, where, "spread_kept").values()]
    iv = seed_interval(np.array([ours[s] - factor * base[s] for s in seeds]))
    fits = min(fit) >= min_train_accuracy
    return ClaimResult(name or f"{where_text(where)} keeps ≥ {factor:g}× spread_{pool} of {where_text(baseline)}",
                       f"spread_{pool}(end) − {factor:g} × that of {where_text(baseline)}, per seed: 95% interval ≥ "
                       f"{margin:g}; ratio-{fit_ratio:g} member's train accuracy ≥ {min_train_accuracy:g}",
                       f"{_fmt(ours[s] for s in seeds)} vs {_fmt(base[s] for s in seeds)}: {iv.text('+.3f')}; "
                       f"train accuracy {_fmt(fit)}", iv.clears(margin) and fits,
                       {"effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n, "train_accuracy": fit,
                        "spread": [ours[s] for s in seeds], "baseline": [base[s] for s in seeds]})


def spread_close(rows, *, where=None, baseline=None, pool: str = "ood", tolerance: float = 0.1, tail: int = 20,
                 name=None) -> ClaimResult:
    """|spread(end) of ``where`` − spread(end) of ``baseline``| ≤ ``tolerance``, seed by seed."""
    ours, base, seeds = _paired_end_spreads(rows, where, baseline, pool, tail, "spread_close")
    gaps = [ours[s] - base[s] for s in seeds]
    return ClaimResult(name or f"{where_text(where)} ≈ {where_text(baseline)} (spread_{pool})",
                       f"spread_{pool}(end) within {tolerance:g} of {where_text(baseline)}'s, every seed",
                       f"{_fmt(ours[s] for s in seeds)} vs {_fmt(base[s] for s in seeds)} (gaps "
                       + "/".join(f"{g:+.3f}" for g in gaps) + ")", max(abs(g) for g in gaps) <= tolerance,
                       {"gap": gaps})


def angle_decreases(rows, *, where=None, max_end_over_peak: float = 0.5, max_rise_deg: float = 0.5,
                    name=None) -> ClaimResult:
    """For every weighted member (ratio ≠ 1) the angle to the unweighted solution ends at ≤ ``max_end_over_peak``
    × its peak, and never rises by more than ``max_rise_deg`` between evaluations after the peak."""
    chosen = [r for r in require(rows, where, "angle_decreases") if float(r["ratio"]) != 1.0]
    if not chosen:
        raise ReproError(f"angle_decreases: no weighted (ratio ≠ 1) rows where {where}")
    ends, rises, peaks = [], [], []
    for r in chosen:
        _, angle = curve(r, "angle/to_unweighted_deg", epoch_key="angle/epoch")
        angle = angle[np.isfinite(angle)]
        k = int(np.argmax(angle))
        peaks.append(float(angle[k]))
        ends.append(float(angle[-1] / angle[k]) if angle[k] > 0 else float("nan"))
        rises.append(float(np.max(np.diff(angle[k:]), initial=0.0)))
    ok = all(e <= max_end_over_peak for e in ends) and max(rises) <= max_rise_deg
    return ClaimResult(name or f"angle to the unweighted solution decreases ({where_text(where)})",
                       f"angle(end) ≤ {max_end_over_peak:g} × peak and no rise > {max_rise_deg:g}° after the peak, "
                       "every weighted member",
                       f"worst end/peak {max(ends):.3f} (median {np.median(ends):.3f}), peaks {min(peaks):.1f}–"
                       f"{max(peaks):.1f}°, largest rise after the peak {max(rises):.3f}° over {len(chosen)} members",
                       ok, {"end_over_peak": ends, "max_rise": rises, "peak": peaks})


def _fit_epoch(epochs: np.ndarray, accuracy: np.ndarray) -> float:
    """The first evaluated epoch from which the training accuracy stays at 100% (inf if it never does)."""
    below = np.flatnonzero(accuracy < 1.0)
    if not len(below):
        return float(epochs[0])
    return float(epochs[below[-1] + 1]) if below[-1] + 1 < len(epochs) else float("inf")


def fits_before_spread_halves(rows, *, where=None, pool: str = "ood", epoch: int = 5, name=None) -> ClaimResult:
    """For every seed, every ratio's model reaches (and keeps) 100% training accuracy no later than the first
    evaluation at which spread(``pool``) is below half its value at ``epoch``: the effect fades once the training
    data are separated."""
    fit, half = [], []
    for groups in _seeds(rows, where, "fits_before_spread_halves").values():
        epochs, spread = spread_curve(groups, pool_metric(pool))
        early = value_at(epochs, spread, epoch)
        below = [e for e, s in zip(epochs, spread, strict=True) if e > epoch and s < early / 2]
        half.append(float(below[0]) if below else float("inf"))
        fit.append(max(_fit_epoch(*curve(r, "pools/train_accuracy")) for r in groups.values()))
    ok = all(f <= h for f, h in zip(fit, half, strict=True)) and all(np.isfinite(half))
    text = ", ".join(f"100% train at {f:g}, spread halved at {h:g}" for f, h in zip(fit, half, strict=True))
    return ClaimResult(name or f"the data are separated before spread_{pool} halves ({where_text(where)})",
                       f"every ratio at 100% train accuracy by the first epoch with spread_{pool} < ½ spread(e{epoch})",
                       text, ok, {"fit_epoch": fit, "half_epoch": half})
