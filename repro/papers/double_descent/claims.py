"""Claim types of the double-descent studies, named in their YAMLs by import path
(``type: repro.papers.double_descent.claims.peak_exceeds_ends``).

Model-wise claims read the seed-mean curve of a metric along the study's axis ``x`` (the width); epoch-wise
claims read each run's logged history. Each effect comes with a 95% bootstrap interval over seeds (the statistic
recomputed on the mean curve of each resample of seeds), and a claim passes only when the interval clears its
margin.
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.studies.claims import ClaimResult
from repro.studies.results import MissingRuns, curve, first_x_at_most, mean_history, read_history, select
from repro.studies.stats import seed_interval


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _xfmt(v: float) -> str:
    return f"{v:g}"


def _by_seed(rows, x, metric, where=None) -> tuple[np.ndarray, np.ndarray]:
    """(xs, values[seed, x]) of ``metric``: one row per seed that has every x (a seed missing an x is left out)."""
    xs, _, _, _ = curve(rows, x, metric, where)
    chosen = [r for r in select(rows, where) if r.get(metric) is not None and r[metric] == r[metric]]
    table: dict = {}
    for r in chosen:
        table.setdefault(r.get("seed"), {})[float(r[x])] = float(r[metric])
    full = [s for s in sorted(table, key=str) if all(float(v) in table[s] for v in xs)]
    if not full:
        raise MissingRuns(f"no seed has {metric!r} at every {x} (where {where})")
    return xs, np.array([[table[s][float(v)] for v in xs] for s in full])


def _peak(xs: np.ndarray, mean: np.ndarray, search=None, first_min_from=None):
    """(i_peak, i_min): the maximum of ``mean`` inside the search window (from ``first_min_from`` on) and the
    minimum before it from ``first_min_from`` on; i_min is None when the peak is the window's first point."""
    start = first_min_from if first_min_from is not None else xs.min()
    lo, hi = search or (xs.min(), xs.max())
    window = (xs >= max(lo, start)) & (xs <= hi)
    if not window.any():  # e.g. a --grid subset, or a study whose other widths failed
        raise MissingRuns(f"no results at x in [{max(lo, start):g}, {hi:g}], where the peak is searched")
    i_peak = int(np.flatnonzero(window)[np.argmax(mean[window])])
    before = (xs < xs[i_peak]) & (xs >= start)
    return i_peak, (int(np.flatnonzero(before)[np.argmin(mean[before])]) if before.any() else None)


def _rise_fall(xs, search, first_min_from):
    """Statistics of a (seeds, x) sample: the mean curve's peak − first minimum, and peak − last value (−1 where
    the peak is at an end of the grid: no interior peak)."""
    def rise(sample):
        mean = np.mean(sample, axis=0)
        i_peak, i_min = _peak(xs, mean, search, first_min_from)
        return -1.0 if i_min is None or i_peak == len(xs) - 1 else float(mean[i_peak] - mean[i_min])

    def fall(sample):
        mean = np.mean(sample, axis=0)
        i_peak, i_min = _peak(xs, mean, search, first_min_from)
        return -1.0 if i_min is None or i_peak == len(xs) - 1 else float(mean[i_peak] - mean[-1])
    return rise, fall


def peak_exceeds_ends(rows, *, x, metric="test/error", where=None, search=None, first_min_from=None,
                      margin_left=0.05, margin_right=0.03, last_below_first_min=None, name=None) -> ClaimResult:
    """The metric peaks at an intermediate x: above the first minimum before it (from ``first_min_from`` on) by
    ``margin_left`` and above the value at the largest x by ``margin_right`` (the second descent), both as the
    95% interval over seeds (resampled seeds, the mean curve's rise and fall). With ``last_below_first_min``, the
    largest x must also beat the first minimum by that much (seed mean)."""
    xs, sample = _by_seed(rows, x, metric, where)
    mean = sample.mean(axis=0)
    i_peak, i_min = _peak(xs, mean, search, first_min_from)
    if i_min is None or i_peak == len(xs) - 1:
        return ClaimResult(name or "peak exceeds both ends", f"peak − first min ≥ {margin_left}, peak − last ≥ "
                           f"{margin_right}", f"peak at {x}={_xfmt(xs[i_peak])}: at the edge of the grid", False,
                           {"x_peak": float(xs[i_peak])})
    rise_of, fall_of = _rise_fall(xs, search, first_min_from)
    up, down = seed_interval(sample, statistic=rise_of), seed_interval(sample, statistic=fall_of)
    rise, fall = mean[i_peak] - mean[i_min], mean[i_peak] - mean[-1]
    expected = (f"peak − first min ≥ {margin_left:g}; peak − {x}={_xfmt(xs[-1])} ≥ {margin_right:g} (95% CIs over "
                "seeds)")
    ok = up.clears(margin_left) and down.clears(margin_right)
    if last_below_first_min is not None:
        expected += f"; first min − last ≥ {last_below_first_min:g}"
        ok = ok and mean[i_min] - mean[-1] >= last_below_first_min
    return ClaimResult(
        name or "double descent: peak exceeds both ends",
        expected,
        f"first min {_fmt(mean[i_min])} at {x}={_xfmt(xs[i_min])}, peak {_fmt(mean[i_peak])} at "
        f"{x}={_xfmt(xs[i_peak])}, last {_fmt(mean[-1])} (rise {up.text('+.3f')}, fall {down.text('+.3f')})",
        bool(ok),
        {"x_peak": float(xs[i_peak]), "x_first_min": float(xs[i_min]), "peak": float(mean[i_peak]),
         "first_min": float(mean[i_min]), "last": float(mean[-1]), "rise": float(rise), "fall": float(fall),
         "effect": float(rise), "ci": [up.low, up.high], "n": up.n, "fall_ci": [down.low, down.high]},
    )


def interpolation_threshold(rows, *, x, train_metric="train/error", threshold=0.05, where=None) -> float | None:
    """Smallest x whose seed-mean training error is ≤ threshold (the EMC threshold k*)."""
    return first_x_at_most(rows, x=x, metric=train_metric, threshold=threshold, where=where)


def peak_near_threshold(rows, *, x, metric="test/error", train_metric="train/error", threshold=0.05, where=None,
                        search=None, tolerance_steps=None, tolerance=None, first_min_from=None, min_rise=0.0,
                        min_fall=0.0, name=None) -> ClaimResult:
    """The test-error peak sits near the interpolation threshold k* (the smallest x with mean train error ≤
    ``threshold``): within ``tolerance`` in x itself (|x_peak − k*| ≤ 2 widths, as the paper's claim is stated),
    or within ``tolerance_steps`` positions of the grid (for a log-spaced grid, where a fixed width is no
    scale). Exactly one of the two is given.

    A position needs a peak: the seed-mean maximum (searched from ``first_min_from`` on) must be interior, above
    the minimum before it by more than ``min_rise`` and above the largest x's value by more than ``min_fall``;
    a curve that only falls (its maximum at the window's first x) or only rises fails, wherever k* is."""
    if (tolerance is None) == (tolerance_steps is None):
        raise ReproError("peak_near_threshold: give exactly one of tolerance (in x) and tolerance_steps (grid "
                         "positions)")
    xs, mean, _, _ = curve(rows, x, metric, where)
    i_peak, i_min = _peak(xs, mean, search, first_min_from)
    k_star = interpolation_threshold(rows, x=x, train_metric=train_metric, threshold=threshold, where=where)
    within = f"{tolerance:g} in {x}" if tolerance is not None else f"{tolerance_steps} grid steps"
    expected = (f"an interior peak (rise > {min_rise:g}, fall > {min_fall:g}) within {within} of k* = first {x} "
                f"with {train_metric} ≤ {threshold}")
    if i_min is None or i_peak == len(xs) - 1 or not (mean[i_peak] - mean[i_min] > min_rise
                                                     and mean[i_peak] - mean[-1] > min_fall):
        before = ("is the window's first point" if i_min is None
                  else f"rises {mean[i_peak] - mean[i_min]:+.3f} over the minimum before it")
        return ClaimResult(name or "peak at the interpolation threshold", expected,
                           f"no interior peak: the maximum at {x}={_xfmt(xs[i_peak])} {before} and falls "
                           f"{mean[i_peak] - mean[-1]:+.3f} to {x}={_xfmt(xs[-1])}"
                           + ("" if k_star is None else f" (k*={_xfmt(k_star)})"), False,
                           {"x_peak": float(xs[i_peak]), "k_star": k_star, "interior": False})
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
                                            "distance": distance, "interior": True},
    )


def peak_grows_with(rows, *, x, by, metric="test/error", search=None, first_min_from=None, min_increase=0.0,
                    name=None) -> ClaimResult:
    """Peak height (peak − first minimum before it) grows with ``by`` (e.g. label noise): the smallest step in
    height from one level to the next has a 95% interval over seeds (resampled seeds, mean curves) strictly above
    ``min_increase``. Equal levels (a flat ordering) fail."""
    levels = sorted({r[by] for r in rows if by in r})
    if len(levels) < 2:  # e.g. a --grid subset of one level: nothing to compare, the claim is not run
        raise MissingRuns(f"peak_grows_with: needs two levels of {by!r}, the results have {levels}")
    samples = [_by_seed(rows, x, metric, {by: level}) for level in levels]
    n = min(len(v) for _, v in samples)
    xs = samples[0][0]
    stacked = np.stack([v[:n] for _, v in samples], axis=1)  # (seed, level, x)
    start = first_min_from if first_min_from is not None else xs.min()

    def heights(sample) -> list[float]:
        out = []
        for level in range(sample.shape[1]):
            mean = np.mean(sample[:, level], axis=0)
            i_peak, _ = _peak(xs, mean, search, start)
            before = (xs <= xs[i_peak]) & (xs >= start)
            out.append(float(mean[i_peak] - mean[before].min()))
        return out

    def smallest_step(sample) -> float:
        h = heights(sample)
        return min(b - a for a, b in zip(h, h[1:], strict=False)) if len(h) > 1 else float("-inf")

    h = heights(stacked)
    iv = seed_interval(stacked, statistic=smallest_step)
    ok = bool(np.isfinite(iv.low) and iv.low > min_increase)
    return ClaimResult(
        name or f"peak grows with {by}", f"smallest step in peak height along {by} > {min_increase:g} (95% CI over "
        "seeds)", ", ".join(f"{by}={lv:g}: {v:.3f}" for lv, v in zip(levels, h, strict=True))
        + f"; smallest step {iv.text('+.3f')}", bool(ok),
        {"levels": levels, "heights": h, "effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n},
    )


def _histories(rows, where, metric) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values[seed, epoch]) of the selected runs, truncated to the shortest."""
    chosen = select(rows, where)
    epochs, _ = mean_history(chosen, metric)
    hist = [read_history(r["run_dir"], metric)[1][: len(epochs)] for r in chosen]
    return epochs, np.array(hist)


def _dd_stats(sample) -> tuple[float, float, int, int]:
    mean = np.mean(sample, axis=0)
    i_min = int(np.argmin(mean[: max(1, len(mean) // 2)]))
    i_max = i_min + int(np.argmax(mean[i_min:]))
    return float(mean[i_max] - mean[i_min]), float(mean[i_max] - mean[-1]), i_min, i_max


def epochwise_double_descent(rows, *, where, metric="test/error", min_rise=0.01, min_fall=0.01,
                             name=None) -> ClaimResult:
    """Over training, ``metric`` has an early minimum (first half), then a later maximum at least ``min_rise``
    above it, then a last value at least ``min_fall`` below that maximum: 95% intervals over seeds (resampled
    seeds, the mean history's rise and fall)."""
    epochs, sample = _histories(rows, where, metric)
    mean = sample.mean(axis=0)
    rise, fall, i_min, i_max = _dd_stats(sample)
    up = seed_interval(sample, statistic=lambda s: _dd_stats(s)[0])
    down = seed_interval(sample, statistic=lambda s: _dd_stats(s)[1])
    return ClaimResult(
        name or f"epoch-wise double descent ({where})", f"rise ≥ {min_rise:g} after the early minimum, then "
        f"fall ≥ {min_fall:g} (95% CIs over seeds)", f"min {_fmt(mean[i_min])} at epoch {epochs[i_min] + 1:g}, max "
        f"{_fmt(mean[i_max])} at epoch {epochs[i_max] + 1:g}, last {_fmt(mean[-1])}; rise {up.text('+.3f')}, fall "
        f"{down.text('+.3f')}", bool(up.clears(min_rise) and down.clears(min_fall)),
        {"min": float(mean[i_min]), "max": float(mean[i_max]), "last": float(mean[-1]), "effect": rise,
         "ci": [up.low, up.high], "n": up.n, "fall": fall, "fall_ci": [down.low, down.high]},
    )


def last_exceeds_min(rows, *, where, metric="test/error", margin=0.01, name=None) -> ClaimResult:
    """The last logged ``metric`` exceeds its minimum over training by ``margin`` (no second descent): the 95%
    interval over seeds of the mean history's last − min clears ``margin``."""
    epochs, sample = _histories(rows, where, metric)
    mean = sample.mean(axis=0)
    i_min = int(np.argmin(mean))
    iv = seed_interval(sample, statistic=lambda s: float(np.mean(s, axis=0)[-1] - np.mean(s, axis=0).min()))
    return ClaimResult(name or f"last exceeds the minimum ({where})", f"last − min ≥ {margin:g} (95% CI over seeds)",
                       f"min {_fmt(mean[i_min])} at epoch {epochs[i_min] + 1:g}, last {_fmt(mean[-1])}; last − min "
                       f"{iv.text('+.3f')}", bool(iv.clears(margin)),
                       {"min": float(mean[i_min]), "last": float(mean[-1]), "effect": iv.estimate,
                        "ci": [iv.low, iv.high], "n": iv.n})
