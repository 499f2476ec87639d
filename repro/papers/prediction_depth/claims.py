"""Claim types of the prediction-depth studies, named in their YAMLs by import path
(``type: repro.papers.prediction_depth.claims.falls_with_depth``).

Each reads the study's per-example results (``examples.py``), computes its effect once per seed (a rank
correlation over the examples, or a gap between two groups of them) and judges the interval of that effect over
seeds (``repro.studies.stats.seed_interval``): a claim passes only when the whole interval clears its threshold.
``where`` picks one setting's runs in a study of several (e.g. ``{setting: cifar10_resnet18}``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from repro.errors import ReproError
from repro.papers.prediction_depth.examples import Examples, load_examples, seed_mean
from repro.studies.claims import ClaimResult
from repro.studies.results import select
from repro.studies.stats import seed_interval

__all__ = ["depth_bins", "falls_with_depth", "flipped_deeper", "rank_correlation"]

QUANTITIES = {
    "accuracy": lambda ex: ex.val_correct,
    "confidence": lambda ex: ex["val_conf"],
    "margin": lambda ex: ex["val_margin"],
}


def _quantity(ex: Examples, name: str) -> np.ndarray:
    if name in QUANTITIES:
        return QUANTITIES[name](ex)
    if name in ex.arrays:
        return ex[name]
    raise ReproError(f"unknown per-example quantity {name!r}; known: {', '.join([*QUANTITIES, *ex.arrays])}")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ over the examples where both are defined; NaN when either is constant there."""
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def _per_seed_spearman(ex: Examples, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([_spearman(a[s], b[s]) for s in range(len(ex.seeds))])


def depth_bins(depth: np.ndarray, values: np.ndarray, min_count: int = 20) -> list[tuple[int, float, int]]:
    """(depth, mean value, count) for each integer depth bin (the seed-mean depth rounded) with ≥ ``min_count``
    examples, in increasing depth."""
    ok = ~(np.isnan(depth) | np.isnan(values))
    bins = np.rint(depth[ok]).astype(int)
    out = []
    for b in np.unique(bins):
        sel = bins == b
        if sel.sum() >= min_count:
            out.append((int(b), float(values[ok][sel].mean()), int(sel.sum())))
    return out


def rank_correlation(rows, *, a: str, b: str, threshold: float, sign: int = 1, name: str | None = None,
                     where: dict | None = None, **_) -> ClaimResult:
    """Spearman's ρ between two per-example quantities, once per seed; passes when the interval over seeds lies
    beyond ``sign``·``threshold`` (``sign`` +1: ρ ≥ threshold, −1: ρ ≤ −threshold)."""
    ex = load_examples(select(rows, where))
    rhos = _per_seed_spearman(ex, _quantity(ex, a), _quantity(ex, b))
    return _judge_correlation(rhos, a, b, threshold, sign, name)


def _judge_correlation(rhos, a, b, threshold, sign, name, extra: str = "", ok_extra: bool = True,
                       values: dict | None = None) -> ClaimResult:
    cmp = "≥" if sign > 0 else "≤"
    expected = f"Spearman ρ({a}, {b}) per seed {cmp} {sign * threshold:+g} over the whole 95% interval" + extra
    if np.isnan(rhos).any():
        return ClaimResult(name or f"ρ({a}, {b})", expected, f"ρ undefined (a constant quantity) in "
                           f"{int(np.isnan(rhos).sum())} of {len(rhos)} seeds", False, {"rho": rhos.tolist()})
    iv = seed_interval(rhos)
    ok = iv.low >= threshold if sign > 0 else iv.high <= -threshold
    measured = f"ρ = {iv.text('+.3f')}; per seed " + ", ".join(f"{r:+.2f}" for r in rhos)
    return ClaimResult(name or f"ρ({a}, {b})", expected, measured, bool(ok and ok_extra),
                       {**iv.values(), "rho": rhos.tolist(), **(values or {})})


def falls_with_depth(rows, *, quantity: str, threshold: float, min_count: int = 20, name: str | None = None,
                     where: dict | None = None, **_) -> ClaimResult:
    """A held-out quantity (``accuracy``, ``confidence``) falls as held-out PD grows: per seed Spearman
    ρ(val-PD, quantity) ≤ −threshold over the whole interval, and over bins of the seed-mean PD holding ≥
    ``min_count`` examples the seed-mean quantity never rises from one bin to the next."""
    ex = load_examples(select(rows, where))
    q = _quantity(ex, quantity)
    rhos = _per_seed_spearman(ex, ex["val_pd"], q)
    bins = depth_bins(seed_mean(ex["val_pd"]), seed_mean(q), min_count)
    monotone = len(bins) >= 2 and all(b[1] <= a[1] for a, b in zip(bins, bins[1:], strict=False))
    shown = "; bins " + ", ".join(f"PD {d}: {v:.3f} (n={n})" for d, v, n in bins)
    result = _judge_correlation(rhos, "held-out PD", quantity, threshold, -1, name,
                                extra=f"; non-increasing over PD bins of ≥ {min_count} examples (≥ 2 bins)",
                                ok_extra=monotone, values={"bins": bins, "monotone": monotone})
    result.measured += shown + ("" if monotone else " — not non-increasing")
    return result


def flipped_deeper(rows, *, margin: float, name: str | None = None, where: dict | None = None, **_) -> ClaimResult:
    """Training examples whose label was flipped have a higher train-PD than clean ones: per seed mean train-PD
    (flipped) − mean train-PD (clean), whose interval over seeds must lie at or above ``margin`` layers."""
    ex = load_examples(select(rows, where))
    pd, flipped = ex["train_pd"], ex["flipped"]
    expected = f"mean train-PD of flipped − clean examples ≥ {margin:g} over the whole 95% interval"
    gaps, counts = [], []
    for s in range(len(ex.seeds)):
        has = ~np.isnan(pd[s])
        f, c = has & (flipped[s] == 1), has & (flipped[s] == 0)
        if not f.any() or not c.any():
            return ClaimResult(name or "flipped examples are deeper", expected,
                               f"seed {ex.seeds[s]}: {int(f.sum())} flipped and {int(c.sum())} clean training "
                               "examples; both groups are needed", False, {})
        gaps.append(float(pd[s][f].mean() - pd[s][c].mean()))
        counts.append(int(f.sum()))
    iv = seed_interval(np.array(gaps))
    measured = f"gap {iv.text('+.2f')} layers; per seed " + ", ".join(f"{g:+.2f}" for g in gaps) + \
        f" ({int(np.mean(counts))} flipped examples per seed)"
    return ClaimResult(name or "flipped examples are deeper", expected, measured, iv.low >= margin,
                       {**iv.values(), "gaps": gaps})
