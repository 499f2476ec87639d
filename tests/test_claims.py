"""Claims against hand-built result tables whose verdicts are known."""

from __future__ import annotations

import pytest

from repro.errors import ReproError
from repro.studies.claims import (
    curve,
    epochwise_double_descent,
    evaluate,
    interpolation_threshold,
    last_exceeds_min,
    less_than,
    peak_exceeds_ends,
    peak_grows_with,
    peak_near_threshold,
    within,
)

WIDTHS = [2, 4, 8, 16, 32, 64]
# test error: first minimum 0.20 at 4, peak 0.40 at 16, 0.15 at 64; train error hits 0 at 16.
TEST = [0.30, 0.20, 0.25, 0.40, 0.30, 0.15]
TRAIN = [0.40, 0.30, 0.10, 0.00, 0.00, 0.00]


def rows(test=TEST, train=TRAIN, seeds=(0, 1), jitter=0.01, **extra):
    out = []
    for s in seeds:
        sign = 1 if s % 2 == 0 else -1
        for w, te, tr in zip(WIDTHS, test, train, strict=True):
            out.append({"width": w, "seed": s, "test/error": te + sign * jitter, "train/error": tr, **extra})
    return out


def test_curve_means_over_seeds():
    xs, mean, std, n = curve(rows(), "width", "test/error")
    assert xs.tolist() == WIDTHS
    assert mean == pytest.approx(TEST)
    assert std == pytest.approx([0.01] * 6)
    assert n.tolist() == [2] * 6


def test_peak_exceeds_ends_measures_rise_and_fall():
    r = peak_exceeds_ends(rows(), x="width", margin_left=0.15, margin_right=0.2)
    assert r.passed
    assert r.values["x_peak"] == 16 and r.values["x_first_min"] == 4
    assert r.values["rise"] == pytest.approx(0.20) and r.values["fall"] == pytest.approx(0.25)
    assert not peak_exceeds_ends(rows(), x="width", margin_left=0.21).passed
    assert not peak_exceeds_ends(rows(), x="width", margin_right=0.26).passed


def test_peak_exceeds_ends_second_descent_below_first_min():
    assert peak_exceeds_ends(rows(), x="width", last_below_first_min=0.05).passed  # 0.20 − 0.15
    assert not peak_exceeds_ends(rows(), x="width", last_below_first_min=0.06).passed


def test_monotone_curve_has_no_double_descent():
    r = peak_exceeds_ends(rows(test=[0.5, 0.4, 0.3, 0.2, 0.1, 0.05]), x="width")
    assert not r.passed


def test_search_window_and_first_min_start():
    r = peak_exceeds_ends(rows(), x="width", search=(2, 8))
    assert r.values["x_peak"] == 2 or not r.passed  # a peak at the grid's first point is no double descent
    r = peak_exceeds_ends(rows(), x="width", first_min_from=8)
    assert r.values["x_first_min"] == 8 and r.values["rise"] == pytest.approx(0.15)


def test_interpolation_threshold_and_peak_near_it():
    assert interpolation_threshold(rows(), x="width", threshold=0.05) == 16
    assert interpolation_threshold(rows(), x="width", threshold=0.2) == 8
    assert interpolation_threshold(rows(train=[0.5] * 6), x="width") is None
    assert peak_near_threshold(rows(), x="width", threshold=0.05, tolerance_steps=0).passed
    r = peak_near_threshold(rows(), x="width", threshold=0.35, tolerance_steps=1)  # k* = 4, peak 16: 2 steps
    assert not r.passed and r.values["steps"] == 2


def test_peak_grows_with_noise():
    table = (rows(test=[0.2, 0.15, 0.12, 0.10, 0.08, 0.06], label_noise=0.0)
             + rows(test=[0.3, 0.20, 0.25, 0.30, 0.25, 0.15], label_noise=0.1)
             + rows(label_noise=0.2))
    r = peak_grows_with(table, x="width", by="label_noise", first_min_from=4)
    assert r.passed and r.values["heights"] == pytest.approx([0.0, 0.10, 0.20])
    shrinking = rows(label_noise=0.1) + rows(test=[0.3, 0.20, 0.25, 0.30, 0.25, 0.15], label_noise=0.2)
    assert not peak_grows_with(shrinking, x="width", by="label_noise", first_min_from=4).passed


def test_within_and_less_than():
    table = rows()
    assert within(table, metric="test/error", where={"width": 64}, value=0.16, tolerance=0.011).passed
    assert not within(table, metric="test/error", where={"width": 64}, value=0.17, tolerance=0.01).passed
    assert less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.25).passed
    assert not less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.26).passed
    # per seed: seed 1's gap is the same here, so it holds for every seed
    assert less_than(table, metric="test/error", a={"width": 64}, b={"width": 16}, margin=0.2, per_seed=True).passed


def _history_run(tmp_path, name, errors):
    d = tmp_path / name
    d.mkdir()
    lines = ["epoch,step,test/error,fit/loss"] + [f"{e},{e},{v}," for e, v in enumerate(errors)]
    lines.insert(2, "0,0,,0.5")  # a training-loss row without the metric is skipped
    (d / "metrics.csv").write_text("\n".join(lines) + "\n")
    return str(d)


def test_epochwise_claims_read_histories(tmp_path):
    dd = [0.30, 0.20, 0.18, 0.25, 0.30, 0.28, 0.22, 0.21]
    flat = [0.30, 0.20, 0.22, 0.25, 0.26, 0.26, 0.26, 0.26]
    table = [{"width": 64, "seed": 0, "run_dir": _history_run(tmp_path, "a", dd)},
             {"width": 12, "seed": 0, "run_dir": _history_run(tmp_path, "b", flat)}]
    r = epochwise_double_descent(table, where={"width": 64}, min_rise=0.1, min_fall=0.08)
    assert r.passed and r.values == pytest.approx({"min": 0.18, "max": 0.30, "last": 0.21})
    assert not epochwise_double_descent(table, where={"width": 12}).passed  # no second descent
    assert last_exceeds_min(table, where={"width": 12}, margin=0.06).passed
    assert not last_exceeds_min(table, where={"width": 12}, margin=0.07).passed


def test_evaluate_fills_x_and_rejects_unknown_types():
    results = evaluate([{"type": "peak_exceeds_ends", "name": "dd"}], rows(), x="width")
    assert results[0].name == "dd" and results[0].verdict == "PASS"
    with pytest.raises(ReproError, match="unknown claim type"):
        evaluate([{"type": "looks_good"}], rows(), x="width")
    with pytest.raises(ReproError, match="no results"):
        evaluate([{"type": "peak_exceeds_ends", "metric": "val/error"}], rows(), x="width")


def test_a_claim_whose_runs_were_not_run_is_reported_not_raised():
    from repro.studies.claims import evaluate

    rows = [{"method": "ERM", "seed": 0, "err": 0.3}]
    [result] = evaluate([{"type": "less_than", "name": "LDAM-DRW below ERM", "metric": "err",
                          "a": {"method": "LDAM-DRW"}, "b": {"method": "ERM"}}], rows)
    assert not result.passed and result.name == "LDAM-DRW below ERM"
    assert result.measured.startswith("not evaluated") and "LDAM-DRW" in result.measured


def test_less_than_per_seed_fails_when_one_seed_misses_the_margin():
    # seed means: a = 0.20, b = 0.30 (gap 0.10 ≥ 0.05), but seed 1's own gap is 0.02
    table = [{"m": "A", "seed": 0, "e": 0.15}, {"m": "A", "seed": 1, "e": 0.25},
             {"m": "B", "seed": 0, "e": 0.33}, {"m": "B", "seed": 1, "e": 0.27}]
    mean_only = less_than(table, metric="e", a={"m": "A"}, b={"m": "B"}, margin=0.05)
    per_seed = less_than(table, metric="e", a={"m": "A"}, b={"m": "B"}, margin=0.05, per_seed=True)
    assert mean_only.passed and not per_seed.passed
    assert per_seed.values["gaps"] == pytest.approx([0.18, 0.02])
    assert per_seed.expected == "B − A ≥ 0.05 for every seed" and "+0.180, +0.020" in per_seed.measured
