"""The quick double-descent study, really trained (≈3 min on 2 cores), and its claims checked.

The study runs once per session (module fixture); every test below reads its cached results.
"""

from __future__ import annotations

import csv
import json

import pytest
from conftest import assert_control_fails, control_fixture

from repro.cli import main
from repro.studies.runner import StudyRunner
from repro.studies.study import Study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory, quick_yaml_path):
    out = tmp_path_factory.mktemp("results")
    code = main(["reproduce", "double_descent", "--scale", "quick", "--out", str(out), "--workers", "2",
                 "--threads", "1", "--no-progress"])
    return out / "double_descent" / "quick", code


@pytest.fixture(scope="module")
def quick_yaml_path():
    from conftest import CONFIGS

    return CONFIGS / "double_descent" / "quick.yaml"


@pytest.fixture(scope="module")
def claims(study_dir):
    path, _ = study_dir
    return {c["name"]: c for c in json.loads((path / "claims.json").read_text())}


def test_reproduce_exits_zero_when_every_claim_passes(study_dir, claims):
    _, code = study_dir
    assert code == 0 and all(c["passed"] for c in claims.values())


def test_test_error_rises_to_a_peak_and_falls_again(claims):
    c = claims["test error rises to a peak and falls again"]
    v = c["values"]
    assert c["passed"]
    assert v["rise"] >= 0.05 and v["fall"] >= 0.03  # the margins, measured
    assert v["x_first_min"] < v["x_peak"] < 1024


def test_peak_sits_at_the_interpolation_threshold(claims, study_dir):
    c = claims["peak at the interpolation threshold k*"]
    assert c["passed"] and c["values"]["steps"] <= 1
    # k* is recorded in the study's outputs: the claim's measured text and the report
    path, _ = study_dir
    assert f"k*={c['values']['k_star']:g}" in (path / "report.md").read_text()


def test_train_error_reaches_zero_and_k_star_is_its_first_width(study_dir, claims):
    path, _ = study_dir
    with open(path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 36
    k_star = claims["peak at the interpolation threshold k*"]["values"]["k_star"]
    by_width: dict[float, list[float]] = {}
    for r in rows:
        by_width.setdefault(float(r["width"]), []).append(float(r["train/error"]))
    means = {w: sum(v) / len(v) for w, v in sorted(by_width.items())}
    assert means[1024] <= 0.01
    assert k_star == min(w for w, m in means.items() if m <= 0.05)


def test_report_and_figure_are_written(study_dir):
    path, _ = study_dir
    report = (path / "report.md").read_text()
    assert "2/2 claims passed" in report and "![modelwise](modelwise.png)" in report
    png = (path / "modelwise.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


# The no_noise control on every other width of the grid (both sides of k* = 24-32; the whole grid would double the
# module's time): its two claims must FAIL, the position claim because a falling curve has no interior peak.
no_noise = control_fixture("double_descent", "quick", "no_noise", "--grid",
                           "model.init_args.backbone.init_args.width=[6,8,16,32,1024]")


def test_without_label_noise_there_is_no_peak_to_place(no_noise):
    assert_control_fails(no_noise, "double_descent", "quick", "no_noise")


def test_rerun_is_fully_cached(study_dir, quick_yaml_path):
    path, _ = study_dir
    runner = StudyRunner(Study.load(quick_yaml_path), path, workers=1)
    assert runner.pending() == []
    assert len(runner.collect()) == 36
