"""The quick sparse-double-descent study really trained (configs/sparse_double_descent/quick.yaml): every claim must
PASS, and the report has the stopping-rule table and the sparsity figure."""

from __future__ import annotations

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("sparse_double_descent", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "sparse_double_descent", "quick")


def test_the_report_has_the_stopping_rules_and_the_sparsity_figure(results):
    report = (results / "report.md").read_text()
    assert "early stop: stops, keeps" in report and "entropy stop" in report
    assert (results / "sparsity_curves.png").stat().st_size > 0
