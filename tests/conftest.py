"""Shared test setup: one torch thread per process, W&B off unless a test turns it on, the repo's configs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

torch.set_num_threads(1)
# Module- and session-scoped fixtures run before the autouse one below: keep W&B off for them too.
os.environ["WANDB_MODE"] = "disabled"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """One data folder for the session, so generated data (MNIST-1D) is made once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, data_dir):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("REPRO_DATA", str(data_dir))


@pytest.fixture
def quick_yaml() -> Path:
    return CONFIGS / "double_descent" / "quick.yaml"


@pytest.fixture
def no_md5_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make torchvision's CIFAR and SVHN accept fake files: keep the file-exists check, drop the md5 comparison.

    CIFAR10 md5-checks the data batches in ``_check_integrity`` and ``batches.meta`` in ``_load_meta``;
    both call the module-level ``check_integrity``, so patching that one name covers both (SVHN likewise).
    """
    import torchvision.datasets.cifar as tv_cifar
    import torchvision.datasets.svhn as tv_svhn

    for module in (tv_cifar, tv_svhn):
        monkeypatch.setattr(module, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a network connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def reproduce_quick(out: Path, paper: str, *args: str, timeout: int = 1200) -> None:
    """Run a study end to end the way a user does (``repro reproduce``, 2 workers × 1 torch thread, W&B off)
    into ``out``; the quick-claim tests then read its report and claims.json. A failing claim exits 1, so the
    exit status is not checked here: the tests read which claim failed."""
    env = {**os.environ, "WANDB_MODE": "disabled"}
    subprocess.run([sys.executable, "-m", "repro.cli", "reproduce", paper, "--workers", "2", "--threads", "1",
                    "--no-progress", "--out", str(out), *args], check=False, env=env, timeout=timeout)
