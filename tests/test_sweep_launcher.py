"""A study handed to engines users already have: a W&B grid sweep equivalent to the study's grid (round trip to the
same runs; its program trains a point into the study's own cache), and a submitit job array (local executor, real
processes) that writes the same results table as the local runner, resubmitting only what is missing."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS

from repro.studies.runner import StudyRunner
from repro.studies.study import Study
from repro.studies.sweep import points, runs_of_sweep, select_point, sweep_config

STUDIES = sorted(CONFIGS.glob("*/*.yaml"))


def _key(spec) -> str:
    return json.dumps([spec.name, spec.config], sort_keys=True, default=str)


@pytest.mark.parametrize("path", STUDIES, ids=[f"{p.parent.name}/{p.stem}" for p in STUDIES])
def test_a_sweep_visits_exactly_the_study_runs(path):
    study = Study.load(path)
    sweep = sweep_config(study, study_arg=path.stem, out="results")
    assert sweep["method"] == "grid" and sweep["command"][-2:] == ["--point", "${args_json}"]
    assert len(points(sweep)) == len(study.runs())
    assert sorted(map(_key, runs_of_sweep(study, yaml.safe_load(yaml.safe_dump(sweep))))) == \
        sorted(map(_key, study.runs()))


def _tiny(tmp_path: Path, quick_yaml: Path) -> Path:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["study"].update(name="tiny", workers=1, figures=[])
    raw["trainer"].update(max_epochs=8, check_val_every_n_epoch=8)
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4, 6]}
    raw["claims"] = []
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _repro(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "repro.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _table(folder: Path) -> list[dict]:
    with open(folder / "results.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in ("run_dir", "seconds")} for row in csv.DictReader(f)]


def _wait_for_results(runs: Path, n: int, timeout: float = 400) -> None:
    deadline = time.time() + timeout
    while len(list(runs.glob("*/result.json"))) < n:
        assert time.time() < deadline, f"the submitted tasks did not finish: {list(runs.glob('*/*'))}"
        time.sleep(2)


def test_train_point_and_a_local_job_array_give_the_local_runner_s_table(tmp_path, quick_yaml):
    study = _tiny(tmp_path, quick_yaml)
    common = ["double_descent", "--study", str(study), "--threads", "1"]
    _repro("reproduce", *common, "--workers", "1", "--no-progress", "--out", "pool", cwd=tmp_path)
    reference = _table(tmp_path / "pool" / "double_descent" / "tiny")
    assert len(reference) == 2

    # the sweep's program: one point, into the same run folder (config hash) the study uses
    _repro("train-point", *common, "--out", "agent", "--point",
           json.dumps({"model.init_args.backbone.init_args.width": 6}), cwd=tmp_path)
    runner = StudyRunner(Study.load(study), tmp_path / "agent" / "double_descent" / "tiny")
    [_, job] = select_point(runner, {"model.init_args.backbone.init_args.width": 6})
    assert [j.name for j in runner.pending()] == ["width=4"] and (job.run_dir / "result.json").is_file()
    pool_dir = tmp_path / "pool" / "double_descent" / "tiny" / "runs" / job.run_dir.name
    assert json.loads((job.run_dir / "result.json").read_text())["metrics"] == \
        json.loads((pool_dir / "result.json").read_text())["metrics"]

    # a submitit job array, one task per run: returns at once; the tasks train in their own processes
    out = tmp_path / "array" / "double_descent" / "tiny"
    sent = _repro("reproduce", *common, "--out", "array", "--launcher", "local", "--time-min", "10", cwd=tmp_path)
    assert "2 run(s) submitted (local" in sent.stderr
    _wait_for_results(out / "runs", 2)
    _repro("reproduce", *common, "--out", "array", "--launcher", "local", "--no-progress", cwd=tmp_path)
    assert _table(out) == reference
    assert len(list((out / "submitit").glob("*_result.pkl"))) == 2
    assert not [p for p in (out / "submitit").iterdir() if p.is_dir()]  # no empty `%j/` pattern folder

    # a lost run is the only one submitted again
    shutil.rmtree(next((out / "runs").glob("width=4__*")))
    sent = _repro("reproduce", *common, "--out", "array", "--launcher", "local", "--time-min", "10", cwd=tmp_path)
    assert "1 run(s) submitted (local" in sent.stderr
    _wait_for_results(out / "runs", 2)
    StudyRunner(Study.load(study), out).collect()  # what `repro reproduce` reads (it trains nothing now)
    assert _table(out) == reference
