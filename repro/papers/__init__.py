"""The papers this library reproduces: one package each under ``repro/papers/<paper>/``, discovered here.

A paper package's ``__init__.py`` declares ``PAPER = PaperInfo(...)`` (and imports nothing heavy), and its
study configs live in ``configs/<paper>/*.yaml``. A user's ninth paper is one more package: a folder here, or
any package on the path named by ``$REPRO_PAPERS`` (comma-separated module names).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError

__all__ = ["OriginalValue", "PaperInfo", "configs_dir", "normalize", "papers", "study_path", "study_paths"]


@dataclass(frozen=True)
class PaperInfo:
    """What ``repro list`` and the reports say about a paper."""

    name: str  # the package name, the configs folder and the W&B project suffix
    title: str
    citation: str
    url: str = ""


@dataclass(frozen=True)
class OriginalValue:
    """One value of a paper's original code that a study config must match, and where it comes from.

    ``key`` is a dotted key of a run's fully resolved config (defaults included, as ``repro fit --print_config``
    shows it); ``where`` picks the grid point (short names, e.g. ``{"method": "LDAM-DRW"}``; default: the first
    run). A paper package lists them in ``original.py`` as ``ORIGINAL = {"paper.yaml": [OriginalValue(...), ...]}``;
    ``tests/test_original_values.py`` checks every one, and the paper's README shows the same table.
    """

    key: str
    value: object
    source: str
    where: tuple[tuple[str, object], ...] = ()

    @classmethod
    def at(cls, key: str, value: object, source: str, **where: object) -> OriginalValue:
        return cls(key, value, source, tuple(where.items()))


def _discover() -> dict[str, PaperInfo]:
    modules = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.ispkg]
    modules += [m.strip() for m in os.environ.get("REPRO_PAPERS", "").split(",") if m.strip()]
    found = {}
    for module in modules:
        try:
            info = importlib.import_module(module).PAPER
        except (ImportError, AttributeError) as err:
            raise ReproError(f"paper package {module}: {err} (it must define PAPER = PaperInfo(...))") from err
        found[info.name] = info
    return found


_PAPERS: dict[str, PaperInfo] | None = None


def papers() -> dict[str, PaperInfo]:
    """Every paper package, by name, in discovery order (the package folder's alphabetical order)."""
    global _PAPERS
    if _PAPERS is None:
        _PAPERS = _discover()
    return _PAPERS


def configs_dir() -> Path:
    """``$REPRO_CONFIGS``, else the ``configs/`` folder beside the package (a source checkout)."""
    env = os.environ.get("REPRO_CONFIGS")
    path = Path(env) if env else Path(__file__).resolve().parent.parent.parent / "configs"
    if not path.is_dir():
        raise ReproError(f"config folder {path} not found; run from a source checkout or set $REPRO_CONFIGS")
    return path


def normalize(paper: str) -> str:
    """Accept ``double-descent`` and ``double_descent``; reject unknown names with the list."""
    name = paper.replace("-", "_")
    if name not in papers():
        known = ", ".join(papers()) or "none"
        raise ReproError(f"unknown paper {paper!r}; papers: {known} (see `repro list`)")
    return name


def study_paths(paper: str) -> list[Path]:
    return sorted((configs_dir() / normalize(paper)).glob("*.yaml"))


def study_path(paper: str, study: str) -> Path:
    path = configs_dir() / normalize(paper) / f"{study}.yaml"
    if not path.is_file():
        names = ", ".join(p.stem for p in study_paths(paper)) or "none"
        raise ReproError(f"{paper} has no study {study!r}; its studies: {names}")
    return path
