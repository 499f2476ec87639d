"""The quick SNGP study's claims really trained (configs/sngp/quick.yaml: Fashion-MNIST's 6 clothing classes,
the 4 held-out classes as OOD): SNGP against the deterministic net, 3 seeds each. The claims compare only these
two, so the MC-dropout and ensemble baselines (the report's other rows) are left to `repro reproduce`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import reproduce_quick

from repro.studies.study import Study

pytestmark = pytest.mark.slow
STUDY = Path(__file__).resolve().parents[1] / "configs" / "sngp" / "quick.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sngp_quick")
    reproduce_quick(out, "sngp", "--scale", "quick", "--grid", "model.init_args.method=[deterministic,sngp]")
    return out / "sngp" / "quick"


def test_every_quick_claim_passes(out: Path) -> None:
    claims = json.loads((out / "claims.json").read_text())
    assert len(claims) == len(Study.load(STUDY).claims) == 3
    assert all(c["passed"] for c in claims), [c for c in claims if not c["passed"]]


def test_sngp_detects_held_out_classes_better(out: Path) -> None:
    rows = [r for r in json.loads((out / "claims.json").read_text()) if "OOD AUROC" in r["name"]]
    values = rows[0]["values"]
    assert values["b"] > values["a"] + 0.05  # SNGP (b) above the deterministic net (a) by a clear margin
