"""LDAM-DRW's "the gain is at the tail" claim on rows built here, no training: it FAILS when the two methods
differ only by seed noise, and when the tail gain does not outweigh the head loss in every seed; it PASSES on a
tail gain that does; its interval is over seeds, runs paired by seed."""

from __future__ import annotations

import numpy as np
import pytest

from repro.papers.ldam_drw.claims import tail_gain_exceeds_head_loss
from repro.studies.results import MissingRuns

A, B = {"method": "LDAM-DRW"}, {"method": "ERM"}
TAIL, HEAD = "test/accuracy_tail", "test/accuracy_head"


def rows_(erm: list[tuple[float, float]], ldam: list[tuple[float, float]]) -> list[dict]:
    """(head, tail) accuracy per seed for each method."""
    return [{"method": m, "seed": s, HEAD: h, TAIL: t}
            for m, values in (("ERM", erm), ("LDAM-DRW", ldam)) for s, (h, t) in enumerate(values)]


def test_fails_when_the_methods_differ_by_seed_noise_only():
    rng = np.random.default_rng(0)
    false_passes = 0
    for _ in range(20):
        erm = [(0.9 + 0.01 * rng.standard_normal(), 0.5 + 0.02 * rng.standard_normal()) for _ in range(5)]
        ldam = [(h + 0.01 * rng.standard_normal(), t + 0.02 * rng.standard_normal()) for h, t in erm]
        false_passes += tail_gain_exceeds_head_loss(rows_(erm, ldam), a=A, b=B).passed
    assert false_passes <= 3  # 5 seeds: about 8% of pure-noise intervals clear 0 (repro/studies/stats.py)
    same = [(0.9, 0.5), (0.91, 0.52), (0.89, 0.48)]
    assert not tail_gain_exceeds_head_loss(rows_(same, same), a=A, b=B).passed


def test_passes_on_a_tail_gain_larger_than_the_head_loss_in_every_seed():
    erm = [(0.90, 0.50), (0.91, 0.52), (0.89, 0.48)]
    ldam = [(0.88, 0.60), (0.90, 0.61), (0.86, 0.59)]  # tail +0.10/+0.09/+0.11, head −0.02/−0.01/−0.03
    result = tail_gain_exceeds_head_loss(rows_(erm, ldam), a=A, b=B)
    assert result.passed and result.values["n"] == 3
    assert result.values["tail_gain"] == pytest.approx(0.10)
    assert result.values["head_loss"] == pytest.approx(0.02)
    assert result.values["effect"] == pytest.approx(0.08) and result.values["ci"][0] > 0


def test_a_mean_gain_fails_when_one_seed_loses_more_head_than_it_gains_tail():
    erm = [(0.90, 0.50), (0.91, 0.52), (0.89, 0.48)]
    ldam = [(0.88, 0.60), (0.90, 0.61), (0.70, 0.53)]  # seed 2: tail +0.05, head −0.19; mean effect still > 0
    result = tail_gain_exceeds_head_loss(rows_(erm, ldam), a=A, b=B)
    assert result.values["effect"] > 0 and not result.passed


def test_needs_a_seed_in_both_methods():
    with pytest.raises(MissingRuns):
        tail_gain_exceeds_head_loss([{"method": "ERM", "seed": 0, HEAD: 0.9, TAIL: 0.5},
                                     {"method": "LDAM-DRW", "seed": 1, HEAD: 0.9, TAIL: 0.6}], a=A, b=B)
