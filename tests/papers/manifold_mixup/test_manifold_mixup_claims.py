"""Manifold Mixup's claim types on rows built here, no training: the ratio claim FAILS when the arms are equal up
to seed noise and when one seed lacks the effect, PASSES on a clear flattening in every seed; the per-cell ordering
claims (Tables 1-2) FAIL when the methods differ by seed noise only, or when one cell breaks the order, and PASS on
a clear order in every cell. Every interval is over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from repro.papers.manifold_mixup.claims import lowest_in_every_cell, ordered_in_every_cell, ratio_at_most
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


CELLS = [("cifar10", "preact18"), ("svhn", "wrn28")]


def table_(errors: dict, noise: float = 0.0, seeds: int = 5, rng=None) -> list[dict]:
    """Rows of test error per (dataset, net) cell, method and seed: ``errors[cell][method]`` plus seed noise."""
    rng = rng or np.random.default_rng(0)
    return [{"dataset": d, "net": n, "method": m, "seed": s,
             "test/error": e + noise * rng.standard_normal()}
            for (d, n), by_method in errors.items() for m, e in by_method.items() for s in range(seeds)]


ORDER = dict(metric="test/error", order=["manifold", "input", "none"], cells=["dataset", "net"], min_cells=2)
LOWEST = dict(metric="test/error", lowest="manifold", others=["input", "none"], cells=["dataset", "net"],
              min_cells=2)


def test_cell_claims_fail_when_the_methods_differ_by_seed_noise_only():
    rng = np.random.default_rng(1)
    equal = {c: dict.fromkeys(["manifold", "input", "none"], 0.05) for c in CELLS}
    for claim, kw in ((ordered_in_every_cell, ORDER), (lowest_in_every_cell, LOWEST)):
        false_passes = sum(claim(table_(equal, noise=0.003, rng=rng), **kw).passed for _ in range(20))
        assert false_passes <= 1, claim.__name__  # every gap of both cells must clear 0 by chance
        assert not claim(table_(equal), **kw).passed  # identical methods: zero gaps, no order


def test_cell_claims_pass_on_a_clear_order_in_every_cell():
    clear = {c: {"manifold": 0.030, "input": 0.035, "none": 0.045} for c in CELLS}
    rows = table_(clear, noise=0.001)
    ordered, lowest = ordered_in_every_cell(rows, **ORDER), lowest_in_every_cell(rows, **LOWEST)
    assert ordered.passed and lowest.passed and ordered.values["held"] == 2
    gaps = ordered.values["gaps"]["cifar10 preact18"]
    assert gaps["input − manifold"]["effect"] == pytest.approx(0.005, abs=0.002)
    assert gaps["none − input"]["effect"] == pytest.approx(0.010, abs=0.002)
    assert gaps["input − manifold"]["ci"][0] > 0 and gaps["input − manifold"]["n"] == 5


def test_one_cell_out_of_order_fails_the_claim_and_is_named():
    rows = table_({CELLS[0]: {"manifold": 0.030, "input": 0.035, "none": 0.045},
                   CELLS[1]: {"manifold": 0.036, "input": 0.035, "none": 0.045}}, noise=0.0005)
    ordered, lowest = ordered_in_every_cell(rows, **ORDER), lowest_in_every_cell(rows, **LOWEST)
    assert not ordered.passed and not lowest.passed
    assert "fails: svhn wrn28" in ordered.measured and ordered.values["held"] == 1


def test_too_few_cells_fail():
    rows = table_({CELLS[0]: {"manifold": 0.030, "input": 0.035, "none": 0.045}}, noise=0.001)
    assert ordered_in_every_cell(rows, **ORDER).values["held"] == 1
    assert not ordered_in_every_cell(rows, **ORDER).passed  # min_cells=2
