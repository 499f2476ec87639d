"""The quick SNGP study's claims really trained (configs/sngp/quick.yaml: Fashion-MNIST's 6 clothing classes,
the 4 held-out classes as OOD): SNGP against the deterministic net, 3 seeds each. The claims compare only these
two, so the MC-dropout and ensemble baselines (the report's other rows) are left to `repro reproduce`. Its control,
SNGP without spectral normalisation and GP head (the deterministic net), must FAIL both claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_every_claim_passes, claims_of, reproduce_quick, study_fixture

pytestmark = pytest.mark.slow


out = study_fixture("sngp", "quick", "--grid", "model.init_args.method=[deterministic,sngp]")


def test_every_quick_claim_passes(out: Path) -> None:
    assert_every_claim_passes(out, "sngp", "quick")


def test_sngp_detects_held_out_classes_better(out: Path) -> None:
    rows = [r for r in json.loads((out / "claims.json").read_text()) if "OOD AUROC" in r["name"]]
    values = rows[0]["values"]
    assert values["b"] > values["a"] + 0.05  # SNGP (b) above the deterministic net (a) by a clear margin


def test_sngp_without_its_parts_gains_nothing(tmp_path: Path) -> None:
    reproduce_quick(tmp_path, "sngp", "--study", "quick", "--control", "deterministic_head")
    judged = claims_of(tmp_path / "sngp" / "quick" / "controls" / "deterministic_head")
    assert len(judged) == 2 and not any(c["passed"] for c in judged), judged
