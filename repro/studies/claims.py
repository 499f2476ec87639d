"""Claims: named checks on a study's collected results, each giving expected, measured and a verdict.

A claim in a study YAML is ``{type: <name or import path>, ...params}``; the parameters are the claim
function's keyword arguments. The generic checks live here (``less_than``, ``within``, ``at_least``,
``at_most``, ``close``, ``gain_largest_at``, ``ratio_at_most``, ``exceeds_on_all``, ``within_table``); a paper's
own claim types live in its package and are named by import path (``type: repro.papers.<paper>.claims.<function>``).

The protocol: a claim is ``f(rows, **params) -> ClaimResult``. When the rows it needs are absent (a ``--grid``
subset, a run that failed) it raises :class:`~repro.studies.results.MissingRuns` (``require`` does this), and
the claim's verdict is NOT RUN (neither PASS nor FAIL), never a crash.

Comparison claims judge their effect against seed noise: the effect's bootstrap interval over seeds
(:func:`repro.studies.stats.seed_interval`) must clear the margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from repro.errors import ReproError, import_object
from repro.studies.results import MissingRuns, select
from repro.studies.stats import Interval, mean_difference_interval, paired_gaps, seed_interval

__all__ = ["CLAIMS", "ClaimResult", "MissingRuns", "at_least", "at_most", "close", "difference_interval", "evaluate",
           "exceeds_on_all", "exit_status", "gain_largest_at", "less_than", "ratio_at_most", "require",
           "resolve_claim", "summary", "values_of", "within", "within_table"]


@dataclass
class ClaimResult:
    name: str
    expected: str
    measured: str
    passed: bool
    values: dict
    not_run: bool = False  # its runs are outside the study's --grid subset: neither PASS nor FAIL

    @property
    def verdict(self) -> str:
        return "NOT RUN" if self.not_run else "PASS" if self.passed else "FAIL"

    def as_json(self) -> dict:
        return {"name": self.name, "expected": self.expected, "measured": self.measured, "passed": self.passed,
                "verdict": self.verdict, "values": self.values}


def require(rows: list[dict], where: dict | None, claim: str) -> list[dict]:
    """The rows matching ``where``; :class:`MissingRuns` when there are none."""
    chosen = select(rows, where)
    if not chosen:
        raise MissingRuns(f"{claim}: no results where {where}")
    return chosen


def values_of(rows: list[dict], metric: str, where: dict | None, claim: str) -> np.ndarray:
    """``metric`` of every row matching ``where`` (rows without it skipped); :class:`MissingRuns` if none."""
    vals = [float(r[metric]) for r in select(rows, where) if r.get(metric) is not None]
    if not vals:
        raise MissingRuns(f"{claim}: no results with metric {metric!r} where {where}")
    return np.array(vals)


def where_text(where) -> str:
    """``{'method': 'A', 'source': 'cifar10'}`` → ``A, cifar10`` for a readable verdict table."""
    return ", ".join(str(v) for v in where.values()) if isinstance(where, dict) else str(where)


def within(rows, *, metric, value, tolerance, where=None, name=None) -> ClaimResult:
    """Mean of ``metric`` (over the selected rows) within ``tolerance`` of the paper's ``value``."""
    vals = values_of(rows, metric, where, "within")
    got = float(np.mean(vals))
    return ClaimResult(name or f"{metric} matches the paper", f"{value:g} ± {tolerance:g}",
                       f"{got:.4f} ± {np.std(vals):.4f} (n={len(vals)})", abs(got - value) <= tolerance,
                       {"mean": got})


def difference_interval(rows, metric: str, a, b, claim: str) -> Interval:
    """The interval over seeds of mean ``metric`` of rows ``b`` minus that of rows ``a``: of the per-seed gaps when
    both have the same seeds (paired), else of the difference of the two groups' means, resampled separately."""
    sa, sb = select(rows, a), select(rows, b)
    ra, rb = values_of(rows, metric, a, claim), values_of(rows, metric, b, claim)
    paired = paired_gaps(sa, sb, metric)
    if paired is not None:
        return seed_interval(paired[1])
    return mean_difference_interval(ra, rb)


def less_than(rows, *, metric, a, b, margin=0.0, per_seed=False, name=None) -> ClaimResult:
    """Mean ``metric`` of rows ``a`` below that of rows ``b`` by at least ``margin``, judged on the interval of
    the gap over seeds (``difference_interval``): its low end must reach ``margin`` (strictly above 0 when the
    margin is 0). With ``per_seed``, every seed's own gap must reach it too."""
    ra, rb = values_of(rows, metric, a, "less_than"), values_of(rows, metric, b, "less_than")
    ma, mb = float(ra.mean()), float(rb.mean())
    iv = difference_interval(rows, metric, a, b, "less_than")
    ok = iv.clears(margin) and (margin > 0 or iv.low > 0)
    measured = f"{ma:.3f} vs {mb:.3f}, gap {iv.text()}"
    values = {"a": ma, "b": mb, **iv.values()}
    if per_seed:
        sa, sb = select(rows, a), select(rows, b)
        seeds = sorted({r.get("seed") for r in sa} & {r.get("seed") for r in sb}, key=lambda v: (v is None, v))
        gaps = [float(np.mean([r[metric] for r in sb if r.get("seed") == s])
                      - np.mean([r[metric] for r in sa if r.get("seed") == s])) for s in seeds]
        ok = ok and bool(gaps) and all(g >= margin for g in gaps)
        measured += "; per seed " + ", ".join(f"{g:+.3f}" for g in gaps)
        values["gaps"] = gaps
    expected = (f"{where_text(b)} − {where_text(a)} ≥ {margin:g} over the 95% CI"
                + (" and for every seed" if per_seed else ""))
    return ClaimResult(name or f"{metric}: {a} < {b}", expected, measured, ok, values)


def _bound(rows, metric, value, where, every_run, name, *, low: bool) -> ClaimResult:
    vals = values_of(rows, metric, where, "at_least" if low else "at_most")
    sign, edge = ("≥", "min") if low else ("≤", "max")
    extreme = float(vals.min() if low else vals.max())
    got = extreme if every_run else float(vals.mean())
    what = f"{edge} over runs" if every_run else "mean"
    return ClaimResult(name or f"{metric} {sign} {value:g}", f"{what} {sign} {value:g}",
                       f"mean {vals.mean():.4f} ± {vals.std():.4f}, {edge} {extreme:.4f} (n={len(vals)})",
                       got >= value if low else got <= value, {"value": got, "mean": float(vals.mean())})


def at_least(rows, *, metric: str, value: float, where: dict | None = None, every_run: bool = False,
             name: str | None = None) -> ClaimResult:
    """Mean ``metric`` over the selected runs ≥ ``value`` (with ``every_run``: each run's own value)."""
    return _bound(rows, metric, value, where, every_run, name, low=True)


def at_most(rows, *, metric: str, value: float, where: dict | None = None, every_run: bool = False,
            name: str | None = None) -> ClaimResult:
    """Mean ``metric`` over the selected runs ≤ ``value`` (with ``every_run``: each run's own value)."""
    return _bound(rows, metric, value, where, every_run, name, low=False)


def close(rows, *, metric: str, a: dict, b: dict, tolerance: float, name: str | None = None) -> ClaimResult:
    """Rows ``a`` and ``b`` are equivalent in ``metric`` (e.g. no accuracy cost): the whole 95% interval over
    seeds of the gap (``difference_interval``) lies within ±``tolerance``. Seed noise wider than the tolerance
    fails: equivalence needs the seeds to show it, not a near-equal pair of means."""
    ma, mb = float(values_of(rows, metric, a, "close").mean()), float(values_of(rows, metric, b, "close").mean())
    iv = difference_interval(rows, metric, a, b, "close")
    expected = f"gap between {_kv(a)} and {_kv(b)} within ±{tolerance:g} over the 95% CI"  # no "|": splits a cell
    return ClaimResult(name or f"{metric}: {_kv(a)} ≈ {_kv(b)}", expected,
                       f"{ma:.4f} vs {mb:.4f}, gap {_kv(b)} − {_kv(a)} {iv.text('+.4f')}",
                       -tolerance <= iv.low and iv.high <= tolerance, {"a": ma, "b": mb, **iv.values()})


def _kv(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())


def gain_largest_at(rows, *, metrics, a, b, name=None) -> ClaimResult:
    """The seed-mean gain mean(a) − mean(b) is largest for the *last* of ``metrics`` (e.g. head, medium and tail
    accuracy: the tail gains most)."""
    ra, rb = require(rows, a, "gain_largest_at"), require(rows, b, "gain_largest_at")
    gains = [float(np.mean([r[m] for r in ra]) - np.mean([r[m] for r in rb])) for m in metrics]
    ok = all(gains[-1] > g for g in gains[:-1])
    observed = ", ".join(f"{m.split('/')[-1]} {g:+.3f}" for m, g in zip(metrics, gains, strict=True))
    return ClaimResult(name or f"{metrics[-1]} gains most", f"gain of {metrics[-1]} is the largest",
                       observed, ok, {m: g for m, g in zip(metrics, gains, strict=True)})


def within_table(rows, *, metric: str, rows_key: str, columns: list[str], values: dict, tolerance,
                 scale: float = 1.0, name=None) -> ClaimResult:
    """Every cell of a paper's table matched: for each row label r (the grid key ``rows_key``) and column label c
    (the values of ``columns`` joined by spaces, as ``repro.report.tables.paper_table`` labels them), the seed mean
    of ``metric``·``scale`` lies within the tolerance of the paper's ``values[r][c]``. ``tolerance`` is a number,
    or a mapping from a column label's first word to a number (e.g. ``{cifar10: 1.0, cifar100: 1.5}``)."""
    misses, worst, checked = [], 0.0, 0
    for row_label, cells in values.items():
        for col_label, ref in cells.items():
            sel = [r for r in rows if str(r.get(rows_key)) == str(row_label)
                   and " ".join(str(r.get(c)) for c in columns) == str(col_label) and r.get(metric) is not None]
            if not sel:
                raise MissingRuns(f"within_table: no results for {row_label} / {col_label}")
            tol = tolerance if not isinstance(tolerance, dict) else tolerance[str(col_label).split()[0]]
            got = float(np.mean([float(r[metric]) for r in sel])) * scale
            checked += 1
            worst = max(worst, abs(got - float(ref)) / tol)
            if abs(got - float(ref)) > tol:
                misses.append(f"{row_label} {col_label}: {got:.2f} vs {ref:g}")
    measured = f"{checked - len(misses)}/{checked} cells within tolerance; worst at {worst:.2f}× its tolerance"
    if misses:
        measured += "; outside: " + ", ".join(misses)
    return ClaimResult(name or f"{metric}: every paper cell matched", f"each cell within {tolerance} of the paper",
                       measured, not misses, {"misses": misses, "checked": checked, "worst_ratio": worst})


def ratio_at_most(rows, *, metric: str, a: dict, b: dict, factor: float, name: str | None = None) -> ClaimResult:
    """Mean ``metric`` of rows ``a`` ≤ ``factor`` × mean ``metric`` of rows ``b`` (e.g. an ECE at most half the
    baseline's), judged on the interval over seeds of ``factor``·b − a (paired per seed where the seeds match):
    its low end must be > 0. A ``b`` mean ≤ 0 fails (the ratio is then meaningless)."""
    ma = float(values_of(rows, metric, a, "ratio_at_most").mean())
    mb = float(values_of(rows, metric, b, "ratio_at_most").mean())
    ratio = ma / mb if mb > 0 else float("inf")
    scaled = [{**r, metric: factor * float(r[metric])} if r.get(metric) is not None else r for r in select(rows, b)]
    iv = difference_interval([*select(rows, a), *scaled], metric, a, b, "ratio_at_most")
    return ClaimResult(name or f"{metric}: {_kv(a)} ≤ {factor:g} × {_kv(b)}",
                       f"{metric}[{_kv(a)}] ≤ {factor:g} × {metric}[{_kv(b)}] over the 95% CI",
                       f"{ma:.4f} vs {mb:.4f} (×{ratio:.2f}); {factor:g}·b − a = {iv.text('+.4f')}",
                       mb > 0 and iv.low > 0, {"a": ma, "b": mb, "ratio": ratio, **iv.values()})


def exceeds_on_all(rows, *, metrics: list[str], a: dict, b: dict, margin: float = 0.0,
                   name: str | None = None) -> ClaimResult:
    """For every one of ``metrics``, the mean of rows ``a`` exceeds that of rows ``b`` by at least ``margin``
    (strictly more when ``margin`` is 0), judged on the interval over seeds of each gap (its low end)."""
    if not metrics:
        raise ReproError("claim exceeds_on_all: `metrics` must name at least one metric")
    if margin < 0:
        raise ReproError(f"claim exceeds_on_all: `margin` must be >= 0, got {margin}")
    gaps = {}
    for metric in metrics:
        ma = float(values_of(rows, metric, a, "exceeds_on_all").mean())
        mb = float(values_of(rows, metric, b, "exceeds_on_all").mean())
        gaps[metric] = (ma, mb, difference_interval(rows, metric, b, a, "exceeds_on_all"))
    ok = all(iv.low > 0 and iv.low >= margin for _, _, iv in gaps.values())
    measured = ", ".join(f"{m}: {ma:.3f} vs {mb:.3f} ({iv.text()})" for m, (ma, mb, iv) in gaps.items())
    expected = (f"{_kv(a)} − {_kv(b)} {'≥' if margin else '>'} {margin:g} on each of {len(metrics)} metrics "
                "over the 95% CI")
    return ClaimResult(name or f"{_kv(a)} above {_kv(b)} on {', '.join(metrics)}", expected, measured, ok,
                       {m: iv.estimate for m, (_, _, iv) in gaps.items()}
                       | {f"{m}/ci": [iv.low, iv.high] for m, (_, _, iv) in gaps.items()})


CLAIMS: dict[str, Callable[..., ClaimResult]] = {
    "within": within, "less_than": less_than, "at_least": at_least, "at_most": at_most, "close": close,
    "gain_largest_at": gain_largest_at, "within_table": within_table, "ratio_at_most": ratio_at_most,
    "exceeds_on_all": exceeds_on_all,
}


def resolve_claim(kind) -> Callable[..., ClaimResult]:
    """A claim function by its registered name, or by an import path ``package.module.function`` (so a paper
    package or a user's own package adds claim types without touching this file)."""
    if isinstance(kind, str) and kind in CLAIMS:
        return CLAIMS[kind]
    if isinstance(kind, str) and "." in kind:
        return import_object(kind, what="claim type")
    raise ReproError(f"unknown claim type {kind!r}; known: {', '.join(CLAIMS)}, or an import path "
                     "such as repro.papers.<paper>.claims.<function>")


# Keys of a claim's YAML entry that describe it for the study, not arguments of its function.
STUDY_KEYS = ("type", "no_control")


def evaluate(claims: list[dict], rows: list[dict], *, x: str | None = None) -> list[ClaimResult]:
    """Evaluate a study's claims; ``x`` (the study's axis) is the default for claims that take one. A claim
    whose runs are missing (outside a ``--grid`` subset, or failed) is NOT RUN."""
    results = []
    for spec in claims:
        kind = spec.get("type")
        spec = {k: v for k, v in spec.items() if k not in STUDY_KEYS}
        fn = resolve_claim(kind)
        if x is not None and "x" in fn.__code__.co_varnames and "x" not in spec:
            spec["x"] = x
        try:
            results.append(fn(rows, **spec))
        except MissingRuns as err:
            name = spec.get("name") or kind
            results.append(ClaimResult(name, "(needs runs that were not run)", f"not run: {err}", False, {},
                                       not_run=True))
        except TypeError as err:
            raise ReproError(f"claim {kind}: {err}") from err
    return results


def summary(results: list[ClaimResult]) -> str:
    """``3/4 claims passed, 1 not run`` (NOT RUN claims are neither passed nor failed)."""
    passed = sum(r.verdict == "PASS" for r in results)
    not_run = sum(r.not_run for r in results)
    return f"{passed}/{len(results)} claims passed" + (f", {not_run} not run (outside the --grid subset)"
                                                        if not_run else "")


def exit_status(results: list[ClaimResult]) -> int:
    """0 when no claim FAILED (NOT RUN claims do not fail a study), else 1."""
    return 1 if any(r.verdict == "FAIL" for r in results) else 0
