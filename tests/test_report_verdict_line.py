"""The report's verdict line: a count of passed claims, or, for a study that asserts nothing (``study.reported``),
a sentence saying so instead of an empty claim table."""

from __future__ import annotations

from conftest import CONFIGS

from repro.report.markdown import write_report
from repro.studies.claims import ClaimResult
from repro.studies.study import Study


def test_a_study_without_claims_says_it_is_reported(tmp_path):
    study = Study.load(CONFIGS / "importance_weighting" / "quick_regularizers.yaml")
    text = write_report(study, [], [], tmp_path, []).read_text()
    assert "Reported, not asserted" in text and "| claim |" not in text and "Verdict" not in text


def test_a_study_with_claims_counts_the_passed_ones(tmp_path):
    study = Study.load(CONFIGS / "importance_weighting" / "quick.yaml")
    claims = [ClaimResult("a", "≥ 1", "2", True, {}), ClaimResult("b", "≥ 1", "0", False, {})]
    text = write_report(study, [], claims, tmp_path, []).read_text()
    assert "**Verdict: 1/2 claims passed.**" in text and "| b | ≥ 1 | 0 | FAIL |" in text
    assert "Reported, not asserted" not in text
