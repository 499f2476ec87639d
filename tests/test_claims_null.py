"""Each generic claim type FAILS on a constructed null input (equal groups, noise only, no gap) and PASSES on a
constructed effect: a claim that cannot fail is no evidence."""

from __future__ import annotations

import numpy as np
import pytest

from repro.studies.claims import (
    at_least,
    at_most,
    close,
    exceeds_on_all,
    gain_largest_at,
    less_than,
    ratio_at_most,
    within,
    within_table,
)


def _groups(a, b, metric="m"):
    return ([{"arm": "a", "seed": s, metric: float(v)} for s, v in enumerate(a)]
            + [{"arm": "b", "seed": s, metric: float(v)} for s, v in enumerate(b)])


A, B = {"arm": "a"}, {"arm": "b"}
RNG = np.random.default_rng(2024)
NOISE = [(RNG.normal(0.3, 0.02, 10), RNG.normal(0.3, 0.02, 10)) for _ in range(20)]


def test_less_than_fails_on_equal_groups_and_mostly_on_noise():
    same = _groups([0.3, 0.31, 0.29], [0.3, 0.31, 0.29])
    assert not less_than(same, metric="m", a=A, b=B).passed  # a zero gap is no gap, even at margin 0
    false_passes = sum(less_than(_groups(a, b), metric="m", a=A, b=B).passed for a, b in NOISE)
    assert false_passes <= 2  # 10 seeds: about 5% of noise draws clear 0 (tests/test_stats.py)
    effect = _groups([0.30, 0.31, 0.29, 0.30, 0.32], [0.36, 0.38, 0.35, 0.37, 0.36])
    assert less_than(effect, metric="m", a=A, b=B, margin=0.03).passed


def test_ratio_at_most_fails_on_equal_groups():
    same = _groups([0.02, 0.021, 0.019], [0.02, 0.021, 0.019])
    assert not ratio_at_most(same, metric="m", a=A, b=B, factor=1.0).passed
    assert ratio_at_most(_groups([0.01, 0.011, 0.009], [0.02, 0.021, 0.019]), metric="m", a=A, b=B, factor=0.7).passed


def test_exceeds_on_all_fails_on_equal_groups_and_on_noise():
    same = _groups([0.8, 0.82, 0.79], [0.8, 0.82, 0.79], "auroc")
    assert not exceeds_on_all(same, metrics=["auroc"], a=B, b=A).passed
    false_passes = sum(exceeds_on_all(_groups(a, b, "auroc"), metrics=["auroc"], a=B, b=A).passed for a, b in NOISE)
    assert false_passes <= 2
    assert exceeds_on_all(_groups([0.7, 0.72, 0.71], [0.9, 0.91, 0.93], "auroc"), metrics=["auroc"], a=B, b=A).passed


def test_gain_largest_at_fails_when_every_metric_gains_alike():
    flat = [{"m": "new", "head": 0.8, "tail": 0.6}, {"m": "old", "head": 0.7, "tail": 0.5}]  # +0.1 on both
    assert not gain_largest_at(flat, metrics=["head", "tail"], a={"m": "new"}, b={"m": "old"}).passed
    tail = [{"m": "new", "head": 0.8, "tail": 0.7}, {"m": "old", "head": 0.7, "tail": 0.5}]
    assert gain_largest_at(tail, metrics=["head", "tail"], a={"m": "new"}, b={"m": "old"}).passed


def test_close_fails_on_a_real_gap():
    gap = _groups([0.90, 0.91, 0.92], [0.80, 0.81, 0.82])
    assert not close(gap, metric="m", a=A, b=B, tolerance=0.02).passed
    assert close(_groups([0.90, 0.91, 0.92], [0.90, 0.905, 0.915]), metric="m", a=A, b=B, tolerance=0.02).passed
    noisy = _groups([0.90, 0.95, 0.85], [0.90, 0.85, 0.95])  # equal means, seed gaps ±0.1: equivalence unshown
    assert not close(noisy, metric="m", a=A, b=B, tolerance=0.02).passed


@pytest.mark.parametrize("claim, kwargs, null, effect", [
    (within, {"value": 0.5, "tolerance": 0.02}, [0.30, 0.31, 0.29], [0.50, 0.51, 0.49]),
    (at_least, {"value": 0.9}, [0.50, 0.51, 0.49], [0.95, 0.96, 0.94]),
    (at_most, {"value": 0.1}, [0.50, 0.51, 0.49], [0.05, 0.06, 0.04]),
])
def test_threshold_claims_fail_below_their_threshold(claim, kwargs, null, effect):
    assert not claim(_groups(null, []), metric="m", where=A, **kwargs).passed
    assert claim(_groups(effect, []), metric="m", where=A, **kwargs).passed


def test_within_table_fails_when_a_cell_is_off():
    rows = [{"method": "x", "src": "c10", "seed": s, "err": v} for s, v in enumerate([0.30, 0.31])]
    args = {"metric": "err", "rows_key": "method", "columns": ["src"], "tolerance": 1.0, "scale": 100}
    assert not within_table(rows, values={"x": {"c10": 20.0}}, **args).passed
    assert within_table(rows, values={"x": {"c10": 30.5}}, **args).passed
