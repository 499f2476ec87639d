"""The importance-weighting claims on hand-made histories: each passes where the curves show the effect and fails
where they do not (the thresholds are not met by construction)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from repro.papers.importance_weighting import claims
from repro.studies.results import MissingRuns

EPOCHS = [1, 2, 3, 4, 5, 10, 100, 996, 997, 998, 999, 1000]
RATIOS = [0.25, 1.0, 4.0]


def _run(tmp_path: Path, name: str, fracs, *, seeds=(0, 1), accuracy=None, angles=None, setting="none") -> list[dict]:
    """A run folder whose metrics.csv holds, for member (seed, ratio), ``fracs(seed, ratio, epoch) -> {pool: f}``."""
    run_dir = tmp_path / name
    run_dir.mkdir()
    members = [(s, r) for s in seeds for r in RATIOS]
    records = []
    for step, epoch in enumerate(EPOCHS):
        rec = {"step": step, "pools/epoch": epoch, "angle/epoch": epoch}
        for i, (s, r) in enumerate(members):
            for pool, f in fracs(s, r, epoch).items():
                rec[f"member{i}/pools/{pool}_frac"] = f
            rec[f"member{i}/pools/train_accuracy"] = accuracy(s, r, epoch) if accuracy else 1.0
            if angles:
                rec[f"member{i}/angle/to_unweighted_deg"] = angles(s, r, epoch)
        records.append(rec)
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return [{"run_dir": str(run_dir), "member": i, "seed": s, "ratio": r, "weight_decay": 0.0, "setting": setting}
            for i, (s, r) in enumerate(members)]


def _fading(s, r, epoch, keep=0.0):
    """Fractions that start at 0 / ½ / 1 for the three ratios and merge toward ½ (keeping ``keep`` of the gap)."""
    gap = 1.0 if epoch <= 5 else max(keep, 1 / np.log10(epoch) ** 2 * (0.5 if epoch > 500 else 1))
    f = 0.5 + 0.5 * np.sign(np.log(r)) * gap
    return {"in": 0.5 + (f - 0.5) * (0.2 if epoch > 500 else 1), "ood": f, "noise": f}


def test_early_effect_passes_on_monotone_fractions_and_fails_on_a_drop(tmp_path):
    rows = _run(tmp_path, "good", _fading)
    assert claims.early_effect(rows, epoch=5, min_spread=0.5).passed
    assert not claims.early_effect(rows, epoch=5, min_spread=1.01).passed  # the spread is exactly 1
    drop = _run(tmp_path, "drop", lambda s, r, e: {**_fading(s, r, e), "noise": 0.9 if r == 1.0 else 0.5})
    result = claims.early_effect(drop, epoch=5, min_spread=0.5)
    assert not result.passed and max(result.values["max_drop"]) == pytest.approx(0.4)
    with pytest.raises(MissingRuns):
        claims.early_effect(rows, epoch=6)  # never evaluated


def test_end_spread_and_shrink(tmp_path):
    rows = _run(tmp_path, "fading", _fading)
    # end spread of ood: mean over the last 5 evaluations (996..1000) of ½ / log10(e)²
    expected = np.mean([0.5 / np.log10(e) ** 2 for e in EPOCHS[-5:]])
    shrink = claims.spread_shrinks(rows, pool="ood", epoch=5, min_shrink=0.8, tail=5)
    assert shrink.values["shrink"] == pytest.approx([1 - expected] * 2)
    assert shrink.passed
    assert not claims.spread_shrinks(rows, pool="ood", epoch=5, min_shrink=0.95, tail=5).passed
    assert claims.end_spread_at_most(rows, pool="in", value=0.05, tail=5).passed  # 0.2 × 0.0556 = 0.011
    assert not claims.end_spread_at_most(rows, pool="in", value=0.01, tail=5).passed


def test_spread_kept_and_close_compare_seed_by_seed(tmp_path):
    base = _run(tmp_path, "none", _fading)
    kept = _run(tmp_path, "l2", lambda s, r, e: _fading(s, r, e, keep=0.3), setting="l2")
    rows = base + kept
    result = claims.spread_kept(rows, where={"setting": "l2"}, baseline={"setting": "none"}, factor=2.0,
                                margin=0.1, tail=5)
    base_end = np.mean([0.5 / np.log10(e) ** 2 for e in EPOCHS[-5:]])
    assert result.passed and result.values["effect"] == pytest.approx(0.3 - 2 * base_end)
    assert result.values["ci"] == pytest.approx([0.3 - 2 * base_end] * 2)  # both seeds alike: a zero-width interval
    assert not claims.spread_kept(rows, where={"setting": "l2"}, baseline={"setting": "none"}, factor=6.0,
                                  margin=0.1, tail=5).passed
    assert claims.spread_close(rows, where={"setting": "l2"}, baseline={"setting": "none"}, tolerance=0.3,
                               tail=5).passed  # gap 0.3 − 0.056
    assert not claims.spread_close(rows, where={"setting": "l2"}, baseline={"setting": "none"}, tolerance=0.2,
                                   tail=5).passed


def _equal(s, r, e):
    """Equal weights: every ratio's member predicts the same fractions (the paper's control: nothing to fade)."""
    return {"in": 0.5, "ood": 0.3 + 0.001 * s, "noise": 0.6}


def test_every_spread_claim_fails_on_equal_weights(tmp_path):
    rows = _run(tmp_path, "equal", _equal)
    assert not claims.early_effect(rows, epoch=5, min_spread=0.5).passed
    # a spread that never was cannot vanish or shrink: the precondition fails them
    assert claims.end_spread_at_most(rows, pool="in", value=0.08, tail=5).passed  # without it: vacuously true
    assert not claims.end_spread_at_most(rows, pool="in", value=0.08, tail=5, min_early=0.5).passed
    assert not claims.spread_shrinks(rows, pool="ood", min_shrink=0.6, tail=5, min_early=0.5).passed
    assert claims.end_spread_at_most(_run(tmp_path, "fading", _fading), pool="in", value=0.05, tail=5,
                                     min_early=0.5).passed


def test_spread_kept_needs_a_kept_spread_not_a_vanished_baseline(tmp_path):
    """Both settings at spread 0: the old ratio was +inf (a PASS); the difference is 0 and fails its margin."""
    rows = _run(tmp_path, "none", _equal) + _run(tmp_path, "l2", _equal, setting="l2")
    result = claims.spread_kept(rows, where={"setting": "l2"}, baseline={"setting": "none"}, margin=0.1, tail=5)
    assert not result.passed and result.values["ci"] == [0.0, 0.0]


def test_spread_kept_fails_when_the_regularised_models_underfit(tmp_path):
    base = _run(tmp_path, "none", _fading)
    underfit = _run(tmp_path, "l2", lambda s, r, e: _fading(s, r, e, keep=0.3), setting="l2",
                    accuracy=lambda s, r, e: 0.8)
    result = claims.spread_kept(base + underfit, where={"setting": "l2"}, baseline={"setting": "none"}, margin=0.1,
                                tail=5)
    assert not result.passed and result.values["train_accuracy"] == [0.8, 0.8]


def test_the_spread_table_reports_equal_weights_without_crashing(tmp_path):
    from types import SimpleNamespace

    from repro.papers.importance_weighting.tables import spread_table

    rows = _run(tmp_path, "equal", _equal)
    study = SimpleNamespace(meta={"spread_table": {"groups": {"equal": {"setting": "none"}}, "tail": 5}},
                            path="quick.yaml")
    table = "\n".join(spread_table(study, rows))
    assert "| equal | 0.000 ± 0.000 |" in table and "| — |" in table  # no early spread: no shrink shown


def test_fits_before_spread_halves(tmp_path):
    early_fit = _run(tmp_path, "fit", _fading, accuracy=lambda s, r, e: 1.0 if e >= 10 else 0.9)
    assert claims.fits_before_spread_halves(early_fit, epoch=5).passed  # spread halves at 100, fit from 10
    late_fit = _run(tmp_path, "late", _fading, accuracy=lambda s, r, e: 1.0 if e >= 997 else 0.9)
    result = claims.fits_before_spread_halves(late_fit, epoch=5)
    assert not result.passed and result.values["fit_epoch"] == [997.0, 997.0]


def test_angle_decreases(tmp_path):
    falling = lambda s, r, e: 0.0 if r == 1 else 50.0 / (1 + np.log10(e))  # noqa: E731
    rows = _run(tmp_path, "angles", _fading, angles=falling)
    result = claims.angle_decreases(rows, max_end_over_peak=0.5, max_rise_deg=0.5)
    assert result.passed and max(result.values["end_over_peak"]) == pytest.approx(0.25)
    assert not claims.angle_decreases(rows, max_end_over_peak=0.2).passed
    bumpy = lambda s, r, e: falling(s, r, e) + (3.0 if e == 997 else 0.0)  # noqa: E731
    assert not claims.angle_decreases(_run(tmp_path, "bumpy", _fading, angles=bumpy)).passed
