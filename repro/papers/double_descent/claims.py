"""Claim types of the double-descent studies, named in their YAMLs by import path
(``type: repro.papers.double_descent.claims.peak_exceeds_ends``).

Model-wise claims read the seed-mean curve of a metric along the study's axis ``x`` (the width); epoch-wise
claims read each run's logged history.
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.studies.claims import ClaimResult
from repro.studies.results import curve, first_x_at_most, mean_history, select


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _xfmt(v: float) -> str:
    return f"{v:g}"


def peak_exceeds_ends(rows, *, x, metric="test/error", where=None, search=None, first_min_from=None,
                      margin_left=0.05, margin_right=0.03, last_below_first_min=None, name=None) -> ClaimResult:
    """The metric peaks at an intermediate x: above the first minimum before it by ``margin_left``
    and above the value at the largest x by ``margin_right`` (the second descent). With
    ``last_below_first_min``, the largest x must also beat the first minimum by that much."""
    xs, mean, _, _ = curve(rows, x, metric, where)
    lo, hi = search or (xs.min(), xs.max())
    window = (xs >= lo) & (xs <= hi)
    i_peak = int(np.flatnonzero(window)[np.argmax(mean[window])])
    before = (xs < xs[i_peak]) & (xs >= (first_min_from if first_min_from is not None else xs.min()))
    if not before.any() or i_peak == len(xs) - 1:
        return ClaimResult(name or "peak exceeds both ends", f"peak − first min ≥ {margin_left}, peak − last ≥ "
                           f"{margin_right}", f"peak at {x}={_xfmt(xs[i_peak])}: at the edge of the grid", False,
                           {"x_peak": float(xs[i_peak])})
    i_min = int(np.flatnonzero(before)[np.argmin(mean[before])])
    rise, fall = mean[i_peak] - mean[i_min], mean[i_peak] - mean[-1]
    expected = f"peak − first min ≥ {margin_left:g}; peak − {x}={_xfmt(xs[-1])} ≥ {margin_right:g}"
    ok = rise >= margin_left and fall >= margin_right
    if last_below_first_min is not None:
        expected += f"; first min − last ≥ {last_below_first_min:g}"
        ok = ok and mean[i_min] - mean[-1] >= last_below_first_min
    return ClaimResult(
        name or "double descent: peak exceeds both ends",
        expected,
        f"first min {_fmt(mean[i_min])} at {x}={_xfmt(xs[i_min])}, peak {_fmt(mean[i_peak])} at "
        f"{x}={_xfmt(xs[i_peak])}, last {_fmt(mean[-1])} (rise {rise:+.3f}, fall {fall:+.3f})",
        bool(ok),
        {"x_peak": float(xs[i_peak]), "x_first_min": float(xs[i_min]), "peak": float(mean[i_peak]),
         "first_min": float(mean[i_min]), "last": float(mean[-1]), "rise": float(rise), "fall": float(fall)},
    )


def interpolation_threshold(rows, *, x, train_metric="train/error", threshold=0.05, where=None) -> float | None:
    """Smallest x whose seed-mean training error is ≤ threshold (the EMC threshold k*)."""
    return first_x_at_most(rows, x=x, metric=train_metric, threshold=threshold, where=where)


def peak_near_threshold(rows, *, x, metric="test/error", train_metric="train/error", threshold=0.05, where=None,
                        search=None, tolerance_steps=None, tolerance=None, name=None) -> ClaimResult:
    """The test-error peak sits near the interpolation threshold k* (the smallest x with mean train error ≤
    ``threshold``): within ``tolerance`` in x itself (|x_peak − k*| ≤ 2 widths, as the paper's claim is stated),
    or within ``tolerance_steps`` positions of the grid (for a log-spaced grid, where a fixed width is no
    scale). Exactly one of the two is given."""
    if (tolerance is None) == (tolerance_steps is None):
        raise ReproError("peak_near_threshold: give exactly one of tolerance (in x) and tolerance_steps (grid "
                         "positions)")
    xs, mean, _, _ = curve(rows, x, metric, where)
    lo, hi = search or (xs.min(), xs.max())
    window = (xs >= lo) & (xs <= hi)
    i_peak = int(np.flatnonzero(window)[np.argmax(mean[window])])
    k_star = interpolation_threshold(rows, x=x, train_metric=train_metric, threshold=threshold, where=where)
    within = f"{tolerance:g} in {x}" if tolerance is not None else f"{tolerance_steps} grid steps"
    expected = f"peak within {within} of k* = first {x} with {train_metric} ≤ {threshold}"
    if k_star is None:
        return ClaimResult(name or "peak at the interpolation threshold", expected,
                           f"no {x} reached {train_metric} ≤ {threshold}", False, {"x_peak": float(xs[i_peak])})
    steps = abs(i_peak - int(np.flatnonzero(xs == k_star)[0]))
    distance = abs(float(xs[i_peak]) - k_star)
    ok = distance <= tolerance if tolerance is not None else steps <= tolerance_steps
    return ClaimResult(
        name or "peak at the interpolation threshold", expected,
        f"peak at {x}={_xfmt(xs[i_peak])}, k*={_xfmt(k_star)} ({steps} step{'s' if steps != 1 else ''}, "
        f"{distance:g} in {x} apart)", ok, {"x_peak": float(xs[i_peak]), "k_star": k_star, "steps": steps,
                                            "distance": distance},
    )


def peak_grows_with(rows, *, x, by, metric="test/error", search=None, first_min_from=None, min_increase=0.0,
                    name=None) -> ClaimResult:
    """Peak height (peak − first minimum before it) is non-decreasing in ``by`` (e.g. label noise)."""
    levels = sorted({r[by] for r in rows})
    heights = []
    for level in levels:
        xs, mean, _, _ = curve(rows, x, metric, {by: level})
        lo, hi = search or (xs.min(), xs.max())
        start = first_min_from if first_min_from is not None else xs.min()
        window = (xs >= max(lo, start)) & (xs <= hi)
        i_peak = int(np.flatnonzero(window)[np.argmax(mean[window])])
        before = (xs <= xs[i_peak]) & (xs >= start)
        heights.append(float(mean[i_peak] - mean[before].min()))
    ok = all(b - a >= min_increase for a, b in zip(heights, heights[1:], strict=False))
    return ClaimResult(
        name or f"peak grows with {by}", f"peak height non-decreasing in {by}",
        ", ".join(f"{by}={lv:g}: {h:.3f}" for lv, h in zip(levels, heights, strict=True)), ok,
        {"levels": levels, "heights": heights},
    )


def epochwise_double_descent(rows, *, where, metric="test/error", min_rise=0.01, min_fall=0.01,
                             name=None) -> ClaimResult:
    """Over training, ``metric`` has an early minimum, then a later maximum at least ``min_rise``
    above it, then a last value at least ``min_fall`` below that maximum."""
    epochs, mean = mean_history(select(rows, where), metric)
    i_min = int(np.argmin(mean[: max(1, len(mean) // 2)]))
    i_max = i_min + int(np.argmax(mean[i_min:]))
    rise, fall = mean[i_max] - mean[i_min], mean[i_max] - mean[-1]
    return ClaimResult(
        name or f"epoch-wise double descent ({where})", f"rise ≥ {min_rise:g} after the early minimum, then "
        f"fall ≥ {min_fall:g}", f"min {_fmt(mean[i_min])} at epoch {epochs[i_min] + 1:g}, max {_fmt(mean[i_max])} "
        f"at epoch {epochs[i_max] + 1:g}, last {_fmt(mean[-1])}", bool(rise >= min_rise and fall >= min_fall),
        {"min": float(mean[i_min]), "max": float(mean[i_max]), "last": float(mean[-1])},
    )


def last_exceeds_min(rows, *, where, metric="test/error", margin=0.01, name=None) -> ClaimResult:
    """The last logged ``metric`` exceeds its minimum over training by ``margin`` (no second descent)."""
    epochs, mean = mean_history(select(rows, where), metric)
    i_min = int(np.argmin(mean))
    return ClaimResult(name or f"last exceeds the minimum ({where})", f"last − min ≥ {margin:g}",
                       f"min {_fmt(mean[i_min])} at epoch {epochs[i_min] + 1:g}, last {_fmt(mean[-1])}",
                       bool(mean[-1] - mean[i_min] >= margin), {"min": float(mean[i_min]), "last": float(mean[-1])})
