"""The loss-correction claim types on rows built here, no training: each FAILS on a null input (equal arms up to
seed noise, no growth) and PASSES on a constructed effect; the interval is over seeds, paired by seed."""

from __future__ import annotations

import numpy as np
import pytest

from repro.papers.loss_correction.claims import gap_at_least, gap_grows, paired_gaps, ratio_at_least
from repro.studies.results import MissingRuns


def rows_(effect: dict, seeds=range(5), noise=1.0, levels=(0.2, 0.4, 0.6), metric="test/accuracy", base=0.8):
    """One row per method, level and seed: ``base`` + seed noise (shared by the arms of a seed, plus its own) +
    ``effect[(method, level)]`` in accuracy units."""
    rng = np.random.default_rng(0)
    out = []
    for lv in levels:
        for s in seeds:
            shared = rng.normal(0, 0.02 * noise)
            for m in ("A", "B"):
                value = base + shared + rng.normal(0, 0.01 * noise) + effect.get((m, lv), 0.0)
                out.append({"method": m, "label_noise": lv, "seed": s, metric: value})
    return out


def test_gap_at_least_fails_on_equal_arms_and_passes_on_a_clear_gap():
    kw = dict(metric="test/accuracy", a={"method": "A"}, b={"method": "B"}, over="label_noise", scale=100,
              margin=2.0)
    null = gap_at_least(rows_({}), **kw)
    assert not null.passed and null.values["ci"][0] < 2.0
    effect = gap_at_least(rows_({("A", lv): 0.06 for lv in (0.2, 0.4, 0.6)}), **kw)
    assert effect.passed and effect.values["ci"][0] >= 2.0 and effect.values["n"] == 5
    # one level without the effect fails the every-level claim; naming only the levels with it passes
    partial = rows_({("A", 0.4): 0.06, ("A", 0.6): 0.06})
    assert not gap_at_least(partial, **kw).passed
    assert gap_at_least(partial, levels=[0.4, 0.6], **kw).passed


def test_gap_at_least_fails_when_one_seed_lacks_the_effect_among_three():
    """Three seeds, a +6-point gap on two and none on the third: the mean (+4) clears 2, its interval does not."""
    rows = rows_({}, seeds=range(3), noise=0.0, levels=(0.4,))
    for r in rows:
        if r["method"] == "A" and r["seed"] != 2:
            r["test/accuracy"] += 0.06
    res = gap_at_least(rows, metric="test/accuracy", a={"method": "A"}, b={"method": "B"}, over="label_noise",
                       levels=[0.4], scale=100, margin=2.0)
    assert res.values["effect"] == pytest.approx(4.0) and not res.passed


def test_identical_arms_give_a_zero_interval_that_fails_a_positive_margin():
    """No noise, T = I: forward and backward are one loss and their runs coincide; the gap is exactly 0."""
    rows = rows_({}, noise=0.0)
    res = gap_at_least(rows, metric="test/accuracy", a={"method": "A"}, b={"method": "B"}, over="label_noise",
                       scale=100, margin=1.0)
    assert res.values["ci"] == [0.0, 0.0] and not res.passed


def test_gap_grows_fails_on_a_constant_gap_and_passes_on_a_growing_one():
    kw = dict(metric="test/accuracy", a={"method": "A"}, b={"method": "B"}, over="label_noise", low=0.2, high=0.6,
              scale=100, margin=5.0)
    flat = {("A", lv): 0.03 for lv in (0.2, 0.4, 0.6)}
    assert not gap_grows(rows_(flat), **kw).passed
    growing = {("A", 0.2): 0.01, ("A", 0.6): 0.15}
    res = gap_grows(rows_(growing), **kw)
    assert res.passed and res.values["effect"] == pytest.approx(14.0, abs=1.5)


def test_ratio_at_least_fails_on_equal_errors_and_on_zero_over_zero():
    def rows(a, b):
        return [{"method": "CE", "label_noise": lv, "seed": s, "noise/T_hat_l1": v + 0.01 * s}
                for lv, v in ((0.6, a), (0.4, b)) for s in range(5)]

    kw = dict(metric="noise/T_hat_l1", a={"label_noise": 0.6}, b={"label_noise": 0.4}, value=1.5)
    assert not ratio_at_least(rows(0.15, 0.15), **kw).passed
    assert ratio_at_least(rows(0.30, 0.15), **kw).passed
    zero = [{"method": "CE", "label_noise": lv, "seed": s, "noise/T_hat_l1": 0.0} for lv in (0.4, 0.6)
            for s in range(3)]
    assert ratio_at_least(zero, **kw).values["effect"] == 1.0 and not ratio_at_least(zero, **kw).passed


def test_pairing_needs_a_common_seed():
    rows = [{"method": "A", "seed": 0, "m": 1.0}, {"method": "B", "seed": 1, "m": 0.0}]
    with pytest.raises(MissingRuns):
        paired_gaps(rows, "m", {"method": "A"}, {"method": "B"}, "test")
