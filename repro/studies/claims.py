"""Claims: named checks on a study's collected results, each giving expected, measured and a verdict.

A claim in a study YAML is ``{type: <name>, ...params}``; the parameters are the claim function's
keyword arguments. Metrics are averaged over the runs that share an ``x`` value (the seeds), after
filtering rows with ``where`` (e.g. ``where: {label_noise: 0.2}``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.errors import ReproError, import_object


class MissingRuns(ReproError):
    """A claim's rows are not in the results (e.g. ``--grid`` ran a subset): the claim is reported as not
    evaluated instead of stopping the report."""


@dataclass
class ClaimResult:
    name: str
    expected: str
    measured: str
    passed: bool
    values: dict

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def select(rows: list[dict], where: dict | None) -> list[dict]:
    return [r for r in rows if all(_eq(r.get(k), v) for k, v in (where or {}).items())]


def _eq(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


def curve(rows: list[dict], x: str, metric: str, where: dict | None = None):
    """(xs, mean, std, count) of ``metric`` against ``x``, averaged over the rows sharing an x."""
    if rows and not any(metric in r for r in rows):  # a metric no run logs: a typo in the claim, not a subset
        raise ReproError(f"no results with metric {metric!r}; the runs log {sorted(k for k in rows[0] if '/' in k)}")
    rows = [r for r in select(rows, where) if metric in r and r[metric] is not None and r[metric] == r[metric]]
    if not rows:
        raise MissingRuns(f"no results with metric {metric!r} (where {where}); did the study run?")
    xs = sorted({r[x] for r in rows})
    groups = [[float(r[metric]) for r in rows if r[x] == v] for v in xs]
    return (np.array(xs, dtype=float), np.array([np.mean(g) for g in groups]),
            np.array([np.std(g) for g in groups]), np.array([len(g) for g in groups]))


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
    xs, mean, _, _ = curve(rows, x, train_metric, where)
    fit = np.flatnonzero(mean <= threshold)
    return float(xs[fit[0]]) if len(fit) else None


def peak_near_threshold(rows, *, x, metric="test/error", train_metric="train/error", threshold=0.05, where=None,
                        search=None, tolerance_steps=1, name=None) -> ClaimResult:
    """The test-error peak sits within ``tolerance_steps`` grid positions of the interpolation
    threshold k* (the smallest x with mean train error ≤ ``threshold``)."""
    xs, mean, _, _ = curve(rows, x, metric, where)
    lo, hi = search or (xs.min(), xs.max())
    window = (xs >= lo) & (xs <= hi)
    i_peak = int(np.flatnonzero(window)[np.argmax(mean[window])])
    k_star = interpolation_threshold(rows, x=x, train_metric=train_metric, threshold=threshold, where=where)
    expected = f"|pos(peak) − pos(k*)| ≤ {tolerance_steps} grid steps, k* = first {x} with {train_metric} ≤ {threshold}"
    if k_star is None:
        return ClaimResult(name or "peak at the interpolation threshold", expected,
                           f"no {x} reached {train_metric} ≤ {threshold}", False, {"x_peak": float(xs[i_peak])})
    steps = abs(i_peak - int(np.flatnonzero(xs == k_star)[0]))
    return ClaimResult(
        name or "peak at the interpolation threshold", expected,
        f"peak at {x}={_xfmt(xs[i_peak])}, k*={_xfmt(k_star)} ({steps} step{'s' if steps != 1 else ''} apart)",
        steps <= tolerance_steps, {"x_peak": float(xs[i_peak]), "k_star": k_star, "steps": steps},
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


def within(rows, *, metric, value, tolerance, where=None, name=None) -> ClaimResult:
    """Mean of ``metric`` (over the selected rows) within ``tolerance`` of the paper's ``value``."""
    vals = [float(r[metric]) for r in select(rows, where) if metric in r]
    if not vals:
        raise MissingRuns(f"no results with metric {metric!r} where {where}")
    got = float(np.mean(vals))
    return ClaimResult(name or f"{metric} matches the paper", f"{value:g} ± {tolerance:g}",
                       f"{got:.4f} ± {np.std(vals):.4f} (n={len(vals)})", abs(got - value) <= tolerance,
                       {"mean": got})


def _where_text(where: dict) -> str:
    """``{'method': 'LDAM-DRW', 'source': 'cifar10'}`` → ``LDAM-DRW, cifar10`` for a readable verdict table."""
    return ", ".join(str(v) for v in where.values()) if isinstance(where, dict) else str(where)


def less_than(rows, *, metric, a, b, margin=0.0, per_seed=False, name=None) -> ClaimResult:
    """Mean ``metric`` of rows ``a`` below that of rows ``b`` by at least ``margin`` (with
    ``per_seed``: for every seed separately)."""
    ra, rb = select(rows, a), select(rows, b)
    if not ra or not rb:
        raise MissingRuns(f"less_than: no rows for {a if not ra else b}")
    ma, mb = float(np.mean([r[metric] for r in ra])), float(np.mean([r[metric] for r in rb]))
    ok = mb - ma >= margin
    measured = f"{ma:.3f} vs {mb:.3f} (gap {mb - ma:+.3f})"
    values = {"a": ma, "b": mb}
    if per_seed:
        seeds = sorted({r.get("seed") for r in ra} & {r.get("seed") for r in rb})
        gaps = [float(np.mean([r[metric] for r in rb if r.get("seed") == s])
                      - np.mean([r[metric] for r in ra if r.get("seed") == s])) for s in seeds]
        ok = ok and bool(gaps) and all(g >= margin for g in gaps)
        measured += "; per seed " + ", ".join(f"{g:+.3f}" for g in gaps)
        values["gaps"] = gaps
    expected = f"{_where_text(b)} − {_where_text(a)} ≥ {margin:g}" + (" for every seed" if per_seed else "")
    return ClaimResult(name or f"{metric}: {a} < {b}", expected, measured, ok, values)


def read_history(run_dir: str | Path, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, value) of one metric from a run's CSV log (``<run_dir>/metrics.csv``)."""
    epochs, values = [], []
    with open(Path(run_dir) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get(metric):
                epochs.append(float(row["epoch"]))
                values.append(float(row[metric]))
    return np.array(epochs), np.array(values)


def mean_history(rows: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Seed-mean history of ``metric`` over the given runs, truncated to the shortest."""
    hist = [read_history(r["run_dir"], metric) for r in rows]
    n = min(len(h[0]) for h in hist)
    if n == 0:
        raise ReproError(f"no history of {metric!r} in {[r['run_dir'] for r in rows]}")
    return hist[0][0][:n], np.mean([h[1][:n] for h in hist], axis=0)


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


CLAIMS: dict[str, Callable[..., ClaimResult]] = {
    "peak_exceeds_ends": peak_exceeds_ends,
    "peak_near_threshold": peak_near_threshold,
    "peak_grows_with": peak_grows_with,
    "within": within,
    "less_than": less_than,
    "epochwise_double_descent": epochwise_double_descent,
    "last_exceeds_min": last_exceeds_min,
}


def resolve_claim(kind) -> Callable[..., ClaimResult]:
    """A claim function by its registered name, or by an import path ``package.module.function`` (so a
    paper module or a user's package can add claim types without touching this file)."""
    if isinstance(kind, str) and kind in CLAIMS:
        return CLAIMS[kind]
    if isinstance(kind, str) and "." in kind:
        return import_object(kind, what="claim type")
    raise ReproError(f"unknown claim type {kind!r}; known: {', '.join(CLAIMS)}, or an import path "
                     "such as repro.methods.slingshot_claims.time_ratio")


def evaluate(claims: list[dict], rows: list[dict], *, x: str | None = None) -> list[ClaimResult]:
    """Evaluate a study's claims; ``x`` (the study's axis) is the default for claims that take one."""
    results = []
    for spec in claims:
        spec = dict(spec)
        kind = spec.pop("type", None)
        fn = resolve_claim(kind)
        if x is not None and "x" in fn.__code__.co_varnames and "x" not in spec:
            spec["x"] = x
        try:
            results.append(fn(rows, **spec))
        except MissingRuns as err:
            name = spec.get("name") or kind
            results.append(ClaimResult(name, "(needs runs that were not run)", f"not evaluated: {err}", False, {}))
        except TypeError as err:
            raise ReproError(f"claim {kind}: {err}") from err
    return results


def gain_largest_at(rows, *, metrics, a, b, name=None) -> ClaimResult:
    """Seed-mean gain mean(a) − mean(b) is largest for the *last* of ``metrics`` (e.g. head, medium,
    tail accuracy: the tail gains most, Cao et al. 2019, card §6 claim 4)."""
    ra, rb = select(rows, a), select(rows, b)
    if not ra or not rb:
        raise MissingRuns(f"gain_largest_at: no rows for {a if not ra else b}")
    gains = [float(np.mean([r[m] for r in ra]) - np.mean([r[m] for r in rb])) for m in metrics]
    ok = all(gains[-1] > g for g in gains[:-1])
    observed = ", ".join(f"{m.split('/')[-1]} {g:+.3f}" for m, g in zip(metrics, gains, strict=True))
    return ClaimResult(name or f"{metrics[-1]} gains most", f"gain of {metrics[-1]} is the largest",
                       observed, ok, {m: g for m, g in zip(metrics, gains, strict=True)})


CLAIMS["gain_largest_at"] = gain_largest_at
