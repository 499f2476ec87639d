"""Manifold Mixup's ratio claim on rows built here, no training: it FAILS when the arms are equal up to seed noise
and when one seed lacks the effect, PASSES on a clear flattening in every seed; the interval is over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from repro.papers.manifold_mixup.claims import ratio_at_most
from repro.studies.results import MissingRuns

KW = dict(metric="train/sv_rest_ratio", a={"method": "manifold"}, b={"method": "none"}, value=0.9)


def rows_(manifold: list[float], none: list[float]) -> list[dict]:
    return [{"method": m, "seed": s, "train/sv_rest_ratio": v}
            for m, values in (("manifold", manifold), ("none", none)) for s, v in enumerate(values)]


def test_fails_on_equal_arms_with_seed_noise():
    rng = np.random.default_rng(0)
    none = list(0.8 + 0.05 * rng.standard_normal(5))
    result = ratio_at_most(rows_([v + 0.02 * rng.standard_normal() for v in none], none), **KW)
    assert not result.passed and result.values["ci"][1] > 0.9


def test_passes_on_a_clear_flattening_in_every_seed():
    result = ratio_at_most(rows_([0.60, 0.62, 0.58], [0.80, 0.81, 0.79]), **KW)
    assert result.passed and result.values["effect"] == pytest.approx(1.80 / 2.40)
    assert result.values["ci"][1] <= 0.9 and result.values["n"] == 3


def test_a_mean_below_the_bound_fails_when_one_seed_does_not_flatten():
    """Seed means 0.68 / 0.80 = 0.85 ≤ 0.9, but the third seed's arms are equal: the interval reaches above 0.9."""
    result = ratio_at_most(rows_([0.60, 0.62, 0.82], [0.80, 0.78, 0.82]), **KW)
    assert result.values["effect"] < 0.9 and not result.passed


def test_needs_a_seed_in_both_arms():
    with pytest.raises(MissingRuns):
        ratio_at_most([{"method": "manifold", "seed": 0, "train/sv_rest_ratio": 1.0}], **KW)
