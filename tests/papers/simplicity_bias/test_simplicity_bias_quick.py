"""The quick simplicity-bias study and its negative control, really trained (one stacked run of three FCNs
each, about 15 s and 45 s of CPU), and their verdicts checked: every claim holds on LMS-5, and with S removed
the two reliance claims fail while the nets still learn the task from S^c."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import assert_every_claim_passes, claims_of, study_fixture

pytestmark = pytest.mark.slow

results = study_fixture("simplicity_bias", "quick")

EXTREME = "extreme SB: S-randomized AUC ≈ 0.5 and S^c-randomized AUC ≥ 0.99 for every model"
LOGITS = "positive scores unchanged by S^c-randomizing, moved by S-randomizing"
LEARNS = "every model learns the task (test AUC ≥ 0.99)"


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    out = tmp_path_factory.mktemp("simplicity_bias_control")
    env = {**os.environ, "WANDB_MODE": "disabled"}
    done = subprocess.run([sys.executable, "-m", "repro.cli", "reproduce", "simplicity_bias", "--study", "quick",
                           "--control", "s_removed", "--workers", "1", "--threads", "1", "--no-progress", "--out",
                           str(out)], env=env, timeout=900, check=False)
    return out / "simplicity_bias" / "quick" / "controls" / "s_removed", done.returncode


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "simplicity_bias", "quick")


def test_each_of_the_three_models_relies_on_s_alone(results):
    with open(results / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["seed"]) for r in rows) == [0, 1, 2]
    for r in rows:
        assert float(r["train/stopped"]) == 1.0 and float(r["train/loss"]) < 0.02
        assert abs(float(r["test/accuracy_s_rand"]) - 0.5) < 0.05  # S-randomized: a coin
        assert float(r["test/accuracy_sc_rand"]) == pytest.approx(float(r["test/accuracy"]), abs=0.01)


def test_the_control_fails_the_reliance_claims_and_still_learns(control):
    folder, code = control
    assert code == 0  # every must_fail claim failed
    claims = {c["name"]: c for c in claims_of(folder)}
    assert not claims[EXTREME]["passed"] and not claims[LOGITS]["passed"]
    assert claims[LEARNS]["passed"]  # S^c alone is learnable: the first claim's failure is not a failure to fit
    assert min(claims[EXTREME]["values"]["s_rand"]) > 0.95  # randomizing the noise coordinate changes nothing
    assert max(claims[EXTREME]["values"]["sc_rand"]) < 0.6


def test_report_shows_the_figures(results):
    report = (results / "report.md").read_text()
    for name in ("randomized_auc.png", "logits.png", "boundary.png"):
        assert f"({name})" in report
        assert (results / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((results / "claims.json").read_text())
