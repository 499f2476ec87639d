"""The generic claim types and the claim protocol, against hand-built result tables whose verdicts are known."""

from __future__ import annotations

import pytest
from result_tables import TEST, WIDTHS, rows

from repro.errors import ReproError
from repro.studies.claims import (
    MissingRuns,
    at_least,
    at_most,
    close,
    evaluate,
    exceeds_on_all,
    exit_status,
    gain_largest_at,
    less_than,
    ratio_at_most,
    summary,
    within,
    within_table,
)
from repro.studies.results import curve


def test_curve_means_over_seeds():
    xs, mean, std, n = curve(rows(), "width", "test/error")
    assert xs.tolist() == WIDTHS
    assert mean == pytest.approx(TEST)
    assert std == pytest.approx([0.01] * 6)
    assert n.tolist() == [2] * 6


def test_within_and_less_than():
    table = rows()
    assert within(table, metric="test/error", where={"width": 64}, value=0.16, tolerance=0.011).passed
    assert not within(table, metric="test/error", where={"width": 64}, value=0.17, tolerance=0.01).passed
    assert less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.25).passed
    assert not less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.26).passed
    # per seed: seed 1's gap is the same here, so it holds for every seed
    assert less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.2, per_seed=True).passed


def test_at_least_at_most_close_against_hand_computed_means():
    table = [{"m": "A", "seed": s, "acc": v} for s, v in enumerate([0.90, 0.96, 0.99])]
    table += [{"m": "B", "seed": s, "acc": v} for s, v in enumerate([0.91, 0.95, 0.98])]
    assert at_least(table, metric="acc", value=0.949, where={"m": "A"}).passed  # mean 0.95
    assert not at_least(table, metric="acc", value=0.951, where={"m": "A"}).passed
    assert not at_least(table, metric="acc", value=0.949, where={"m": "A"}, every_run=True).passed  # min 0.90
    assert at_most(table, metric="acc", value=0.951, where={"m": "A"}).passed
    assert not at_most(table, metric="acc", value=0.951, where={"m": "A"}, every_run=True).passed  # max 0.99
    # close: B − A per seed is +0.01, −0.01, −0.01 (mean −0.0033); the interval over seeds spans about −0.01 to
    # +0.01, so a tolerance must cover that spread, not only the gap of the means
    assert not close(table, metric="acc", a={"m": "A"}, b={"m": "B"}, tolerance=0.0034).passed
    assert close(table, metric="acc", a={"m": "A"}, b={"m": "B"}, tolerance=0.0101).passed
    shifted = [r for r in table if r["m"] == "A"] + [{**r, "m": "B", "acc": r["acc"] - 0.003}
                                                     for r in table if r["m"] == "A"]
    assert close(shifted, metric="acc", a={"m": "A"}, b={"m": "B"}, tolerance=0.0031).passed  # every seed −0.003
    assert not close(shifted, metric="acc", a={"m": "A"}, b={"m": "B"}, tolerance=0.0029).passed


def test_gain_largest_at_the_last_metric():
    table = [{"m": "new", "head": 0.8, "tail": 0.6}, {"m": "old", "head": 0.85, "tail": 0.4}]
    assert gain_largest_at(table, metrics=["head", "tail"], a={"m": "new"}, b={"m": "old"}).passed
    assert not gain_largest_at(table, metrics=["tail", "head"], a={"m": "new"}, b={"m": "old"}).passed


def test_evaluate_fills_x_and_rejects_unknown_types():
    results = evaluate([{"type": "within", "name": "w", "metric": "test/error", "where": {"width": 64},
                         "value": 0.15, "tolerance": 0.02}], rows(), x="width")
    assert results[0].name == "w" and results[0].verdict == "PASS"
    with pytest.raises(ReproError, match="unknown claim type"):
        evaluate([{"type": "looks_good"}], rows(), x="width")


def test_a_claim_whose_runs_were_not_run_is_reported_not_raised():
    rows = [{"method": "ERM", "seed": 0, "err": 0.3}]
    specs = [{"type": "less_than", "name": "new below ERM", "metric": "err", "a": {"method": "new"},
              "b": {"method": "ERM"}},
             {"type": "at_least", "name": "new fits", "metric": "err", "value": 0.1, "where": {"method": "new"}},
             {"type": "gain_largest_at", "name": "tail gains", "metrics": ["err"], "a": {"method": "new"},
              "b": {"method": "ERM"}}]
    results = evaluate(specs, rows)
    assert [r.name for r in results] == ["new below ERM", "new fits", "tail gains"]
    assert all(r.not_run and r.verdict == "NOT RUN" and r.measured.startswith("not run") and "new" in r.measured
               for r in results)
    assert exit_status(results) == 0 and summary(results) == "0/3 claims passed, 3 not run (outside the --grid subset)"
    assert exit_status([*results, less_than(rows, metric="err", a={"method": "ERM"}, b={"method": "ERM"})]) == 1


def test_less_than_per_seed_fails_when_one_seed_misses_the_margin():
    # per-seed gaps 0.20 × 5 and 0.02: the interval of the mean gap clears 0.05, seed 5's own gap does not
    gaps = [0.2, 0.2, 0.2, 0.2, 0.2, 0.02]
    table = [{"m": "A", "seed": s, "e": 0.1} for s in range(6)]
    table += [{"m": "B", "seed": s, "e": 0.1 + g} for s, g in enumerate(gaps)]
    mean_only = less_than(table, metric="e", a={"m": "A"}, b={"m": "B"}, margin=0.05)
    per_seed = less_than(table, metric="e", a={"m": "A"}, b={"m": "B"}, margin=0.05, per_seed=True)
    assert mean_only.passed and not per_seed.passed
    assert mean_only.values["ci"][0] >= 0.05 and mean_only.values["n"] == 6
    assert per_seed.values["gaps"] == pytest.approx(gaps)
    assert per_seed.expected == "B − A ≥ 0.05 over the 95% CI and for every seed" and "+0.020" in per_seed.measured


def test_within_table_checks_every_cell_with_its_tolerance():
    rows = [{"method": m, "source": src, "ratio": 100, "seed": s, "err": v + d}
            for m, src, v in (("ERM", "c10", 0.30), ("ERM", "c100", 0.60), ("NEW", "c10", 0.23))
            for s, d in ((0, -0.002), (1, 0.002))]
    paper = {"ERM": {"c10 100": 29.64, "c100 100": 61.2}, "NEW": {"c10 100": 22.97}}
    ok = within_table(rows, metric="err", rows_key="method", columns=["source", "ratio"], values=paper,
                      tolerance={"c10": 1.0, "c100": 1.5}, scale=100)
    assert ok.passed and ok.values["checked"] == 3  # 30.0 vs 29.64, 60.0 vs 61.2 (1.2 < 1.5), 23.0 vs 22.97
    tight = within_table(rows, metric="err", rows_key="method", columns=["source", "ratio"], values=paper,
                         tolerance=1.0, scale=100)
    assert not tight.passed and tight.values["misses"] == ["ERM c100 100: 60.00 vs 61.2"]
    [missing] = evaluate([{"type": "within_table", "metric": "err", "rows_key": "method", "columns": ["source"],
                           "values": {"OLD": {"c10": 1.0}}, "tolerance": 1.0}], rows)
    assert missing.verdict == "NOT RUN"


def test_ratio_at_most_against_hand_computed_means():
    table = [{"m": "new", "seed": s, "ece": v} for s, v in enumerate((0.010, 0.012, 0.011))]
    table += [{"m": "old", "seed": s, "ece": v} for s, v in enumerate((0.030, 0.032, 0.031))]
    ok = ratio_at_most(table, metric="ece", a={"m": "new"}, b={"m": "old"}, factor=0.5)  # 0.5·old − new = +0.0045
    assert ok.passed and ok.values["ratio"] == pytest.approx(0.011 / 0.031)
    # per-seed gaps 0.005, 0.004, 0.0045: over 3 seeds the percentile interval spans their min..max
    assert ok.values["effect"] == pytest.approx(0.0045) and ok.values["ci"] == pytest.approx([0.004, 0.005])
    assert not ratio_at_most(table, metric="ece", a={"m": "new"}, b={"m": "old"}, factor=0.35).passed  # −0.00015
    assert not ratio_at_most(table, metric="ece", a={"m": "old"}, b={"m": "new"}, factor=1.0).passed
    zero = [{"m": "new", "ece": 0.0}, {"m": "old", "ece": 0.0}]
    assert not ratio_at_most(zero, metric="ece", a={"m": "new"}, b={"m": "old"}, factor=0.5).passed


def test_exceeds_on_all_needs_every_metric():
    table = [{"m": "new", "auroc": 0.9, "aupr": 0.8}, {"m": "new", "auroc": 0.8, "aupr": 0.6},
             {"m": "old", "auroc": 0.7, "aupr": 0.71}]
    both = ["auroc", "aupr"]
    assert not exceeds_on_all(table, metrics=both, a={"m": "new"}, b={"m": "old"}).passed  # gaps +0.15, -0.01
    table[2]["aupr"] = 0.69
    assert exceeds_on_all(table, metrics=both, a={"m": "new"}, b={"m": "old"}).passed  # +0.15, +0.01
    assert not exceeds_on_all(table, metrics=both, a={"m": "new"}, b={"m": "old"}, margin=0.02).passed
    assert exceeds_on_all(table, metrics=["auroc"], a={"m": "new"}, b={"m": "old"}, margin=0.15).passed
    assert not exceeds_on_all(table, metrics=both, a={"m": "old"}, b={"m": "new"}).passed
    equal = [{"m": "new", "auroc": 0.5}, {"m": "old", "auroc": 0.5}]
    assert not exceeds_on_all(equal, metrics=["auroc"], a={"m": "new"}, b={"m": "old"}).passed  # strictly higher
    with pytest.raises(MissingRuns):
        exceeds_on_all(table, metrics=["auprc"], a={"m": "new"}, b={"m": "old"})
    with pytest.raises(ReproError, match="margin"):
        exceeds_on_all(table, metrics=both, a={"m": "new"}, b={"m": "old"}, margin=-0.1)
