"""The double-descent claim types against hand-built result tables whose verdicts are known."""

from __future__ import annotations

import pytest
from result_tables import rows

from repro.errors import ReproError
from repro.papers.double_descent.claims import (
    epochwise_double_descent,
    interpolation_threshold,
    last_exceeds_min,
    peak_exceeds_ends,
    peak_grows_with,
    peak_near_threshold,
)
from repro.studies.claims import evaluate


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
    assert r.passed and {k: r.values[k] for k in ("min", "max", "last")} == pytest.approx(
        {"min": 0.18, "max": 0.30, "last": 0.21})
    assert not epochwise_double_descent(table, where={"width": 12}).passed  # no second descent
    assert last_exceeds_min(table, where={"width": 12}, margin=0.06).passed
    assert not last_exceeds_min(table, where={"width": 12}, margin=0.07).passed


def test_evaluate_resolves_the_claims_by_import_path_and_fills_x():
    results = evaluate([{"type": "repro.papers.double_descent.claims.peak_exceeds_ends", "name": "dd"}], rows(),
                       x="width")
    assert results[0].name == "dd" and results[0].verdict == "PASS"
    with pytest.raises(ReproError, match="no results"):
        evaluate([{"type": "repro.papers.double_descent.claims.peak_exceeds_ends", "metric": "val/error"}], rows(),
                 x="width")


def test_peak_near_threshold_in_widths_not_grid_steps():
    """The paper's claim is |k_peak − k*| ≤ 2 widths. On the paper grid (…, 12, 14, 16, 20, 24, …) one grid step
    between 16 and 20 is 4 widths, so "within 1 step" would accept a peak 4 widths away."""
    widths = [8, 10, 12, 14, 16, 20, 24]
    test = [0.30, 0.28, 0.30, 0.33, 0.36, 0.40, 0.35]  # peak at 20
    train = [0.40, 0.30, 0.20, 0.12, 0.08, 0.02, 0.00]  # k* (train ≤ 0.1) = 16
    table = [{"width": w, "seed": 0, "test/error": te, "train/error": tr}
             for w, te, tr in zip(widths, test, train, strict=True)]
    by_step = peak_near_threshold(table, x="width", threshold=0.1, tolerance_steps=1)
    by_width = peak_near_threshold(table, x="width", threshold=0.1, tolerance=2)
    assert by_step.passed and by_step.values["steps"] == 1
    assert not by_width.passed and by_width.values["distance"] == 4
    assert peak_near_threshold(table, x="width", threshold=0.1, tolerance=4).passed
    with pytest.raises(ReproError, match="exactly one"):
        peak_near_threshold(table, x="width", threshold=0.1)


# Each claim type fails on a constructed null input (no effect) and passes on a constructed effect, with seed noise.

def _noisy(curve, seeds=(0, 1, 2), sd=0.01, **extra):
    import numpy as np

    rng = np.random.default_rng(1)
    return [{"width": w, "seed": s, "test/error": float(v + rng.normal(0, sd)), "train/error": tr, **extra}
            for s in seeds for w, v, tr in zip(WIDTHS, curve, TRAIN, strict=True)]


WIDTHS = [4, 6, 8, 16, 32, 64]
TRAIN = [0.40, 0.30, 0.10, 0.00, 0.00, 0.00]  # k* (train ≤ 0.05) = 16


def test_peak_claims_fail_on_a_flat_curve_and_pass_on_a_peak():
    flat, peaked = [0.2] * 6, [0.30, 0.18, 0.25, 0.40, 0.30, 0.15]
    assert not peak_exceeds_ends(_noisy(flat), x="width", first_min_from=6, margin_left=0.02, margin_right=0.02).passed
    assert peak_exceeds_ends(_noisy(peaked), x="width", first_min_from=6).passed
    assert not peak_near_threshold(_noisy(flat), x="width", first_min_from=6, min_rise=0.02, min_fall=0.02,
                                   tolerance_steps=1).passed
    assert peak_near_threshold(_noisy(peaked), x="width", first_min_from=6, min_rise=0.02, min_fall=0.02,
                               tolerance_steps=1).passed


def test_a_falling_curve_has_no_peak_to_place_at_the_threshold():
    """Without label noise the test error only falls: its maximum is the grid's first width, one step from k*. A
    position claim must not pass there (it did before the interior-peak check)."""
    falling = [0.30, 0.25, 0.20, 0.15, 0.12, 0.10]
    table = _noisy(falling, sd=0.0)
    r = peak_near_threshold(table, x="width", tolerance_steps=3)
    assert not r.passed and r.values["interior"] is False
    assert not peak_near_threshold(table, x="width", first_min_from=6, tolerance_steps=3).passed


def test_peak_grows_with_fails_on_equal_levels_and_passes_on_growth():
    equal = _noisy([0.30, 0.18, 0.25, 0.40, 0.30, 0.15], label_noise=0.0) + _noisy(
        [0.30, 0.18, 0.25, 0.40, 0.30, 0.15], label_noise=0.2)
    assert not peak_grows_with(equal, x="width", by="label_noise", first_min_from=6).passed
    growing = _noisy([0.30, 0.18, 0.20, 0.22, 0.18, 0.15], label_noise=0.0) + _noisy(
        [0.30, 0.18, 0.25, 0.40, 0.30, 0.15], label_noise=0.2)
    assert peak_grows_with(growing, x="width", by="label_noise", first_min_from=6).passed
    from repro.studies.results import MissingRuns

    with pytest.raises(MissingRuns, match="two levels"):  # a --grid subset of one level: NOT RUN, not FAIL
        peak_grows_with(_noisy([0.2] * 6, label_noise=0.2), x="width", by="label_noise")


def test_epochwise_claims_fail_on_flat_histories_and_pass_on_the_effect(tmp_path):
    import numpy as np

    rng = np.random.default_rng(2)
    dd = np.array([0.30, 0.20, 0.18, 0.25, 0.30, 0.28, 0.22, 0.21])
    flat = np.full(8, 0.25)
    table = [{"width": w, "seed": s, "run_dir": _history_run(tmp_path, f"{w}_{s}", curve + rng.normal(0, 0.005, 8))}
             for s in range(3) for w, curve in ((64, dd), (12, flat))]
    assert epochwise_double_descent(table, where={"width": 64}, min_rise=0.05, min_fall=0.05).passed
    assert not epochwise_double_descent(table, where={"width": 12}, min_rise=0.02, min_fall=0.02).passed
    assert last_exceeds_min(table, where={"width": 64}, margin=0.02).passed
    assert not last_exceeds_min(table, where={"width": 12}, margin=0.02).passed
