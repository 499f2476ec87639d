"""The quick loss-correction study really trained (configs/loss_correction/quick.yaml): every claim must PASS; and
its negative control (no label noise) trained on a subset, where the corrections' claims must FAIL."""

from __future__ import annotations

import json

import pytest
from conftest import assert_every_claim_passes, claims_of, reproduce_quick, study_fixture

pytestmark = pytest.mark.slow


results = study_fixture("loss_correction", "quick")


def test_every_quick_claim_passes(results):
    assert_every_claim_passes(results, "loss_correction", "quick")


def test_the_report_has_the_paper_layout_and_both_figures(results):
    report = (results / "report.md").read_text()
    assert "forward_T_hat" in report and "Anchor-point estimate" in report
    assert (results / "accuracy_vs_noise.png").is_file() and (results / "transition_heatmaps.png").is_file()
    stage1 = [json.loads(p.read_text()) for p in results.rglob("T_hat_percentile.json")]
    assert len(stage1) == 9  # one estimate per noise rate and seed, each a row-stochastic 10×10 matrix
    assert all(abs(sum(row) - 1) < 1e-9 for record in stage1 for row in record["T_hat"])


@pytest.fixture(scope="module")
def no_noise(tmp_path_factory):
    """The no_noise control (its own grid: N = 0.4 and 0.6, the labels of noise-free runs) on seeds 0 and 1: 16
    runs; the robustness check runs it on all three seeds."""
    out = tmp_path_factory.mktemp("loss_correction_no_noise")
    reproduce_quick(out, "loss_correction", "--study", "quick", "--control", "no_noise",
                    "--grid", "seed_everything=[0,1]")
    return {c["name"]: c for c in claims_of(out / "loss_correction" / "quick" / "controls" / "no_noise")}


def test_without_label_noise_no_claim_holds(no_noise):
    assert len(no_noise) == 2 and not any(c["passed"] for c in no_noise.values()), no_noise
    # T = I: forward and backward with the true T are the same loss, so their runs are the same runs
    judged = no_noise["forward beats backward by >= 1 point with the true T, at every N"]
    assert judged["values"]["ci"] == [0.0, 0.0], judged
