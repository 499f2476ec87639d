"""The quick LDAM-DRW study really trained (configs/ldam_drw/quick.yaml): every claim must PASS."""

from __future__ import annotations

import pytest
from conftest import assert_control_fails, assert_every_claim_passes, control_fixture, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("ldam_drw", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "ldam_drw", "quick")


balanced = control_fixture("ldam_drw", "quick", "balanced")


def test_every_claim_fails_on_balanced_classes(balanced):
    """ρ = 1 (the control): equal margins and weights, so LDAM-DRW and DRW must not beat ERM nor favour the tail."""
    assert_control_fails(balanced, "ldam_drw", "quick", "balanced")
