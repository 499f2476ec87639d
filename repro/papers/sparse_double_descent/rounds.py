"""Per-round curves of an IMP run, and what both papers read from them: the SDD triple, where train accuracy
leaves the interpolating regime, and two stopping rules for the pruning.

A run logs ``imp/round`` with its validation metrics; round r's value of a metric is the one logged with the last
validation of round r (its end). Accuracies in these functions are in points (percent).

- **SDD triple** of depth δ: rounds i < j < k, before the collapse, with acc_i − acc_j ≥ δ and acc_k − acc_j ≥ δ;
  the depth of a curve is the largest such δ (max over j of min(max_{i<j} acc_i, max_{k>j} acc_k) − acc_j). The
  collapse is the first round after the best one whose accuracy is more than ``collapse_drop`` points below the
  best (without the cut, a wiggle deep in the collapse phase counts as a dip).
- **fall**: the first round whose train accuracy is below ``threshold`` after it first reached it; its sub-round
  form, the **crossing**, interpolates linearly between that round and the one before it.
- **peak position** of a sampled curve (sub-round): the vertex of the least-squares parabola through its maximum
  and ``half`` rounds on each side (the maximum's round where that parabola is not concave). Near its top the
  entropy changes by less than its round-to-round noise, so its argmax alone moves by a round or two.
- **early stop** (DSD²): stop at the first round more than ``tolerance`` points below the running best, keep the
  running best.
- **entropy stop**: wait for the entropy's peak (the first round whose entropy is more than ``entropy_tolerance``
  bits below its running maximum; the peak is that maximum's round), then apply the early stop with the running
  best counted from the peak round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repro.errors import ReproError
from repro.studies.results import MissingRuns, metric_of, select

__all__ = ["ROUND", "Stop", "Triple", "collapse_round", "crossing", "early_stop", "entropy_stop", "fall_round",
           "mean_curves", "peak_position", "round_curves", "sdd_triple", "seed_curves"]

ROUND = "imp/round"
CURVE_METRICS = ("test/accuracy", "train/accuracy", "entropy/mean", "imp/sparsity")


@dataclass(frozen=True)
class Triple:
    depth: float
    i: int
    j: int
    k: int


@dataclass(frozen=True)
class Stop:
    stop: int  # the round at which the rule stops pruning
    kept: int  # the round whose network it keeps


def round_curves(row: dict, metrics: tuple[str, ...] = CURVE_METRICS) -> dict[str, np.ndarray]:
    """``{metric: values by round 0..R}`` (plus ``round``) from one row's logged history."""
    steps, rounds = metric_of(row, ROUND)
    last = {}
    for s, r in zip(steps.astype(int), rounds.astype(int), strict=True):
        last[int(r)] = int(s)
    order = sorted(last)
    if order != list(range(len(order))):
        raise ReproError(f"{row.get('run_dir')}: logged rounds {order} are not 0..R; did the run finish?")
    out = {"round": np.array(order)}
    for metric in metrics:
        s, v = metric_of(row, metric)
        at = dict(zip(s.astype(int).tolist(), v.tolist(), strict=True))
        missing = [r for r in order if last[r] not in at]
        if missing:
            raise ReproError(f"{row.get('run_dir')}: no {metric} at the end of rounds {missing}")
        out[metric] = np.array([at[last[r]] for r in order])
    return out


def seed_curves(rows: list[dict], where: dict | None, claim: str) -> list[tuple[object, dict[str, np.ndarray]]]:
    """(seed, curves) of every row matching ``where``, accuracies in points; MissingRuns when there are none."""
    chosen = select(rows, where)
    if not chosen:
        raise MissingRuns(f"{claim}: no results where {where}")
    out = []
    for r in chosen:
        c = round_curves(r)
        c["test"], c["train"], c["entropy"] = 100 * c["test/accuracy"], 100 * c["train/accuracy"], c["entropy/mean"]
        c["sparsity"] = c["imp/sparsity"]
        out.append((r.get("seed"), c))
    return out


def mean_curves(curves: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The seed mean of each curve (runs of one study have the same rounds)."""
    n = min(len(c["round"]) for c in curves)
    return {k: np.mean([c[k][:n] for c in curves], axis=0) for k in curves[0]}


def collapse_round(acc: np.ndarray, drop: float = 10.0) -> int:
    best = int(np.argmax(acc))
    after = [r for r in range(best + 1, len(acc)) if acc[r] < acc[best] - drop]
    return after[0] if after else len(acc)


def sdd_triple(acc: np.ndarray, collapse_drop: float = 10.0) -> Triple:
    """The deepest (i < j < k) dip-and-recovery before the collapse; depth −inf when there are < 3 rounds."""
    acc = np.asarray(acc, dtype=float)
    n = collapse_round(acc, collapse_drop)
    best = Triple(-np.inf, -1, -1, -1)
    for j in range(1, n - 1):
        i = int(np.argmax(acc[:j]))
        k = j + 1 + int(np.argmax(acc[j + 1:n]))
        depth = min(acc[i] - acc[j], acc[k] - acc[j])
        if depth > best.depth:
            best = Triple(float(depth), i, j, k)
    return best


def fall_round(train: np.ndarray, threshold: float = 99.0) -> int | None:
    """The first round with train accuracy < ``threshold`` after it first reached ``threshold`` (None: never)."""
    reached = np.flatnonzero(np.asarray(train) >= threshold)
    if not len(reached):
        return None
    below = [r for r in range(int(reached[0]), len(train)) if train[r] < threshold]
    return below[0] if below else None


def crossing(curve: np.ndarray, threshold: float) -> float | None:
    """Where ``curve`` first falls below ``threshold`` after first reaching it, in rounds, linearly interpolated
    between the last round at or above it and the first below (None: it never reaches or never leaves it)."""
    curve = np.asarray(curve, dtype=float)
    fall = fall_round(curve, threshold)
    if fall is None:
        return None
    before, after = curve[fall - 1], curve[fall]
    return fall - 1 + float((before - threshold) / (before - after))


def peak_position(curve: np.ndarray, half: int = 2) -> float:
    """The sub-round position of ``curve``'s maximum: the vertex of the least-squares parabola through the rounds
    ``argmax ± half`` (fewer at either end), kept inside those rounds; the argmax itself when the parabola is not
    concave or fewer than 3 rounds are there."""
    curve = np.asarray(curve, dtype=float)
    top = int(np.argmax(curve))
    lo, hi = max(0, top - half), min(len(curve), top + half + 1)
    if hi - lo < 3:
        return float(top)
    a, b, _ = np.polyfit(np.arange(lo, hi, dtype=float), curve[lo:hi], 2)
    if not a < 0:
        return float(top)
    return float(np.clip(-b / (2 * a), lo, hi - 1))


def early_stop(acc: np.ndarray, tolerance: float = 1.0, start: int = 0) -> Stop:
    """Stop at the first round more than ``tolerance`` below the best since ``start``; keep that best."""
    acc = np.asarray(acc, dtype=float)
    for r in range(start + 1, len(acc)):
        best = start + int(np.argmax(acc[start:r]))
        if acc[r] < acc[best] - tolerance:
            return Stop(r, best)
    return Stop(len(acc) - 1, start + int(np.argmax(acc[start:])))


def entropy_peak(entropy: np.ndarray, tolerance: float = 0.01) -> int:
    """The round of the entropy's maximum before it first falls ``tolerance`` bits below its running maximum."""
    entropy = np.asarray(entropy, dtype=float)
    drop = next((r for r in range(1, len(entropy)) if entropy[r] < entropy[:r].max() - tolerance), len(entropy))
    return int(np.argmax(entropy[:drop]))


def entropy_stop(acc: np.ndarray, entropy: np.ndarray, tolerance: float = 1.0,
                 entropy_tolerance: float = 0.01) -> Stop:
    """The early stop, started at the entropy's peak (:func:`entropy_peak`)."""
    return early_stop(acc, tolerance, start=entropy_peak(entropy, entropy_tolerance))
