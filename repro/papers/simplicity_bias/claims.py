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


def every_model_within(rows, *, metric, low, high, where=None, paper=None, name=None) -> ClaimResult:
    """``metric`` within [``low``, ``high``] for every model (mean [min, max] shown; ``paper``: the paper's value)."""
    v = values_of(rows, metric, where, "every_model_within")
    return ClaimResult(name or f"{metric} in [{low:g}, {high:g}] for every model",
                       f"{metric} in [{low:g}, {high:g}], every model" + (f" (paper: {paper})" if paper else ""),
                       f"{_span(v)} ({len(v)} models)", bool(((v >= low) & (v <= high)).all()),
                       {"values": v.tolist()})


def ensemble_gain(rows, *, size, at_least=None, at_most=None, where=None, paper=None, name=None) -> ClaimResult:
    """Test accuracy of the ensemble of ``size`` stacked members minus the mean accuracy of its members, per
    stacked run: ≥ ``at_least`` (ensembles help), or with ``at_most`` its size stays ≤ ``at_most`` (they do not)."""
    chosen = [r for r in rows if f"test/ensemble{size}_accuracy" in r]
    ens = values_of(chosen, f"test/ensemble{size}_accuracy", where, "ensemble_gain")
    single = values_of(chosen, "test/accuracy", where, "ensemble_gain")
    gain = float(ens.mean() - single.mean())  # every member row carries its run's ensemble accuracy
    if (at_least is None) == (at_most is None):
        raise ValueError("ensemble_gain: give exactly one of at_least and at_most")
    ok = gain >= at_least if at_least is not None else abs(gain) <= at_most
    expected = (f"ensemble of {size} − single ≥ {at_least:g}" if at_least is not None
                else f"|ensemble of {size} − single| ≤ {at_most:g}") + (f" (paper: {paper})" if paper else "")
    return ClaimResult(name or f"ensembles of {size}", expected,
                       f"single {single.mean():.3f} [{single.min():.3f}, {single.max():.3f}], ensemble "
                       f"{ens.mean():.3f} (gain {gain:+.3f})", bool(ok),
                       {"single": float(single.mean()), "ensemble": float(ens.mean()), "gain": gain})
