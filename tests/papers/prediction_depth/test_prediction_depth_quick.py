"""The quick prediction-depth study on real Fashion-MNIST, really trained as a user runs it, and its negative control
(labels drawn at random): two runs each, four stacked seeds per run. Every test reads the module's cached results.

The held-out claims' rank correlations clear −0.3, and the epoch-learned and flipped-label claims pass; under the
control the accuracy, epoch-learned and flipped-label claims fail. What this scale measures beyond that (the
per-bin monotonicity, the confidence claim under the control) is stated in the package README, not asserted here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import claims_of, reproduce_quick

pytestmark = pytest.mark.slow

CONTROL = "shuffled_labels"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prediction_depth")
    reproduce_quick(root, "prediction_depth", "--study", "quick")
    reproduce_quick(root, "prediction_depth", "--study", "quick", "--control", CONTROL)
    return root / "prediction_depth" / "quick"


def _claims(folder: Path) -> dict[str, dict]:
    return {c["name"]: c for c in claims_of(folder)}


def test_report_and_figures_are_drawn(out):
    report = (out / "report.md").read_text()
    assert "held-out accuracy falls as PD grows" in report
    for name in ("accuracy_confidence_vs_pd", "pd_vs_epoch_learned", "train_pd_vs_held_out_pd"):
        assert (out / f"{name}.png").stat().st_size > 5_000


def test_held_out_accuracy_and_confidence_fall_with_depth(out):
    claims = _claims(out)
    for name in ("held-out accuracy falls as PD grows", "held-out confidence falls as PD grows"):
        assert claims[name]["values"]["ci"][1] <= -0.3, claims[name]["measured"]
        assert claims[name]["values"]["n"] == 4


def test_later_learned_and_flipped_examples_are_deeper(out):
    claims = _claims(out)
    for name in ("examples learned later have higher train-PD", "flipped training labels have higher train-PD"):
        assert claims[name]["passed"], claims[name]["measured"]


def test_the_control_trains_on_random_labels_and_loses_the_relationships(out):
    control = out / "controls" / CONTROL
    with open(control / "results.csv") as f:
        accuracies = [float(r["val/accuracy"]) for r in csv.DictReader(f)]
    assert len(accuracies) == 8 and max(accuracies) < 0.2  # chance is 0.1: the labels carry no information
    claims = _claims(control)
    for name in ("held-out accuracy falls as PD grows", "examples learned later have higher train-PD",
                 "flipped training labels have higher train-PD"):
        assert not claims[name]["passed"], claims[name]["measured"]
