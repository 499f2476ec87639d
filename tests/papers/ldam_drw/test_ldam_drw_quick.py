"""The quick LDAM-DRW study really trained (configs/ldam_drw/quick.yaml): every claim must PASS."""

from __future__ import annotations

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("ldam_drw", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "ldam_drw", "quick")
