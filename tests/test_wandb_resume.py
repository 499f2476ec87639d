"""A resumed run continues its own W&B run: one offline run folder (id from the config hash) whose history is the
run's whole history, each step once; a rerun of the finished study creates no W&B run; under DDP only rank 0 makes
one."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import yaml

from repro.studies.runner import StudyRunner
from repro.studies.study import Study
from repro.tracking import wandb_run_id
from repro.wandb_offline import offline_runs, read_offline_run

TESTS = Path(__file__).parent
W_KEYS = ("_step", "_runtime", "_timestamp", "trainer/global_step")


def _tiny_study(tmp_path: Path, quick_yaml: Path) -> Path:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["study"].update(name="resume", workers=1, figures=[])
    raw["trainer"].update(max_epochs=12, check_val_every_n_epoch=6, log_every_n_steps=1,
                          callbacks=[{"class_path": "wandb_probe.KillAt"}])
    raw["run"] = {"checkpoint_minutes": 0.0}  # a checkpoint after every step
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4]}
    raw["claims"] = []
    path = tmp_path / "resume.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _reproduce(study: Path, out: Path, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": f"{TESTS.parent}:{TESTS}", "OMP_NUM_THREADS": "1",
           **env}
    return subprocess.run([sys.executable, "-m", "repro.cli", "reproduce", "double_descent", "--study", str(study),
                           "--out", str(out), "--workers", "1", "--threads", "1", "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=600)


def test_a_killed_and_resumed_run_is_one_wandb_run_with_every_step_once(tmp_path, quick_yaml):
    study_file = _tiny_study(tmp_path, quick_yaml)
    out = tmp_path / "results"
    killed = _reproduce(study_file, out, REPRO_TEST_KILL_AT="7")
    assert killed.returncode == -9, killed.stderr[-2000:]
    [run_dir] = (out / "double_descent" / "resume" / "runs").iterdir()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file() and not (run_dir / "result.json").exists()
    assert len(offline_runs(run_dir)) == 1  # the killed attempt's W&B run

    done = _reproduce(study_file, out)
    assert done.returncode == 0, done.stderr[-3000:]
    [folder] = offline_runs(run_dir)
    run = read_offline_run(folder, wait=60)
    job = StudyRunner(Study.load(study_file), out / "double_descent" / "resume").jobs[0]
    assert run.id == wandb_run_id(job.hash, "resume") and run.group == "resume" and run.finished
    assert run.config["manifest"]["packages"]["wandb"] and run.config["model"]["init_args"]["backbone"]

    with open(run_dir / "metrics.csv", newline="") as f:
        expected = [(int(float(r["step"])), {k: float(v) for k, v in r.items() if v and k != "step"})
                    for r in csv.DictReader(f)]
    logged = [(int(h["trainer/global_step"]), {k: v for k, v in h.items() if k not in W_KEYS}) for h in run.history]
    assert [s for s, _ in logged] == [s for s, _ in expected]  # every logged row once, in order
    for (_, got), (_, want) in zip(logged, expected, strict=True):
        assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-6 for k in want)
    fit_steps = [s for s, row in logged if "fit/loss" in row]
    assert fit_steps == sorted(set(fit_steps)) and len(fit_steps) == 12  # steps before and after the kill, once
    assert any(s < 7 for s in fit_steps) and any(s > 7 for s in fit_steps)
    assert len(list((run_dir / "wandb-superseded").iterdir())) == 1  # the killed attempt, out of `wandb sync`'s way

    again = _reproduce(study_file, out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert offline_runs(run_dir) == [folder]  # a finished study's rerun creates no W&B run


def test_ddp_two_processes_make_one_wandb_run(tmp_path, quick_yaml):
    cfg = yaml.safe_load(quick_yaml.read_text())
    cfg["trainer"].update(max_epochs=2, check_val_every_n_epoch=1, accelerator="cpu", devices=2, strategy="ddp",
                          enable_progress_bar=False)
    cfg["data"]["init_args"]["batch_size"] = 100
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "repro.cli", "fit", "--config", str(path), "--run.out_dir",
                           str(run_dir)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [folder] = offline_runs(run_dir)  # rank 1 logs nothing and creates no run
    run = read_offline_run(folder, wait=60)
    assert sum("test/error" in h for h in run.history) == 2  # one per validation, from rank 0 only
