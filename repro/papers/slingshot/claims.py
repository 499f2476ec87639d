"""Claim types of the Slingshot studies, read from each run's per-step history.

Each takes the study's rows (one per run, or per member of a stacked run), selects some with ``where``,
and returns a :class:`~repro.studies.claims.ClaimResult`. A study YAML names them by import path::

    claims:
      - type: repro.papers.slingshot.claims.cycle_signature
        where: {setting: adam_eps1e-8}
"""

from __future__ import annotations

import numpy as np

from repro.papers.slingshot.detector import MIN_GROWTH, PLATEAU, cycles_of, generalization_times, spikes_of
from repro.studies.claims import ClaimResult, require
from repro.studies.results import metric_of
from repro.studies.stats import seed_interval

_rows = require


def _label(row: dict) -> str:
    return f"seed {row['seed']}" if "seed" in row else row.get("run_dir", "?").rsplit("/", 1)[-1]


def cycle_signature(rows, *, where=None, min_cycles: int = 1, share: float = 0.8, min_jump: float = 100.0,
                    detector: dict | None = None, name=None) -> ClaimResult:
    """The Slingshot signature (Thilak et al. Fig. 2a). Every selected run has ≥ ``min_cycles`` cycles; of all
    their loss spikes that can be judged (both norm windows inside the run), ≥ ``share`` are cycles — norm growth
    before, a plateau after (slope after < ``plateau`` × before, ``detector.py``), so a spike with no norm growth
    before it counts against the share; and every spike's peak loss is ≥ ``min_jump`` × the median loss of the
    window before it, a baseline the detector's own 200-step-minimum test does not use."""
    chosen = _rows(rows, where, "cycle_signature")
    detector = detector or {}
    per_run = [spikes_of(r, **detector) for r in chosen]
    spikes = [s for run in per_run for s in run]
    judged = [s for s in spikes if s.judged]
    cycles = sum(s.cycle for s in judged)
    no_growth = sum(s.slope_before <= 0 for s in judged)
    jumps = [s.jump_over_median for s in spikes]
    enough = all(sum(s.cycle for s in run) >= min_cycles for run in per_run)
    ok = (enough and bool(judged) and cycles >= share * len(judged)
          and all(j is not None and j >= min_jump for j in jumps))
    counts = ", ".join(f"{_label(r)}: {sum(s.cycle for s in run)}/{len(run)}"
                       for r, run in zip(chosen, per_run, strict=True))
    measured = f"cycles/spikes per run ({counts})"
    if spikes:
        ratios = [s.slope_ratio for s in judged if s.slope_ratio is not None]
        known = [j for j in jumps if j is not None]
        measured += (f"; cycles {cycles}/{len(judged)} judged spikes ({no_growth} without norm growth, "
                     f"{len(spikes) - len(judged)} too near an end); median slope after/before "
                     f"{np.median(ratios) if ratios else float('nan'):.3g}; min peak/median before "
                     f"{min(known) if known else float('nan'):.3g}×"
                     + (f" ({len(jumps) - len(known)} without a full window)" if len(known) < len(jumps) else "")
                     + f"; first spike at step {min(s.step for s in spikes)}")
    plateau, growth = detector.get("plateau", PLATEAU), detector.get("min_growth", MIN_GROWTH)
    return ClaimResult(name or f"cycle signature ({where})",
                       f"≥{min_cycles} cycle(s) per run; ≥{share:.0%} of spikes are cycles (norm growth ≥ "
                       f"{growth:g} relative, then slope after < {plateau:g}× before); peak ≥ {min_jump:g}× the "
                       "median loss before", measured, ok,
                       {"spikes": [[s.as_dict() for s in run] for run in per_run]})


def no_cycles(rows, *, where=None, require_fit: bool = True, any_spike: bool = True, detector: dict | None = None,
              name=None) -> ClaimResult:
    """No selected run has a slingshot; with ``require_fit`` each also reached 100% training accuracy (so the
    absence is not just a run that never fit, which the detector would not search). With ``any_spike`` (the
    default) every loss spike counts, cycle or not: the paper's stable regime has no spikes at all, and a spike
    without norm growth is still the instability the claim denies. Without it only cycles (``detector.py``)
    count, and the other spikes are reported beside."""
    chosen = _rows(rows, where, "no_cycles")
    found = [spikes_of(r, **(detector or {})) for r in chosen]
    counts = [sum(s.cycle for s in run) for run in found]
    spikes = [len(run) for run in found]
    fits = [generalization_times(r, train_threshold=1.0)[0] for r in chosen]
    ok = (all(c == 0 for c in (spikes if any_spike else counts))
          and (not require_fit or all(f is not None for f in fits)))
    detail = ", ".join(f"{_label(r)}: {c} cycles ({n} spikes; 100% train at {_int(f)})"
                       for r, c, n, f in zip(chosen, counts, spikes, fits, strict=True))
    return ClaimResult(name or f"no slingshot ({where})",
                       ("0 loss spikes per run (cycles or not)" if any_spike else "0 cycles per run")
                       + (", after reaching 100% training accuracy" if require_fit else ""),
                       detail, ok, {"cycles": counts, "spikes": spikes, "t_fit": fits})


def grokking_delay(rows, *, where=None, min_ratio: float = 10.0, train_threshold: float = 0.99,
                   val_threshold: float = 0.95, name=None) -> ClaimResult:
    """t_val / t_tr ≥ ``min_ratio`` in every selected run, with t_tr the first step of training accuracy
    ≥ ``train_threshold`` and t_val the first validation pass at ≥ ``val_threshold``."""
    chosen = _rows(rows, where, "grokking_delay")
    times = [generalization_times(r, train_threshold=train_threshold, val_threshold=val_threshold) for r in chosen]
    ratios = [tv / max(tt, 1.0) if tt is not None and tv is not None else None for tt, tv in times]
    ok = all(q is not None and q >= min_ratio for q in ratios)
    detail = ", ".join(f"{_label(r)}: t_tr {_int(tt)}, t_val {_int(tv)}" + (f" ({q:.1f}×)" if q else "")
                       for r, (tt, tv), q in zip(chosen, times, ratios, strict=True))
    return ClaimResult(name or f"grokking delay ({where})",
                       f"t_val(val acc ≥ {val_threshold:g}) / t_tr(train acc ≥ {train_threshold:g}) ≥ {min_ratio:g}",
                       detail, ok, {"t_tr": [t[0] for t in times], "t_val": [t[1] for t in times], "ratio": ratios})


def _int(v) -> str:
    return "never" if v is None else f"{int(v)}"


def grokking_after_slingshot(rows, *, where=None, val_threshold: float = 0.95, window: int = 2000,
                             detector: dict | None = None, name=None) -> ClaimResult:
    """In every selected run t_val comes after the first slingshot (cycle); also reports the share
    of the validation-accuracy gain made within ±``window`` steps of a cycle."""
    chosen = _rows(rows, where, "grokking_after_slingshot")
    ok, parts, shares = True, [], []
    for r in chosen:
        spikes = cycles_of(r, **(detector or {}))
        _, t_val = generalization_times(r, val_threshold=val_threshold)
        vs, va = metric_of(r, "val/accuracy")
        gains = np.diff(va, prepend=va[0])
        near = np.zeros(len(vs), bool)
        for s in spikes:
            near |= (vs >= s.step - window) & (vs <= s.end_step + window)
        total = gains[gains > 0].sum()
        share = float(gains[near & (gains > 0)].sum() / total) if total > 0 else 0.0
        shares.append(share)
        first = spikes[0].step if spikes else None
        ok &= first is not None and t_val is not None and t_val > first
        parts.append(f"{_label(r)}: first cycle {_int(first)}, t_val {_int(t_val)}, gain near cycles {share:.0%}")
    return ClaimResult(name or f"grokking follows a slingshot ({where})", "t_val > first cycle's step, every run",
                       "; ".join(parts), ok, {"gain_share_near_spikes": shares})


def cycles_nonincreasing(rows, *, groups: dict[str, dict], detector: dict | None = None,
                         name=None) -> ClaimResult:
    """The number of slingshots falls along ``groups`` (label → ``where``, in order, e.g. Adam ε = 1e-8, 1e-7,
    1e-5): the seed means never increase from one group to the next, and the first group has more than the
    last: the 95% interval over seeds of the per-seed difference first − last (runs paired by seed) lies above 0.
    Ties everywhere (e.g. no cycles in any group) fail."""
    per_group = []
    for label, where in groups.items():
        chosen = sorted(_rows(rows, where, f"cycles_nonincreasing ({label})"), key=lambda r: str(r.get("seed")))
        per_group.append([len(cycles_of(r, **(detector or {}))) for r in chosen])
    means = [float(np.mean(c)) for c in per_group]
    n = min(len(c) for c in per_group)
    drop = seed_interval(np.array(per_group[0][:n], float) - np.array(per_group[-1][:n], float))
    ok = len(means) > 1 and all(b <= a for a, b in zip(means, means[1:], strict=False)) and drop.low > 0
    return ClaimResult(name or f"fewer cycles along {', '.join(groups)}",
                       "mean cycles non-increasing in that order; first − last > 0 (95% CI over seeds)",
                       ", ".join(f"{label}: {m:.2f}" for label, m in zip(groups, means, strict=True))
                       + f"; first − last {drop.text('+.2f')}", ok,
                       {"groups": list(groups), "cycles": means, "effect": drop.estimate, "ci": [drop.low, drop.high],
                        "n": drop.n})


def final_below(rows, *, metric: str = "val/accuracy", value: float = 0.5, where=None, name=None) -> ClaimResult:
    """The last logged ``metric`` is below ``value`` in every selected run (e.g. no generalization at ε = 1e-5)."""
    chosen = _rows(rows, where, "final_below")
    finals = [float(metric_of(r, metric)[1][-1]) for r in chosen]
    return ClaimResult(name or f"final {metric} < {value:g} ({where})", f"final {metric} < {value:g}, every run",
                       ", ".join(f"{_label(r)}: {v:.3f}" for r, v in zip(chosen, finals, strict=True)),
                       all(v < value for v in finals), {"final": finals})


def features_move_at_transitions(rows, *, where=None, min_ratio: float = 3.0, window: int = 200,
                                 layers: tuple[int, ...] = (1, 2), detector: dict | None = None,
                                 name=None) -> ClaimResult:
    """Median relative feature change r^l within ±``window`` steps of the cycles' spikes is ≥ ``min_ratio`` × its
    median in the growth phases (each cycle's norm-growth window before its spike, less those ±``window`` steps),
    for each layer l, pooled over runs."""
    chosen = _rows(rows, where, "features_move_at_transitions")
    near: dict[int, list] = {lv: [] for lv in layers}
    far: dict[int, list] = {lv: [] for lv in layers}
    for r in chosen:
        spikes = cycles_of(r, **(detector or {}))
        for lv in layers:
            steps, change = metric_of(r, f"features/change_l{lv}")
            close = np.zeros(len(steps), bool)
            growth = np.zeros(len(steps), bool)
            for s in spikes:
                close |= (steps >= s.step - window) & (steps <= s.end_step + window)
                growth |= (steps >= s.step - s.window) & (steps < s.step)
            near[lv] += list(change[close])
            far[lv] += list(change[growth & ~close])
    ratios = {lv: (np.median(near[lv]) / np.median(far[lv])) if near[lv] and far[lv] else None for lv in layers}
    ok = all(q is not None and q >= min_ratio for q in ratios.values())
    return ClaimResult(name or f"features move at transitions ({where})",
                       f"median r^l near spikes ≥ {min_ratio:g}× median in growth phases, l ∈ {list(layers)}",
                       ", ".join(f"l{lv}: {'n/a' if q is None else f'{q:.1f}×'}" for lv, q in ratios.items()), ok,
                       {"ratios": {str(k): v for k, v in ratios.items()}})


def generalizes_without_cycles(rows, *, where=None, val_threshold: float = 0.99, detector: dict | None = None,
                               name=None) -> ClaimResult:
    """Every selected run reaches validation accuracy ≥ ``val_threshold`` and has no slingshot (cycle; AdamW with
    wd = 1)."""
    chosen = _rows(rows, where, "generalizes_without_cycles")
    counts = [len(cycles_of(r, **(detector or {}))) for r in chosen]
    t_vals = [generalization_times(r, val_threshold=val_threshold)[1] for r in chosen]
    ok = all(c == 0 and t is not None for c, t in zip(counts, t_vals, strict=True))
    return ClaimResult(name or f"generalizes without slingshots ({where})",
                       f"val acc ≥ {val_threshold:g} and 0 cycles, every run",
                       ", ".join(f"{_label(r)}: t_val {_int(t)}, {c} cycles"
                                 for r, t, c in zip(chosen, t_vals, counts, strict=True)), ok,
                       {"t_val": t_vals, "spikes": counts})
