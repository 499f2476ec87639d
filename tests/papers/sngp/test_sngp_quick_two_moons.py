"""The two-moons SNGP study really trained (configs/sngp/two_moons.yaml; Liu et al. 2020, Fig. 1; the card §6 claim 1):
deterministic vs deep ensemble vs SNGP, 5 seeds each, through the study runner. Every claim must PASS."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


out = study_fixture("sngp", "two_moons")


def test_every_quick_claim_passes(out: Path) -> None:
    assert_every_claim_passes(out, "sngp", "two_moons")


def test_report_has_surfaces_and_paper_layout_table(out: Path) -> None:
    report = (out / "report.md").read_text()
    assert (out / "two_moons.png").stat().st_size > 10_000
    assert "| method | accuracy | ECE | NLL | AUPR cluster | runs |" in report
    for method in ("deterministic", "ensemble", "sngp"):
        assert f"| {method} |" in report
