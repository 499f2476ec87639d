"""Crash safety, by fault injection into real `repro reproduce` processes: SIGKILL at random moments, during a
checkpoint save and during the result write; truncated result.json / last.ckpt / metrics.csv; a file-size limit
standing in for a full disk; two processes on one results folder. Every case ends in the same results as one
uninterrupted run."""

from __future__ import annotations

import csv
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS, ROOT

# Injected into the study processes (and their workers) through PYTHONPATH: slows the atomic rename of one
# target file (REPRO_TEST_SLOW=<file name>), writing REPRO_TEST_MARK first, so the test can kill the process in
# the middle of that write; and logs every run a process starts training (REPRO_TEST_TRAINLOG).
HOOK = '''
import importlib.abc, importlib.util, os, sys, time

class _Patch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in ("repro.atomic", "repro.studies.execute"):
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        sys.meta_path.insert(0, self)
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            if name == "repro.atomic" and os.environ.get("REPRO_TEST_SLOW"):
                real = os.replace

                class SlowOs:
                    def __getattr__(self, attr):
                        return getattr(os, attr)

                    def replace(self, src, dst):
                        if os.path.basename(str(dst)) == os.environ["REPRO_TEST_SLOW"]:
                            open(os.environ["REPRO_TEST_MARK"], "w").close()
                            time.sleep(60)
                        real(src, dst)
                module.os = SlowOs()
            if name == "repro.studies.execute" and os.environ.get("REPRO_TEST_TRAINLOG"):
                train = module._train

                def logged(job, events):
                    with open(os.environ["REPRO_TEST_TRAINLOG"], "a") as f:
                        f.write(f"{os.getpid()} {job.name}\\n")
                    return train(job, events)
                module._train = logged
        loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Patch())
'''


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("crash")
    hook = root / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    raw = yaml.safe_load((CONFIGS / "double_descent" / "quick.yaml").read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["trainer"].update(max_epochs=400, check_val_every_n_epoch=400, log_every_n_steps=10)
    raw["run"] = {"checkpoint_minutes": 0.005}  # a checkpoint every 0.3 s: kills land between and inside saves
    raw["grid"] = {"model.init_args.backbone.init_args.width": [8, 16, 32], "seed_everything": [0]}
    raw["claims"] = []  # three short runs prove nothing about double descent: the test compares results, not verdicts
    study = root / "configs" / "double_descent" / "crash.yaml"
    study.parent.mkdir(parents=True)
    study.write_text(yaml.safe_dump(raw))
    environment = {**os.environ, "REPRO_CONFIGS": str(root / "configs"), "WANDB_MODE": "disabled",
                   "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)])}
    return {"root": root, "env": environment}


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "repro.cli", "reproduce", "double_descent", "--study", "crash", "--out", str(out),
            "--workers", "1", "--threads", "1", "--no-progress"]


def _run(env: dict, out: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(_command(out), env={**env["env"], **extra}, capture_output=True, text=True, timeout=900)


def _start(env: dict, out: Path, **extra) -> subprocess.Popen:
    return subprocess.Popen(_command(out), env={**env["env"], **extra}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _results(out: Path) -> dict:
    with open(out / "double_descent" / "crash" / "results.csv") as f:
        return {(r["width"], r["seed"]): {k: v for k, v in r.items() if "/" in k} for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def reference(env) -> dict:
    done = _run(env, env["root"] / "reference")
    assert done.returncode == 0, done.stdout + done.stderr
    return _results(env["root"] / "reference")


def _kill_then_finish(env, out: Path, wait, **extra) -> subprocess.CompletedProcess:
    proc = _start(env, out, **extra)
    wait(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _run(env, out)


@pytest.mark.parametrize("moment_seed", [1, 2])
def test_a_kill_at_a_random_moment_resumes_to_the_same_results(env, reference, moment_seed):
    out = env["root"] / f"random{moment_seed}"
    delay = random.Random(moment_seed).uniform(8.0, 16.0)  # after the imports, while the three runs train
    done = _kill_then_finish(env, out, lambda proc: time.sleep(delay))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(out) == reference


@pytest.mark.parametrize("target", ["last.ckpt", "result.json"])
def test_a_kill_inside_a_checkpoint_or_result_write_leaves_a_resumable_study(env, reference, target):
    out, mark = env["root"] / f"inside_{target}", env["root"] / f"mark_{target}"

    def when_writing(proc):
        deadline = time.time() + 600
        while not mark.exists():
            assert proc.poll() is None and time.time() < deadline, "the write was never reached"
            time.sleep(0.05)

    done = _kill_then_finish(env, out, when_writing, REPRO_TEST_SLOW=target, REPRO_TEST_MARK=str(mark))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(out) == reference
    assert not list(out.rglob(f".{target}.*")), "a temporary file of the interrupted write was left behind"


def _finished_copy(env, name: str) -> Path:
    import shutil

    out = env["root"] / name
    shutil.copytree(env["root"] / "reference", out)
    return out


def test_truncated_files_are_named_moved_aside_and_redone(env, reference):
    out = _finished_copy(env, "truncated")
    runs = sorted((out / "double_descent" / "crash" / "runs").iterdir())
    result = runs[0] / "result.json"
    result.write_text(result.read_text()[:40])  # a result.json cut off mid-write
    (runs[1] / "result.json").unlink()  # an unfinished run ...
    ckpt = runs[1] / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # ... whose checkpoint was cut off
    (runs[2] / "result.json").unlink()  # an unfinished run whose history ends in a torn line
    with open(runs[2] / "metrics.csv", "a") as f:
        f.write("0.31,5")
    done = _run(env, out)
    assert done.returncode == 0, done.stdout + done.stderr
    for path in (result, ckpt, runs[2] / "metrics.csv"):
        assert str(path) in done.stderr  # one warning line names each file
    assert list(runs[0].glob("result.json.corrupt-*")) and list(ckpt.parent.glob("last.ckpt.corrupt-*"))
    assert (runs[2] / "metrics.csv").read_text().endswith("\n")
    assert _results(out) == reference


def test_a_full_disk_is_a_clear_error_and_the_study_resumes(env, reference):
    out = env["root"] / "full_disk"

    def limit() -> None:  # the child may write no file over 16 KiB (a checkpoint is ~35 KiB), as a full disk would
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    failed = subprocess.run(_command(out), env=env["env"], capture_output=True, text=True, timeout=900,
                            preexec_fn=limit)
    assert failed.returncode == 2
    assert "File too large" in failed.stderr and "free space and rerun" in failed.stderr
    assert "Traceback" not in failed.stderr
    done = _run(env, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(out) == reference


def test_two_processes_on_one_folder_train_each_run_once(env, reference):
    out, log = env["root"] / "concurrent", env["root"] / "trainlog"
    first = _start(env, out, REPRO_TEST_TRAINLOG=str(log))
    time.sleep(1.0)
    second = _start(env, out, REPRO_TEST_TRAINLOG=str(log))
    for proc in (first, second):
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
    trained = [line.split()[1] for line in log.read_text().splitlines()]
    assert sorted(trained) == sorted(set(trained)) and len(trained) == 3  # every run trained exactly once
    assert _results(out) == reference
