"""The simplicity-bias claim types on rows built here: each FAILS on a null input (no reliance on S, or reliance
on S^c) and PASSES on a constructed effect; no training."""

from __future__ import annotations

import pytest

from repro.papers.simplicity_bias.claims import every_model_at_least, extreme_sb, logit_invariance
from repro.studies.claims import MissingRuns


def models(**metrics):
    """One row per model from per-metric lists of equal length."""
    n = len(next(iter(metrics.values())))
    return [{"seed": i, **{k: v[i] for k, v in metrics.items()}} for i in range(n)]


SB = models(**{"test/auc_s_rand": [0.49, 0.51, 0.50], "test/auc_sc_rand": [1.0, 0.999, 0.995]})


def test_extreme_sb_passes_when_every_model_relies_on_s_alone():
    r = extreme_sb(SB)
    assert r.passed and r.values["s_rand"] == [0.49, 0.51, 0.50]


def test_extreme_sb_fails_on_models_that_use_the_complex_features():
    # S removed: randomizing S changes nothing, randomizing S^c destroys the prediction
    null = models(**{"test/auc_s_rand": [0.999, 1.0, 1.0], "test/auc_sc_rand": [0.5, 0.51, 0.49]})
    assert not extreme_sb(null).passed


def test_extreme_sb_fails_when_a_single_model_falls_outside():
    one_off = models(**{"test/auc_s_rand": [0.49, 0.51, 0.58], "test/auc_sc_rand": [1.0, 1.0, 1.0]})
    assert not extreme_sb(one_off).passed
    mixed = models(**{"test/auc_s_rand": [0.49, 0.51, 0.50], "test/auc_sc_rand": [1.0, 0.98, 1.0]})
    assert not extreme_sb(mixed).passed  # one model keeps some use of S^c


def test_logit_invariance_passes_on_invariant_scores_and_fails_on_moved_ones():
    effect = models(**{"test/ks_sc_rand": [0.01, 0.02, 0.015], "test/ks_s_rand": [0.5, 0.49, 0.51]})
    assert logit_invariance(effect).passed
    null = models(**{"test/ks_sc_rand": [0.5, 0.45, 0.48], "test/ks_s_rand": [0.01, 0.02, 0.01]})
    assert not logit_invariance(null).passed
    nothing_moves = models(**{"test/ks_sc_rand": [0.01, 0.01, 0.01], "test/ks_s_rand": [0.02, 0.01, 0.03]})
    assert not logit_invariance(nothing_moves).passed  # a constant model is invariant to both


def test_every_model_at_least_judges_each_model():
    rows = models(**{"test/accuracy": [1.0, 0.995, 0.992]})
    assert every_model_at_least(rows, metric="test/accuracy", value=0.99).passed
    assert not every_model_at_least(rows, metric="test/accuracy", value=0.993).passed


def test_missing_metric_is_missing_runs():
    with pytest.raises(MissingRuns):
        extreme_sb([{"seed": 0, "test/accuracy": 1.0}])


def test_every_model_within_fails_outside_the_band():
    from repro.papers.simplicity_bias.claims import every_model_within

    plateau = models(**{"test/accuracy": [0.945, 0.948, 0.941]})
    assert every_model_within(plateau, metric="test/accuracy", low=0.93, high=0.96).passed
    learned = models(**{"test/accuracy": [0.999, 0.995, 0.947]})  # a model that used S^c
    assert not every_model_within(learned, metric="test/accuracy", low=0.93, high=0.96).passed


def test_ensemble_gain_on_a_constructed_gain_and_on_none():
    from repro.papers.simplicity_bias.claims import ensemble_gain

    helps = models(**{"test/accuracy": [0.74, 0.76, 0.75], "test/ensemble10_accuracy": [0.93] * 3})
    none = models(**{"test/accuracy": [0.74, 0.76, 0.75], "test/ensemble10_accuracy": [0.755] * 3})
    assert ensemble_gain(helps, size=10, at_least=0.10).passed
    assert ensemble_gain(helps, size=10, at_least=0.10).values["gain"] == pytest.approx(0.18)
    assert not ensemble_gain(none, size=10, at_least=0.10).passed
    assert ensemble_gain(none, size=10, at_most=0.03).passed
    assert not ensemble_gain(helps, size=10, at_most=0.03).passed
