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


def install_fashion_mnist() -> Path:
    """Fashion-MNIST through the library's own install path (``repro data fashion_mnist``: Debian's package,
    unpacked without root into the checkout's ``data/fashion-mnist/``); a no-op when it is already there. The
    tests' ``$REPRO_DATA`` is a tmp folder, which the loader searches before the checkout's data folder."""
    from repro.data.install import install_fashion_mnist as install
    from repro.data.sources.fashion_mnist import CHECKOUT_DATA

    return install(CHECKOUT_DATA / "fashion-mnist", log=lambda msg: None)


@pytest.fixture(scope="session")
def fashion_mnist() -> Path:
    """The folder holding the real Fashion-MNIST files (installed on first use)."""
    return install_fashion_mnist()


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


def reproduce_quick(out: Path, paper: str, *args: str, timeout: int = 2400) -> None:
    """Run a study end to end the way a user does (``repro reproduce``, 2 workers × 1 torch thread, W&B off)
    into ``out``; the quick-claim tests then read its report and claims.json. The timeout only stops a hung
    study: under ``make test`` two pytest processes share the cores, so a study may take twice its quiet time.
    A failing claim exits 1, so the exit status is not checked here: the tests read which claim failed."""
    install_fashion_mnist()  # the studies that read it find it; a no-op for the others
    env = {**os.environ, "WANDB_MODE": "disabled"}
    subprocess.run([sys.executable, "-m", "repro.cli", "reproduce", paper, "--workers", "2", "--threads", "1",
                    "--no-progress", "--out", str(out), *args], check=False, env=env, timeout=timeout)


def study_results(tmp_path_factory, paper: str, study: str, *args: str) -> Path:
    """Run ``configs/<paper>/<study>.yaml`` once, as a user would, and return its results folder (report.md,
    claims.json, results.csv, figures); for a module-scoped fixture shared by one study's tests."""
    out = tmp_path_factory.mktemp(f"{paper}_{study}")
    reproduce_quick(out, paper, "--study", study, *args)
    return out / paper / study


def study_fixture(paper: str, study: str, *args: str):
    """A module-scoped fixture that runs the study once and yields its results folder::

        results = study_fixture("ldam_drw", "quick")
    """

    @pytest.fixture(scope="module")
    def results(tmp_path_factory) -> Path:
        return study_results(tmp_path_factory, paper, study, *args)

    return results


def claims_of(folder: Path) -> list[dict]:
    """The judged claims a study wrote (claims.json)."""
    import json

    return json.loads((folder / "claims.json").read_text())


def assert_every_claim_passes(folder: Path, paper: str, study: str) -> None:
    """All of the study's claims were judged, and each passed (the failures are printed)."""
    from repro.studies.study import Study

    claims = claims_of(folder)
    assert len(claims) == len(Study.load(CONFIGS / paper / f"{study}.yaml").claims)
    assert all(c["passed"] for c in claims), [c for c in claims if not c["passed"]]


def control_fixture(paper: str, study: str, control: str, *args: str):
    """A module-scoped fixture that trains one negative control of a study (``repro reproduce --control``, with
    ``args`` such as a ``--grid`` subset) and yields its results folder (``<out>/<paper>/<study>/controls/<name>``)::

        no_noise = control_fixture("double_descent", "quick", "no_noise")
    """

    @pytest.fixture(scope="module")
    def results(tmp_path_factory) -> Path:
        out = tmp_path_factory.mktemp(f"{paper}_{study}_{control}")
        reproduce_quick(out, paper, "--study", study, "--control", control, *args)
        return out / paper / study / "controls" / control

    return results


def assert_control_fails(folder: Path, paper: str, study: str, control: str, judged=None) -> dict[str, dict]:
    """Every claim the control lists in ``must_fail`` (or the subset ``judged``, e.g. under a ``--grid`` subset)
    was judged there and FAILED; returns the control's claims by name."""
    from repro.studies.study import Study

    claims = {c["name"]: c for c in claims_of(folder)}
    names = judged if judged is not None else Study.load(CONFIGS / paper / f"{study}.yaml").control(control).must_fail
    assert names and {n: claims[n]["verdict"] for n in names} == dict.fromkeys(names, "FAIL"), \
        {n: claims[n]["measured"] for n in names}
    return claims
