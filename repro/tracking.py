"""Where a run's record goes: W&B (offline unless an API key is configured), a local CSV, a manifest."""

from __future__ import annotations

import json
import netrc
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger

PACKAGES = ("torch", "torchvision", "pytorch-lightning", "torchmetrics", "timm", "wandb", "jsonargparse", "numpy")


def wandb_mode() -> str:
    """``WANDB_MODE`` if set (``online``, ``offline``, ``disabled``); else online only with an API key.

    Offline runs land in ``<run_dir>/wandb`` and upload later with ``wandb sync``.
    """
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("//")[-1].split("/")[0]
        if netrc.netrc().authenticators(host):
            return "online"
    except (FileNotFoundError, netrc.NetrcParseError):
        pass
    return "offline"


def build_loggers(
    run_dir: Path, *, project: str, group: str | None, name: str, tags: list[str], config: dict
) -> list[Logger]:
    """CSVLogger always (``<run_dir>/metrics.csv``); WandbLogger unless W&B is disabled."""
    loggers: list[Logger] = [CSVLogger(save_dir=str(run_dir), name="", version="")]
    mode = wandb_mode()
    if mode != "disabled":
        wandb = WandbLogger(
            project=project, group=group, name=name, tags=tags, save_dir=str(run_dir),
            offline=mode == "offline", config=config, settings={"silent": True},
        )
        loggers.append(wandb)
    return loggers


def git_state(cwd: Path | None = None) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        return {"sha": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def manifest() -> dict:
    """What produced a result: code version, packages, device."""
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    return {
        "git": git_state(Path(__file__).resolve().parent),
        "python": sys.version.split()[0],
        "packages": versions,
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
        "command": sys.argv,
    }


def write_manifest(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "manifest.json"
    path.write_text(json.dumps(manifest(), indent=2))
    return path
