"""The papers this library reproduces and where their study configs live (``configs/<paper>/*.yaml``)."""

from __future__ import annotations

import os
from pathlib import Path

from repro.errors import ReproError

PAPERS = {
    "double_descent": "Deep Double Descent (Nakkiran et al. 2019)",
    "sparse_double_descent": "Sparse double descent + DSD² (He et al. 2022; Quétu & Tartaglione)",
    "ldam_drw": "LDAM-DRW (Cao et al. 2019)",
    "importance_weighting": "Importance weighting in deep nets (Byrd & Lipton 2019)",
    "slingshot": "Grokking and the Slingshot mechanism (Power et al. 2022; Thilak et al. 2022)",
    "manifold_mixup": "Manifold Mixup (Verma et al. 2019)",
    "loss_correction": "Loss correction for label noise (Patrini et al. 2017)",
    "sngp": "SNGP (Liu et al. 2020)",
}


def configs_dir() -> Path:
    """``$REPRO_CONFIGS``, else the ``configs/`` folder beside the package (a source checkout)."""
    env = os.environ.get("REPRO_CONFIGS")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "configs"
    if not path.is_dir():
        raise ReproError(f"config folder {path} not found; run from a source checkout or set $REPRO_CONFIGS")
    return path


def normalize(paper: str) -> str:
    """Accept ``double-descent`` and ``double_descent``; reject unknown names with the list."""
    name = paper.replace("-", "_")
    available = implemented()
    if name not in available:
        known = ", ".join(available) or "none"
        raise ReproError(f"unknown paper {paper!r}; papers with configs: {known} (see `repro list`)")
    return name


def implemented() -> list[str]:
    """Papers that have at least one study config."""
    root = configs_dir()
    return [p for p in PAPERS if (root / p).is_dir() and any((root / p).glob("*.yaml"))]


def study_paths(paper: str) -> list[Path]:
    return sorted((configs_dir() / normalize(paper)).glob("*.yaml"))


def study_path(paper: str, study: str) -> Path:
    path = configs_dir() / normalize(paper) / f"{study}.yaml"
    if not path.is_file():
        names = ", ".join(p.stem for p in study_paths(paper))
        raise ReproError(f"{paper} has no study {study!r}; its studies: {names}")
    return path
