"""Claim types of the sparse-double-descent studies, read from each run's per-round curves (``rounds.py``).

Each takes the study's rows (one per run: a method and a seed), selects some with ``where`` (or ``a`` / ``b``
for a comparison, paired by seed), and returns a :class:`~repro.studies.claims.ClaimResult`. Accuracies are in
points. A study YAML names them by import path::

    claims:
      - type: repro.papers.sparse_double_descent.claims.sdd_exists
        where: {method: vanilla}
        min_depth: 3
"""

from __future__ import annotations

import numpy as np

from repro.papers.sparse_double_descent.rounds import (
    crossing,
    early_stop,
    fall_round,
    mean_curves,
    peak_position,
    sdd_triple,
    seed_curves,
)
from repro.studies.claims import ClaimResult, where_text
from repro.studies.stats import seed_interval

__all__ = ["best_not_below", "dip_shallower", "dip_while_interpolating", "early_stopping_pays_off",
           "entropy_non_monotone", "entropy_peak_near_fall", "no_sdd", "sdd_exists", "sweet_beats_dense"]


def _pct(s: float) -> str:
    return f"{100 * s:.1f}%"


def _interval(per_seed: list[float]):
    """The 95% bootstrap interval over seeds of the per-seed values (−inf, e.g. a curve of under 3 rounds, makes
    the interval −inf: such a seed fails the claim)."""
    values = np.asarray(per_seed, dtype=float)
    if not np.isfinite(values).all():
        return None
    return seed_interval(values)


def _iv_values(iv) -> dict:
    return {} if iv is None else {"effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n}


def _iv_text(iv, fmt: str = ".2f") -> str:
    return "no interval (a seed has no value)" if iv is None else iv.text(fmt)


def sdd_exists(rows, *, where=None, min_depth: float = 3.0, collapse_drop: float = 10.0, name=None) -> ClaimResult:
    """The selected runs' test-accuracy curves have an SDD triple of depth ≥ ``min_depth`` points: the 95% interval
    over seeds of the per-seed depth lies at or above ``min_depth``. A flat curve has a depth too (the test set's
    sampling noise makes dips and recoveries), so ``min_depth`` must exceed what that noise alone reaches."""
    per = [(seed, c, sdd_triple(c["test"], collapse_drop)) for seed, c in seed_curves(rows, where, "sdd_exists")]
    iv = _interval([t.depth for _, _, t in per])
    ok = iv is not None and iv.clears(min_depth)
    seeds = "; ".join(f"seed {s}: {t.depth:.2f} (r{t.i} {c['test'][t.i]:.1f} → r{t.j} {c['test'][t.j]:.1f} at "
                      f"{_pct(c['sparsity'][t.j])} → r{t.k} {c['test'][t.k]:.1f} at {_pct(c['sparsity'][t.k])})"
                      for s, c, t in per)
    measured = f"depth {_iv_text(iv)}; {seeds}"
    return ClaimResult(name or f"SDD triple ({where_text(where)})",
                       f"depth ≥ {min_depth:g} pts (95% CI over seeds)", measured, ok,
                       {"depth": [t.depth for _, _, t in per], **_iv_values(iv)})


def no_sdd(rows, *, where=None, max_depth: float = 2.0, collapse_drop: float = 10.0, name=None) -> ClaimResult:
    """No selected run has an SDD triple of depth ≥ ``max_depth`` points."""
    per = [(seed, sdd_triple(c["test"], collapse_drop)) for seed, c in seed_curves(rows, where, "no_sdd")]
    ok = all(t.depth < max_depth for _, t in per)
    return ClaimResult(name or f"no SDD triple ({where_text(where)})", f"depth < {max_depth:g} pts, every seed",
                       ", ".join(f"seed {s}: {t.depth:.2f} (dip r{t.j})" for s, t in per), ok,
                       {"depth": [t.depth for _, t in per]})


def sweet_beats_dense(rows, *, where=None, min_gain: float = 3.0, name=None) -> ClaimResult:
    """The seed-mean curve's best round beats its dense round by ≥ ``min_gain`` points (per seed reported)."""
    per = seed_curves(rows, where, "sweet_beats_dense")
    mean = mean_curves([c for _, c in per])
    gain = float(mean["test"].max() - mean["test"][0])
    best = int(np.argmax(mean["test"]))
    seeds = ", ".join(f"{s}: {c['test'].max() - c['test'][0]:+.2f}" for s, c in per)
    return ClaimResult(name or f"sparse beats dense ({where_text(where)})", f"mean best − dense ≥ {min_gain:g} pts",
                       f"{mean['test'][0]:.2f} → {mean['test'][best]:.2f} at {_pct(mean['sparsity'][best])} "
                       f"({gain:+.2f}); per seed {seeds}", gain >= min_gain, {"gain": gain})


def dip_while_interpolating(rows, *, where=None, min_drop: float = 3.0, train_threshold: float = 99.0,
                            name=None) -> ClaimResult:
    """In every selected run, test accuracy falls ≥ ``min_drop`` points below the dense round during pruning rounds
    whose train accuracy (on the noisy labels) is still ≥ ``train_threshold``: pruning hurts while the network
    still memorises (the critical phase). The 95% interval over seeds of the per-seed drop must clear ``min_drop``."""
    parts, drops = [], []
    for seed, c in seed_curves(rows, where, "dip_while_interpolating"):
        fitted = [r for r in range(1, len(c["test"])) if c["train"][r] >= train_threshold]
        drop = max((c["test"][0] - c["test"][r] for r in fitted), default=-np.inf)
        worst = min(fitted, key=lambda r: c["test"][r]) if fitted else None
        dip = sdd_triple(c["test"]).j
        drops.append(float(drop))
        parts.append(f"seed {seed}: {drop:.2f}" + (f" (r{worst}, train {c['train'][worst]:.1f}%)" if fitted else "")
                     + f"; train at the SDD dip r{dip}: {c['train'][dip]:.1f}%")
    iv = _interval(drops)
    return ClaimResult(name or f"dip while interpolating ({where_text(where)})",
                       f"dense − test ≥ {min_drop:g} pts in a round with train ≥ {train_threshold:g}% (95% CI over "
                       "seeds)", f"drop {_iv_text(iv)}; " + "; ".join(parts),
                       iv is not None and iv.clears(min_drop), {"drop": drops, **_iv_values(iv)})


def entropy_non_monotone(rows, *, where=None, min_rise: float = 0.05, min_fall: float = 0.3,
                         name=None) -> ClaimResult:
    """The selected runs' network entropy rises by ≥ ``min_rise`` bits from the dense round to its peak and falls
    by ≥ ``min_fall`` bits from the peak to the last round: the 95% intervals over seeds of the per-seed rise and
    fall clear them."""
    parts, rises, falls = [], [], []
    for seed, c in seed_curves(rows, where, "entropy_non_monotone"):
        h, peak = c["entropy"], int(np.argmax(c["entropy"]))
        rises.append(float(h[peak] - h[0]))
        falls.append(float(h[peak] - h[-1]))
        parts.append(f"seed {seed}: {h[0]:.3f} → {h[peak]:.3f} (r{peak}) → {h[-1]:.3f}")
    up, down = _interval(rises), _interval(falls)
    ok = up is not None and down is not None and up.clears(min_rise) and down.clears(min_fall)
    return ClaimResult(name or f"entropy rises then falls ({where_text(where)})",
                       f"rise ≥ {min_rise:g} and fall ≥ {min_fall:g} bits (95% CIs over seeds)",
                       f"rise {_iv_text(up, '.3f')}, fall {_iv_text(down, '.3f')}; " + "; ".join(parts), ok,
                       {"rise": rises, "fall": falls, **_iv_values(up),
                        "fall_ci": None if down is None else [down.low, down.high]})


def entropy_peak_near_fall(rows, *, where=None, tolerance: float = 2, train_threshold: float = 99.0,
                           subround: bool = False, name=None) -> ClaimResult:
    """In every selected run the entropy's maximum lies within ``tolerance`` rounds of where train accuracy first
    falls below ``train_threshold`` (leaves the interpolating regime at 99; at 100 − 50·ε with noise rate ε, it has
    lost half of its fit to the noisy labels).

    Rounds are whole by default: the entropy's argmax and the first round below the threshold. With ``subround``
    both are located between rounds: the entropy's peak as the vertex of a parabola through its maximum and two
    rounds each side (:func:`~repro.papers.sparse_double_descent.rounds.peak_position`), the fall as the linearly
    interpolated crossing of the threshold (:func:`~repro.papers.sparse_double_descent.rounds.crossing`), so
    that the whole-round grid (20% of the weights per round) does not add up to a round of rounding to the lag."""
    lags, parts = [], []
    for seed, c in seed_curves(rows, where, "entropy_peak_near_fall"):
        if subround:
            fall, peak = crossing(c["train"], train_threshold), peak_position(c["entropy"])
            lag = None if fall is None else peak - fall
            parts.append(f"seed {seed}: peak r{peak:.2f}, fall r" + ("–" if fall is None else f"{fall:.2f}")
                         + ("" if lag is None else f" (lag {lag:+.2f})"))
        else:
            fall, peak = fall_round(c["train"], train_threshold), int(np.argmax(c["entropy"]))
            lag = None if fall is None else peak - fall
            parts.append(f"seed {seed}: peak r{peak}, fall r{fall}" + ("" if lag is None else f" (lag {lag:+d})"))
        lags.append(lag)
    ok = all(lag is not None and abs(lag) <= tolerance for lag in lags)
    return ClaimResult(name or f"entropy peaks where interpolation ends ({where_text(where)})",
                       f"|peak − fall(train < {train_threshold:g}%)| ≤ {tolerance:g} rounds"
                       + (" (sub-round)" if subround else "") + ", every seed",
                       "; ".join(parts), ok, {"lag": lags})


def _paired(rows, a: dict, b: dict, claim: str):
    ca, cb = dict(seed_curves(rows, a, claim)), dict(seed_curves(rows, b, claim))
    seeds = sorted(set(ca) & set(cb), key=str)
    return seeds, ca, cb


def dip_shallower(rows, *, a: dict, b: dict, min_gap: float = 1.0, max_ratio: float = 0.5,
                  collapse_drop: float = 10.0, name=None) -> ClaimResult:
    """``a``'s SDD dip is shallower than ``b``'s: the 95% interval over seeds of the paired gap depth_b − depth_a
    clears ``min_gap`` points, and the seed-mean curve's depth of ``a`` is ≤ ``max_ratio`` × that of ``b``."""
    seeds, ca, cb = _paired(rows, a, b, "dip_shallower")
    gaps = [sdd_triple(cb[s]["test"], collapse_drop).depth - sdd_triple(ca[s]["test"], collapse_drop).depth
            for s in seeds]
    da = sdd_triple(mean_curves(list(ca.values()))["test"], collapse_drop).depth
    db = sdd_triple(mean_curves(list(cb.values()))["test"], collapse_drop).depth
    iv = _interval(gaps) if seeds else None
    ok = iv is not None and iv.clears(min_gap) and da <= max_ratio * db
    return ClaimResult(name or f"{where_text(a)} dip shallower than {where_text(b)}",
                       f"depth gap ≥ {min_gap:g} pts (95% CI over seeds); mean-curve depth ratio ≤ {max_ratio:g}",
                       f"gap {_iv_text(iv)}; gaps "
                       f"{', '.join(f'{s}: {g:.2f}' for s, g in zip(seeds, gaps, strict=True))}; mean curves "
                       f"{da:.2f} vs {db:.2f} (ratio {da / db if db > 0 else float('nan'):.2f})", ok,
                       {"gaps": gaps, "mean_depth_a": da, "mean_depth_b": db, **_iv_values(iv)})


def best_not_below(rows, *, a: dict, b: dict, margin: float = 0.0, name=None) -> ClaimResult:
    """``a``'s best round beats ``b``'s: the 95% interval over seeds of the paired gap best_a − best_b lies strictly
    above ``margin`` points (two equal arms, gap 0 in every seed, fail at margin 0)."""
    seeds, ca, cb = _paired(rows, a, b, "best_not_below")
    gaps = [float(ca[s]["test"].max() - cb[s]["test"].max()) for s in seeds]
    iv = _interval(gaps) if seeds else None
    return ClaimResult(name or f"{where_text(a)} best > {where_text(b)} best",
                       f"best − best > {margin:g} pts (95% CI over seeds)",
                       f"gap {_iv_text(iv)}; " + ", ".join(f"seed {s}: {ca[s]['test'].max():.2f} vs "
                                                           f"{cb[s]['test'].max():.2f}" for s in seeds),
                       iv is not None and iv.low > margin, {"gaps": gaps, **_iv_values(iv)})


def early_stopping_pays_off(rows, *, a: dict, b: dict, tolerance: float = 1.0, max_loss_a: float = 1.0,
                            min_gap: float = 1.0, min_loss_b: float | None = None, name=None) -> ClaimResult:
    """"Stop at the first round more than ``tolerance`` points below the running best" loses ≤ ``max_loss_a``
    points against the best round under ``a`` in every seed, and more under ``b``: the 95% interval over seeds
    of the paired gap loss_b − loss_a clears ``min_gap`` points (and, with ``min_loss_b``, every seed's loss under
    ``b`` exceeds it). The gap is what can fail: a curve whose best round is its first loses 0 under the rule."""
    seeds, ca, cb = _paired(rows, a, b, "early_stopping_pays_off")

    def loss(c):
        stop = early_stop(c["test"], tolerance)
        return float(c["test"].max() - c["test"][stop.kept]), stop

    la, lb = [loss(ca[s]) for s in seeds], [loss(cb[s]) for s in seeds]
    iv = _interval([y - x for (x, _), (y, _) in zip(la, lb, strict=True)]) if seeds else None
    ok = (iv is not None and iv.clears(min_gap) and all(x <= max_loss_a for x, _ in la)
          and (min_loss_b is None or all(y > min_loss_b for y, _ in lb)))
    text = f"gap {_iv_text(iv)}; " + "; ".join(f"seed {s}: {lx:.2f} (keeps r{sx.kept}) vs {ly:.2f} (keeps r{sy.kept})"
                     for s, (lx, sx), (ly, sy) in zip(seeds, la, lb, strict=True))
    return ClaimResult(name or f"early stopping: {where_text(a)} vs {where_text(b)}",
                       f"loss ≤ {max_loss_a:g} pts ({where_text(a)}, every seed); loss({where_text(b)}) − "
                       f"loss({where_text(a)}) ≥ {min_gap:g} pts (95% CI over seeds)"
                       + ("" if min_loss_b is None else f"; > {min_loss_b:g} ({where_text(b)}, every seed)"),
                       text, ok, {"loss_a": [x for x, _ in la], "loss_b": [x for x, _ in lb], **_iv_values(iv)})
