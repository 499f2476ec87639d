"""The quick SNGP study's claims really trained (configs/sngp/quick.yaml: Fashion-MNIST's 6 clothing classes,
the 4 held-out classes as OOD): SNGP against the deterministic net, 3 seeds each. The claims compare only these
two, so the MC-dropout and ensemble baselines (the report's other rows) are left to `repro reproduce`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_every_claim_passes, study_fixture

pytestmark = pytest.mark.slow


out = study_fixture("sngp", "quick", "--grid", "model.init_args.method=[deterministic,sngp]")


def test_every_quick_claim_passes(out: Path) -> None:
    assert_every_claim_passes(out, "sngp", "quick")


def test_sngp_detects_held_out_classes_better(out: Path) -> None:
    rows = [r for r in json.loads((out / "claims.json").read_text()) if "OOD AUROC" in r["name"]]
    values = rows[0]["values"]
    assert values["b"] > values["a"] + 0.05  # SNGP (b) above the deterministic net (a) by a clear margin
