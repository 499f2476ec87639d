"""The two-moons SNGP study really trained (configs/sngp/two_moons.yaml; Liu et al. 2020, Fig. 1; the card §6 claim 1):
deterministic vs deep ensemble vs SNGP, 3 seeds each, through the study runner. Every claim must PASS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import reproduce_quick

from repro.studies.study import Study

pytestmark = pytest.mark.slow
STUDY = Path(__file__).resolve().parents[1] / "configs" / "sngp" / "two_moons.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """Run the whole study once (2 workers × 1 thread); its report, claims and figure land here."""
    out = tmp_path_factory.mktemp("sngp_two_moons")
    reproduce_quick(out, "sngp", "--study", "two_moons")
    return out / "sngp" / "two_moons"


def test_every_two_moons_claim_passes(out: Path) -> None:
    claims = json.loads((out / "claims.json").read_text())
    assert len(claims) == len(Study.load(STUDY).claims) == 7
    assert all(c["passed"] for c in claims), [c for c in claims if not c["passed"]]


def test_report_has_surfaces_and_paper_layout_table(out: Path) -> None:
    report = (out / "report.md").read_text()
    assert (out / "two_moons.png").stat().st_size > 10_000
    assert "| method | accuracy | ECE | NLL | AUPR cluster | runs |" in report
    for method in ("deterministic", "ensemble", "sngp"):
        assert f"| {method} |" in report
