"""Exact resume: a shuffled, augmented mini-batch run with dropout, killed (SIGINT and SIGKILL) at three random
mid-epoch steps and resumed each time, ends with the same ``metrics.csv`` and ``result.json`` as the run that was
never stopped, value for value — for the device-resident TensorDataModule, the DataLoader path (workers) and a
stacked run. A SIGINT prints one line and exits 130."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow

# Injected through PYTHONPATH: the module's on_train_batch_end sends REPRO_TEST_KILL_SIGNAL to its own process once
# the run has taken REPRO_TEST_KILL_STEP optimizer steps (a checkpoint was taken at the end of the batch before).
HOOK = '''
import importlib.abc, importlib.util, os, signal, sys

class _Patch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "repro.training.classifier" or not os.environ.get("REPRO_TEST_KILL_STEP"):
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            step, sig = int(os.environ["REPRO_TEST_KILL_STEP"]), int(os.environ["REPRO_TEST_KILL_SIGNAL"])

            def on_train_batch_end(self, outputs, batch, batch_idx):
                if self.global_step == step:
                    os.kill(os.getpid(), sig)
            module.Classifier.on_train_batch_end = on_train_batch_end
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Patch())
'''

STEPS_PER_EPOCH, EPOCHS = 8, 4  # 512 images, batch 64


def _study(kind: str) -> dict:
    data = {"source": "fashion_mnist", "train_size": 512, "batch_size": 64, "augment": True, "crop_padding": 2,
            "eval_batch_size": 1024}
    model = {"backbone": {"class_path": "repro.models.dropout_mlp.DropoutMLP",
                          "init_args": {"width": 32, "depth": 2, "dropout": 0.3}},
             "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.05, "momentum": 0.9}},
             "log_fit_error": True}
    if kind == "dataloader":
        data.update(loader="classic", num_workers=0)  # the batch sampler and collate of the DataLoader path
    if kind == "stacked":
        model["stack_seeds"] = [0, 1]
    return {
        "study": {"paper": "double_descent", "name": f"resume_{kind}", "scale": "quick", "x": "seed"},
        "seed_everything": 0,
        "trainer": {"max_epochs": EPOCHS, "check_val_every_n_epoch": 2, "log_every_n_steps": 1},
        "model": {"class_path": "repro.training.classifier.Classifier", "init_args": model},
        "data": {"class_path": "repro.data.core.TensorDataModule", "init_args": data},
        "run": {"checkpoint_minutes": 0},  # a checkpoint at every batch: the kill lands one batch after it
        "grid": {"seed_everything": [0]},
        "claims": [],
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory, fashion_mnist) -> dict:
    root = tmp_path_factory.mktemp("resume")
    (root / "hook").mkdir()
    (root / "hook" / "sitecustomize.py").write_text(HOOK)
    environment = {**os.environ, "WANDB_MODE": "disabled",
                   "PYTHONPATH": os.pathsep.join([str(root / "hook"), str(ROOT)])}
    return {"root": root, "env": environment}


def _run(env: dict, study: Path, out: Path, **extra) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "repro.cli", "reproduce", "double_descent", "--study", str(study),
               "--out", str(out), "--workers", "1", "--threads", "1", "--no-progress"]
    return subprocess.run(command, env={**env["env"], **extra}, capture_output=True, text=True, timeout=600)


def _outcome(out: Path) -> tuple[list[dict], dict]:
    (run,) = (out / "double_descent").glob("*/runs/*")
    with open(run / "metrics.csv", newline="") as f:
        history = list(csv.DictReader(f))
    result = json.loads((run / "result.json").read_text())
    result.pop("seconds")  # wall time: the one value that may differ
    return history, result


@pytest.mark.parametrize("kind", ["device", "dataloader", "stacked"])
def test_killed_three_times_mid_epoch_resumes_to_the_uninterrupted_numbers(env, kind):
    study = env["root"] / f"{kind}.yaml"
    study.write_text(yaml.safe_dump(_study(kind)))
    reference = _run(env, study, env["root"] / f"{kind}_reference")
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = _outcome(env["root"] / f"{kind}_reference")
    assert len(expected[0]) > STEPS_PER_EPOCH * EPOCHS  # a row per step and the evaluations

    mid_epoch = [s for s in range(2, STEPS_PER_EPOCH * EPOCHS) if s % STEPS_PER_EPOCH]
    rng = random.Random(f"resume-{kind}")
    steps = sorted(rng.sample(mid_epoch, 3))
    signals = [signal.SIGINT, signal.SIGKILL, rng.choice([signal.SIGINT, signal.SIGKILL])]
    out = env["root"] / f"{kind}_killed"
    for step, sig in zip(steps, signals, strict=True):
        killed = _run(env, study, out, REPRO_TEST_KILL_STEP=str(step), REPRO_TEST_KILL_SIGNAL=str(int(sig)))
        if sig == signal.SIGINT:
            assert killed.returncode == 130, killed.stderr[-3000:]
            assert killed.stderr.strip().splitlines()[-1] == "repro: interrupted; rerun the same command to resume"
            assert "Traceback" not in killed.stderr
        else:
            assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    done = _run(env, study, out)
    assert done.returncode == 0, done.stderr[-3000:]
    history, result = _outcome(out)
    assert history == expected[0], f"kills at steps {steps}"
    assert result == expected[1], f"kills at steps {steps}"
