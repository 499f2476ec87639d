"""The quick importance-weighting studies really trained (configs/importance_weighting/quick.yaml and toy2d.yaml):
every claim must PASS, and the report has its table and figures; the early_stop control (20 epochs: the paper's
early stopping keeps the effect) must FAIL the fading claims. quick_regularizers.yaml (dropout, batch norm) asserts
nothing and is not run here."""

from __future__ import annotations

import pytest
from conftest import assert_every_claim_passes, claims_of, reproduce_quick, study_fixture

pytestmark = pytest.mark.slow


quick = study_fixture("importance_weighting", "quick")
toy = study_fixture("importance_weighting", "toy2d")


def test_every_quick_claim_passes(quick):
    assert_every_claim_passes(quick, "importance_weighting", "quick")


def test_the_quick_report_has_the_spread_table_and_figures(quick):
    report = (quick / "report.md").read_text()
    assert "| setting | spread ood e5 |" in report and "| weight decay 5e-3 |" in report
    assert (quick / "fraction_predicted.png").stat().st_size > 10_000
    assert (quick / "spreads.png").stat().st_size > 10_000


def test_every_toy_claim_passes(toy):
    assert_every_claim_passes(toy, "importance_weighting", "toy2d")
    assert (toy / "boundaries.png").stat().st_size > 10_000
    assert (toy / "angles.png").stat().st_size > 10_000


def test_stopped_early_the_effect_has_not_faded(tmp_path):
    reproduce_quick(tmp_path, "importance_weighting", "--study", "quick", "--control", "early_stop")
    judged = {c["name"]: c for c in claims_of(tmp_path / "importance_weighting" / "quick" / "controls" / "early_stop")}
    for name in ("unregularised: the in-domain spread, large at epoch 5, vanishes by the end",
                 "unregularised: the OOD spread shrinks by at least 60% from epoch 5"):
        assert not judged[name]["passed"], judged[name]
