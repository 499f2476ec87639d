"""Slingshot detector and time-to-generalize, over a run's logged history.

The paper gives no detector; this is our operational rule (README.md, "Slingshot detector"). After the
training accuracy first reaches 100%, step t is flagged when L_t > ``jump`` · min(L_{t−lookback..t−1}) and
L_t > ``floor``; flags no more than ``merge`` steps apart are one spike. For each spike: its first and last
flagged step, the peak loss, the pre-spike minimum and median (over ``window`` steps), and the last-layer norm's
slope over ``window`` steps before the spike and after it.

A loss spike alone is not a Slingshot. Thilak et al. describe each one as a period of rapid growth of the
last-layer norm, the loss spike it ends in, and a norm plateau, so a spike is a **cycle** only when the norm grew
before it — by at least ``min_growth`` of its value over the ``window`` steps — and its slope after is below
``plateau`` × its slope before. A spike too near either end of the run for a full window is no cycle (it cannot
be checked).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from repro.studies.results import metric_of

#: A cycle's plateau: the norm's slope after the spike below this share of its slope before (the 0.2 of claim 2).
PLATEAU = 0.2
#: A cycle's growth: the norm grew by at least this share of its value over the window before the spike (1%: far
#: below the 6-7% per 300 steps of the quick study's cycles, far above the drift of a norm at rest).
MIN_GROWTH = 0.01


@dataclass
class Spike:
    step: int
    end_step: int
    peak_loss: float
    pre_min: float
    pre_median: float | None = None
    norm_before: float | None = None
    slope_before: float | None = None
    slope_after: float | None = None
    window: int = 1000
    plateau: float = PLATEAU
    min_growth: float = MIN_GROWTH

    @property
    def jump(self) -> float:
        """Peak over the detector's own baseline (the 200-step minimum): > ``jump`` by construction."""
        return _ratio(self.peak_loss, self.pre_min)

    @property
    def jump_over_median(self) -> float | None:
        """Peak over the median loss of the ``window`` steps before the spike: a baseline the detector never saw."""
        return None if self.pre_median is None else _ratio(self.peak_loss, self.pre_median)

    @property
    def slope_ratio(self) -> float | None:
        if self.slope_before is None or self.slope_after is None or self.slope_before <= 0:
            return None
        return self.slope_after / self.slope_before

    @property
    def judged(self) -> bool:
        """Both norm windows lie inside the run, so the spike can be checked for a cycle."""
        return self.slope_before is not None and self.slope_after is not None

    @property
    def growth(self) -> float | None:
        """Relative norm growth over the window before the spike, ΔN / N."""
        if self.slope_before is None or not self.norm_before:
            return None
        return self.slope_before * self.window / self.norm_before

    @property
    def cycle(self) -> bool:
        """Norm growth (≥ ``min_growth`` relative, positive slope), then the spike, then a plateau (slope after
        < ``plateau`` × slope before)."""
        if not self.judged or self.slope_before <= 0 or self.growth < self.min_growth:
            return False
        return self.slope_after < self.plateau * self.slope_before

    def as_dict(self) -> dict:
        return {**asdict(self), "jump": self.jump, "jump_over_median": self.jump_over_median,
                "slope_ratio": self.slope_ratio, "growth": self.growth, "cycle": self.cycle}


def _ratio(peak: float, base: float) -> float:
    # float32 losses can reach exactly 0 (softmax saturation): any spike from 0 is an infinite jump
    return peak / base if base > 0 else float("inf")


def first_step_at_least(steps, values, threshold: float) -> float | None:
    """The first step whose value is ≥ ``threshold`` (e.g. validation accuracy ≥ 0.99), else None."""
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    hit = np.flatnonzero(values >= threshold)
    return float(steps[hit[0]]) if len(hit) else None


def _slope(steps: np.ndarray, norm: np.ndarray, start: float, end: float) -> float | None:
    """(N(end) − N(start)) / (end − start), linearly interpolated; None when the span leaves the history."""
    if start < steps[0] or end > steps[-1] or end <= start:
        return None
    a, b = np.interp([start, end], steps, norm)
    return float((b - a) / (end - start))


def detect_slingshots(steps, loss, *, train_acc=None, norm_steps=None, norm=None, jump: float = 100.0,
                      floor: float = 1e-4, lookback: int = 200, merge: int = 200, window: int = 1000,
                      plateau: float = PLATEAU, min_growth: float = MIN_GROWTH) -> list[Spike]:
    """Spikes in a per-step training-loss history (``steps``, ``loss``: one value per logged step).

    ``train_acc`` (aligned with ``steps``) gates the search to after the first step with accuracy 1.0;
    without it the whole history is searched. ``norm_steps``/``norm`` (the last-layer norm history) give
    each spike's slopes before [step − 1 − window, step − 1] and after [end_step, end_step + window];
    ``plateau`` and ``min_growth`` decide which spikes are cycles (:attr:`Spike.cycle`).
    """
    steps, loss = np.asarray(steps, float), np.asarray(loss, float)
    if len(loss) <= lookback:
        return []
    start = lookback
    if train_acc is not None:
        fit = np.flatnonzero(np.asarray(train_acc, float) >= 1.0)
        if not len(fit):
            return []
        start = max(start, int(fit[0]))
    prior_min = np.lib.stride_tricks.sliding_window_view(loss[:-1], lookback).min(axis=1)  # min of L[t−lb..t−1]
    t = np.arange(start, len(loss))
    flagged = t[(loss[t] > jump * prior_min[t - lookback]) & (loss[t] > floor)]
    spikes: list[Spike] = []
    groups: list[list[int]] = []
    for i in flagged:
        if groups and steps[i] - steps[groups[-1][-1]] <= merge:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    for g in groups:
        first, last = g[0], g[-1]
        before = (steps >= steps[first] - window) & (steps < steps[first])
        spike = Spike(step=int(steps[first]), end_step=int(steps[last]), peak_loss=float(loss[first : last + 1].max()),
                      pre_min=float(prior_min[first - lookback]), window=window, plateau=plateau,
                      min_growth=min_growth,
                      pre_median=float(np.median(loss[before])) if steps[first] - window >= steps[0] else None)
        if norm is not None:
            ns, nv = np.asarray(norm_steps, float), np.asarray(norm, float)
            spike.slope_before = _slope(ns, nv, spike.step - 1 - window, spike.step - 1)
            spike.slope_after = _slope(ns, nv, spike.end_step, spike.end_step + window)
            if spike.slope_before is not None:
                spike.norm_before = float(np.interp(spike.step - 1 - window, ns, nv))
        spikes.append(spike)
    return spikes


def spikes_of(row: dict, **detector: float) -> list[Spike]:
    """The loss spikes of one study row (its per-step loss, accuracy and last-layer norm), cycles or not."""
    steps, loss = metric_of(row, "fit/loss")
    _, error = metric_of(row, "fit/error")
    norm_steps, norm = metric_of(row, "weights/last_layer_norm")
    return detect_slingshots(steps, loss, train_acc=1 - error, norm_steps=norm_steps, norm=norm, **detector)


def cycles_of(row: dict, **detector: float) -> list[Spike]:
    """The slingshots of one study row: its spikes that end a norm growth and start a plateau."""
    return [s for s in spikes_of(row, **detector) if s.cycle]


def generalization_times(row: dict, *, train_threshold: float = 0.99, val_threshold: float = 0.95):
    """(t_tr, t_val): first step with per-step training accuracy ≥ ``train_threshold`` and first
    validation pass with accuracy ≥ ``val_threshold`` (None when never reached)."""
    steps, error = metric_of(row, "fit/error")
    vs, va = metric_of(row, "val/accuracy")
    return first_step_at_least(steps, 1 - error, train_threshold), first_step_at_least(vs, va, val_threshold)
