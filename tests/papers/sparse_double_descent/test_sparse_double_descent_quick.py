"""The quick sparse-double-descent study really trained (configs/sparse_double_descent/quick.yaml): every claim must
PASS, and the report has the stopping-rule table and the sparsity figure."""

from __future__ import annotations

import pytest
from conftest import assert_control_fails, assert_every_claim_passes, control_fixture, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("sparse_double_descent", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "sparse_double_descent", "quick")


def test_the_report_has_the_stopping_rules_and_the_sparsity_figure(results):
    report = (results / "report.md").read_text()
    assert "early stop: stops, keeps" in report and "entropy stop" in report
    assert (results / "sparsity_curves.png").stat().st_size > 0


# The no_noise control on the vanilla arm only (the DSD² arm would double the time): its two claims must FAIL.
no_noise = control_fixture("sparse_double_descent", "quick", "no_noise", "--grid", "method=[vanilla]")


def test_there_is_no_sdd_without_label_noise(no_noise):
    vanilla = ["vanilla IMP: an SDD triple (dip and recovery) of ≥ 6 points at 40% noise (seeds share one noise draw)",
               "vanilla IMP: test accuracy falls ≥ 6 points below dense while train accuracy on the noisy labels is "
               "≥ 99%"]
    claims = assert_control_fails(no_noise, "sparse_double_descent", "quick", "no_noise", judged=vanilla)
    assert {c["verdict"] for n, c in claims.items() if n not in vanilla} == {"NOT RUN"}  # the DSD² comparisons
