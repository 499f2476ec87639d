"""The quick LDAM-DRW study really trained (configs/ldam_drw/quick.yaml): every claim must PASS."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reproduce_quick

from repro.studies.claims import CLAIMS
from repro.studies.study import Study

pytestmark = pytest.mark.slow
QUICK = Path(__file__).resolve().parents[1] / "configs" / "ldam_drw" / "quick.yaml"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """Run the whole study once (2 workers × 1 thread) and evaluate its claims."""
    out = tmp_path_factory.mktemp("ldam_quick")
    reproduce_quick(out, "ldam_drw", "--scale", "quick")
    return (out / "ldam_drw" / "quick" / "report.md").read_text()


def test_gain_largest_at_is_registered():
    assert "gain_largest_at" in CLAIMS
    assert len(Study.load(QUICK).claims) == 4


def test_every_quick_claim_passes(verdicts):
    assert verdicts.count("| PASS |") == 4 and "| FAIL |" not in verdicts, verdicts
