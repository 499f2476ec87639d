"""Negative controls (study.controls): parsed and checked against the claims before any training, and run alone
with ``repro reproduce --control`` — exit 0 only when every claim a control lists FAILS there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from repro.cli import main
from repro.errors import ReproError
from repro.studies.study import Study

WIDE = {"type": "less_than", "name": "wide beats narrow", "metric": "train/error", "a": {"width": 64},
        "b": {"width": 4}, "margin": 0.01}
SAME_WIDTH = {"why": "both arms the same width: no capacity gap",
              "set": {"model.init_args.backbone.init_args.width": 4}, "must_fail": ["wide beats narrow"]}


def _write(tmp_path: Path, quick_yaml: Path, controls, claims=None) -> Path:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"]["controls"] = controls
    raw["trainer"].update(max_epochs=20, check_val_every_n_epoch=20)
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4, 64], "seed_everything": [0, 1]}
    raw["claims"] = claims if claims is not None else [WIDE]
    path = tmp_path / "configs" / "double_descent" / "tiny.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_a_control_is_parsed_with_its_overrides(tmp_path, quick_yaml):
    study = Study.load(_write(tmp_path, quick_yaml, {"same_width": {**SAME_WIDTH, "grid": {"seed_everything": [5]}}}))
    [control] = study.controls
    assert (control.name, control.must_fail) == ("same_width", ["wide beats narrow"])
    assert control.settings == {"model.init_args.backbone.init_args.width": 4}
    assert control.grid == {"seed_everything": [5]} and study.control("same_width") is control
    with pytest.raises(ReproError, match="no control 'other'; its controls: same_width"):
        study.control("other")


@pytest.mark.parametrize("controls, claims, match", [
    ({"c": {**SAME_WIDTH, "must_fail": ["wide beats narow"]}}, None, "did you mean 'wide beats narrow'"),
    ({"c": {**SAME_WIDTH, "why": ""}}, None, "give `why`"),
    ({"c": {**SAME_WIDTH, "must_fail": []}}, None, "must_fail"),
    ({"c": {"why": "x", "must_fail": ["wide beats narrow"]}}, None, "give `set`"),
    ({"c": {**SAME_WIDTH, "sett": {}}}, None, "unknown keys"),
    ({"c": SAME_WIDTH}, [WIDE, {"type": "at_most", "metric": "train/error", "value": 1.0}],
     r"claims\[1\] has no `name`"),
    ({"c": SAME_WIDTH}, [WIDE, {"type": "at_most", "name": "fits", "metric": "train/error", "value": 1.0}],
     "'fits' is in no control's must_fail"),
    ([1, 2], None, "must map control names"),
])
def test_bad_controls_are_one_clear_error_at_load(tmp_path, quick_yaml, controls, claims, match):
    with pytest.raises(ReproError, match=match):
        Study.load(_write(tmp_path, quick_yaml, controls, claims))


def test_a_claim_may_say_why_it_has_no_control(tmp_path, quick_yaml):
    fits = {"type": "at_most", "name": "fits", "metric": "train/error", "value": 1.0,
            "no_control": "a sanity bound on the runs, not an effect of the paper"}
    study = Study.load(_write(tmp_path, quick_yaml, {"c": SAME_WIDTH}, [WIDE, fits]))
    assert [c["name"] for c in study.claims] == ["wide beats narrow", "fits"]


def test_reproduce_control_runs_it_alone_and_exits_by_the_expectation(tmp_path, quick_yaml, monkeypatch, capsys):
    sham = {"why": "a sham: the seed changes, the widths stay", "grid": {"seed_everything": [3, 4]},
            "must_fail": ["wide beats narrow"]}
    _write(tmp_path, quick_yaml, {"same_width": SAME_WIDTH, "sham": sham})
    monkeypatch.setenv("REPRO_CONFIGS", str(tmp_path / "configs"))
    args = ["reproduce", "double_descent", "--study", "tiny", "--out", str(tmp_path / "out"), "--workers", "1",
            "--threads", "1", "--no-progress"]
    assert main([*args, "--control", "nope"]) == 2  # unknown: one clear error, nothing trained
    assert not (tmp_path / "out").exists()
    assert main([*args, "--control", "same_width"]) == 0  # the effect is gone: the claim fails, as it must
    folder = tmp_path / "out" / "double_descent" / "tiny" / "controls" / "same_width"
    [claim] = json.loads((folder / "claims.json").read_text())
    assert claim["verdict"] == "FAIL"
    report = (folder / "report.md").read_text()
    assert "Negative control" in report and "--control same_width" in report
    assert not (tmp_path / "out" / "double_descent" / "tiny" / "runs").exists()  # the study itself did not run
    assert main([*args, "--control", "sham"]) == 1  # the claim still passes without removing the effect: a defect
    assert "PASSED ✗" in capsys.readouterr().out
