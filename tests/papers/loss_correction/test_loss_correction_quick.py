"""The quick loss-correction study really trained (configs/loss_correction/quick.yaml): every claim must PASS."""

from __future__ import annotations

import json

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("loss_correction", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "loss_correction", "quick")


def test_the_report_has_the_paper_layout_and_both_figures(results):
    report = (results / "report.md").read_text()
    assert "forward_T_hat" in report and "Anchor-point estimate" in report
    assert (results / "accuracy_vs_noise.png").is_file() and (results / "transition_heatmaps.png").is_file()
    stage1 = [json.loads(p.read_text()) for p in results.rglob("T_hat_percentile.json")]
    assert len(stage1) == 9  # one estimate per noise rate and seed, each a row-stochastic 10×10 matrix
    assert all(abs(sum(row) - 1) < 1e-9 for record in stage1 for row in record["T_hat"])
