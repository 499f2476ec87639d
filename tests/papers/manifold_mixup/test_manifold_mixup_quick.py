"""The quick Manifold Mixup study really trained (configs/manifold_mixup/quick.yaml): every claim must PASS; and its
α → 0 control (λ almost always 0 or 1: no mixing), where every claim must FAIL."""

from __future__ import annotations

import pytest
from conftest import assert_every_claim_passes, claims_of, reproduce_quick, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("manifold_mixup", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "manifold_mixup", "quick")


def test_without_mixing_no_claim_holds(tmp_path):
    reproduce_quick(tmp_path, "manifold_mixup", "--study", "quick", "--control", "alpha_to_zero")
    judged = claims_of(tmp_path / "manifold_mixup" / "quick" / "controls" / "alpha_to_zero")
    assert len(judged) == 3 and not any(c["passed"] for c in judged), judged
