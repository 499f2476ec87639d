"""The quick Slingshot study really trained (configs/slingshot/quick.yaml): every claim must PASS."""

from __future__ import annotations

import pytest
from conftest import assert_control_fails, assert_every_claim_passes, control_fixture, study_fixture

pytestmark = pytest.mark.slow


report = study_fixture("slingshot", "quick")


def test_every_quick_claim_passes(report):
    assert_every_claim_passes(report, "slingshot", "quick")


def test_one_row_per_seed_and_the_figures(report):
    import csv

    with open(report / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["setting"], r["seed"]) for r in rows) == sorted(
        (s, str(i)) for s in ("adam_eps1e-8", "adam_eps1e-5", "adamw_wd1", "sgd") for i in range(3))
    assert (report / "dynamics_adam_eps1e-8.png").stat().st_size > 10_000
    assert (report / "optimizers.png").stat().st_size > 10_000


no_weight_decay = control_fixture("slingshot", "quick", "no_weight_decay")


def test_without_weight_decay_adamw_does_not_generalise(no_weight_decay):
    """AdamW with decay 0 (the control): both AdamW claims must FAIL there (Power et al.: weight decay is what
    most improves generalisation)."""
    claims = assert_control_fails(no_weight_decay, "slingshot", "quick", "no_weight_decay")
    assert sum(claims[n]["verdict"] == "NOT RUN" for n in claims) == 2  # the other settings are not in this control
