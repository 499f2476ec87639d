"""The quick Manifold Mixup study really trained (configs/manifold_mixup/quick.yaml): every claim must PASS."""

from __future__ import annotations

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("manifold_mixup", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "manifold_mixup", "quick")
