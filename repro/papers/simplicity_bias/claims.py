"""Claim types of the simplicity-bias studies, named in their YAMLs by import path
(``type: repro.papers.simplicity_bias.claims.extreme_sb``). Each reads one row per model (a stacked member is a
row) and judges every model, as the paper's "every model and seed" does."""

from __future__ import annotations

import numpy as np

from repro.studies.claims import ClaimResult, values_of


def _span(v: np.ndarray) -> str:
    return f"{v.mean():.3f} [{v.min():.3f}, {v.max():.3f}]"


def extreme_sb(rows, *, s_band=(0.45, 0.55), sc_min=0.99, where=None, paper=None, name=None) -> ClaimResult:
    """Every model ignores S^c and relies on S alone: S-randomized AUC within ``s_band`` and S^c-randomized AUC
    ≥ ``sc_min`` (mean [min, max] over the models shown; ``paper``: the paper's values, shown beside)."""
    s = values_of(rows, "test/auc_s_rand", where, "extreme_sb")
    sc = values_of(rows, "test/auc_sc_rand", where, "extreme_sb")
    lo, hi = s_band
    ok = bool(((s >= lo) & (s <= hi)).all() and (sc >= sc_min).all())
    return ClaimResult(name or "extreme simplicity bias",
                       f"S-randomized AUC in [{lo:g}, {hi:g}] and S^c-randomized AUC ≥ {sc_min:g}, every model"
                       + (f" (paper: {paper})" if paper else ""),
                       f"S-rand {_span(s)}; S^c-rand {_span(sc)} ({len(s)} models)", ok,
                       {"s_rand": s.tolist(), "sc_rand": sc.tolist()})


def logit_invariance(rows, *, sc_max=0.05, s_min=0.4, where=None, name=None) -> ClaimResult:
    """The scores of the true positives do not move when S^c is randomized (two-sample KS statistic < ``sc_max``)
    and do move when S is (KS ≥ ``s_min``; with S independent of y about half the positives take a negative's
    score, a KS near 0.5), for every model."""
    sc = values_of(rows, "test/ks_sc_rand", where, "logit_invariance")
    s = values_of(rows, "test/ks_s_rand", where, "logit_invariance")
    ok = bool((sc < sc_max).all() and (s >= s_min).all())
    return ClaimResult(name or "positive scores invariant to S^c, not to S",
                       f"KS(original, S^c-randomized) < {sc_max:g} and KS(original, S-randomized) ≥ {s_min:g}, "
                       "every model", f"KS S^c-rand {_span(sc)}; KS S-rand {_span(s)} ({len(s)} models)", ok,
                       {"ks_sc_rand": sc.tolist(), "ks_s_rand": s.tolist()})


def every_model_at_least(rows, *, metric, value, where=None, paper=None, name=None) -> ClaimResult:
    """``metric`` ≥ ``value`` for every model (mean [min, max] shown; ``paper``: the paper's value, shown beside)."""
    v = values_of(rows, metric, where, "every_model_at_least")
    return ClaimResult(name or f"{metric} ≥ {value:g} for every model",
                       f"{metric} ≥ {value:g}, every model" + (f" (paper: {paper})" if paper else ""),
                       f"{_span(v)} ({len(v)} models)", bool((v >= value).all()), {"values": v.tolist()})
