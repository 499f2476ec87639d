"""Intervals over seeds (repro.studies.stats) against references computed here by enumeration, and their measured
false-pass rate on pure noise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from repro.studies.stats import Interval, mean_difference_interval, paired_gaps, seed_interval


def _exact_percentiles(values, statistic, q=(2.5, 97.5)):
    """Every resample of the seeds with its probability (n^n equally likely index tuples): the exact bootstrap
    distribution of ``statistic``, and its percentiles by the inverted-CDF rule."""
    values = np.asarray(values, dtype=float)
    stats = sorted(statistic(values[list(idx)]) for idx in itertools.product(range(len(values)), repeat=len(values)))
    return [stats[min(len(stats) - 1, int(np.ceil(p / 100 * len(stats))) - 1)] for p in q]


@pytest.mark.parametrize("values", [[4.6, 2.9, 2.3], [0.1, -0.3, 0.2, 0.05], [1.0, 2.0, 2.0, 7.0, 3.0]])
def test_the_interval_of_a_mean_matches_the_exact_bootstrap_distribution(values):
    iv = seed_interval(values)
    low, high = _exact_percentiles(values, np.mean)
    spread = np.ptp(values)
    assert iv.estimate == pytest.approx(np.mean(values))
    assert iv.low == pytest.approx(low, abs=0.05 * spread) and iv.high == pytest.approx(high, abs=0.05 * spread)
    assert iv.n == len(values) and iv.low <= iv.estimate <= iv.high


def test_a_statistic_of_whole_rows_is_resampled_by_seed():
    curves = np.array([[0.1, 0.5, 0.2], [0.2, 0.4, 0.1], [0.0, 0.6, 0.3], [0.1, 0.3, 0.2]])  # seeds × x

    def peak_rise(c):
        mean = c.mean(axis=0)
        return float(mean[1] - mean[0])

    iv = seed_interval(curves, peak_rise)
    low, high = _exact_percentiles(curves, peak_rise)
    assert iv.estimate == pytest.approx(0.35)
    assert iv.low == pytest.approx(low, abs=0.02) and iv.high == pytest.approx(high, abs=0.02)


def test_degenerate_samples_give_a_zero_width_interval():
    assert seed_interval([0.3, 0.3, 0.3]) == Interval(0.3, 0.3, 0.3, 3)
    assert seed_interval([0.7]) == Interval(0.7, 0.7, 0.7, 1)
    with pytest.raises(ValueError):
        seed_interval([])


def test_clears_below_and_text():
    iv = Interval(0.2, 0.1, 0.3, 5)
    assert iv.clears(0.1) and not iv.clears(0.11) and iv.below(0.3) and not iv.below(0.29)
    assert iv.text() == "+0.200 [+0.100, +0.300] (95% CI, 5 seeds)"
    assert iv.values() == {"effect": 0.2, "ci": [0.1, 0.3], "n": 5}


def test_a_verdict_is_reproducible():
    rng = np.random.default_rng(3)
    x = rng.normal(size=7)
    assert seed_interval(x) == seed_interval(x)


@pytest.mark.parametrize("n, at_most", [(3, 0.20), (5, 0.11), (10, 0.08)])
def test_on_pure_noise_the_interval_rarely_clears_zero(n, at_most):
    """The false-pass rate a margin-0 claim has on noise, as the module's docstring states (15%, 8%, 5%)."""
    rng = np.random.default_rng(12345)
    trials = 300
    passes = sum(seed_interval(rng.normal(size=n)).clears(1e-12) for _ in range(trials))
    assert passes / trials <= at_most
    effect = sum(seed_interval(rng.normal(loc=2.0, size=n)).clears(1e-12) for _ in range(trials))
    assert effect / trials >= 0.9  # and a real effect of two standard deviations is found


def test_unpaired_difference_and_paired_gaps():
    a, b = [1.0, 1.2, 0.8], [2.0, 2.2, 1.8, 2.0]
    iv = mean_difference_interval(a, b)
    assert iv.estimate == pytest.approx(1.0) and 0.5 < iv.low < 1.0 < iv.high < 1.5
    same = mean_difference_interval(a, a)
    assert same.low < 0 < same.high
    rows_a = [{"seed": s, "m": v} for s, v in enumerate(a)]
    rows_b = [{"seed": s, "m": v} for s, v in enumerate([1.5, 1.4, 1.1])]
    seeds, gaps = paired_gaps(rows_a, rows_b, "m")
    assert seeds == [0, 1, 2] and gaps == pytest.approx([0.5, 0.2, 0.3])
    assert paired_gaps(rows_a, rows_b[:2], "m") is None  # not the same seeds: compare unpaired
