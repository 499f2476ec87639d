"""LDAM-DRW's own claim types, named in its study YAMLs by import path; the generic checks (``less_than``,
``within_table``, ``gain_largest_at``) are the shared ones (``repro.studies.claims``)."""

from __future__ import annotations

import numpy as np

from repro.studies.claims import ClaimResult, require, where_text
from repro.studies.results import MissingRuns
from repro.studies.stats import seed_interval

__all__ = ["last_group_gains_most", "tail_gain_exceeds_head_loss"]


def last_group_gains_most(rows, *, metrics: list[str], a: dict, b: dict, margin: float = 0.0,
                          name: str | None = None) -> ClaimResult:
    """Rows ``a`` gain most over rows ``b`` in the *last* of ``metrics`` (e.g. head, medium, tail accuracy): the
    seed-mean gain of the last minus the largest seed-mean gain of the others has a 95% interval over seeds
    (runs paired by seed) strictly above ``margin``. Equal gains in every group fail; with a few seeds, a margin
    keeps the noise of three near-equal gains from passing."""
    ra = {r.get("seed"): r for r in require(rows, a, "last_group_gains_most")}
    rb = {r.get("seed"): r for r in require(rows, b, "last_group_gains_most")}
    seeds = sorted(set(ra) & set(rb), key=str)
    gains = np.array([[float(ra[s][m]) - float(rb[s][m]) for m in metrics] for s in seeds])

    def lead(sample) -> float:
        mean = np.mean(sample, axis=0)
        return float(mean[-1] - mean[:-1].max())

    iv = seed_interval(gains, statistic=lead)
    mean = gains.mean(axis=0)
    observed = ", ".join(f"{m.split('/')[-1]} {g:+.3f}" for m, g in zip(metrics, mean, strict=True))
    return ClaimResult(name or f"{metrics[-1]} gains most", f"gain of {metrics[-1]} − the largest other gain > "
                       f"{margin:g} (95% CI over seeds)", f"{observed}; lead {iv.text('+.3f')}",
                       bool(seeds) and iv.low > margin,
                       {**{m: float(g) for m, g in zip(metrics, mean, strict=True)}, "effect": iv.estimate,
                        "ci": [iv.low, iv.high], "n": iv.n})


def tail_gain_exceeds_head_loss(rows, *, a: dict, b: dict, tail: str = "test/accuracy_tail",
                                head: str = "test/accuracy_head", name: str | None = None) -> ClaimResult:
    """Rows ``a`` gain more tail accuracy over rows ``b`` than they lose head accuracy: per seed (runs paired by
    seed) the effect (tail_a − tail_b) − (head_b − head_a); its 95% interval over seeds must lie above 0. Arms
    that differ only by seed noise fail; one seed gives a zero-width interval at its value."""
    ra = {r.get("seed"): r for r in require(rows, a, "tail_gain_exceeds_head_loss")}
    rb = {r.get("seed"): r for r in require(rows, b, "tail_gain_exceeds_head_loss")}
    seeds = [s for s in sorted(set(ra) & set(rb), key=str)
             if all(r[s].get(m) is not None for r in (ra, rb) for m in (tail, head))]
    if not seeds:
        raise MissingRuns(f"tail_gain_exceeds_head_loss: no seed with {tail} and {head} in both {a} and {b}")
    gain = np.array([float(ra[s][tail]) - float(rb[s][tail]) for s in seeds])
    loss = np.array([float(rb[s][head]) - float(ra[s][head]) for s in seeds])
    iv = seed_interval(gain - loss)
    return ClaimResult(name or f"{where_text(a)}: tail gain over {where_text(b)} exceeds the head loss",
                       f"tail gain − head loss > 0 (95% CI over seeds; {tail}, {head})",
                       f"tail {gain.mean():+.3f}, head loss {loss.mean():+.3f}; difference {iv.text('+.3f')}",
                       iv.low > 0, {"tail_gain": float(gain.mean()), "head_loss": float(loss.mean()), **iv.values()})
