"""The source registry: a named dataset's static facts and its loader, one entry per source.

A loader is ``load(train, root, download) -> Split`` and returns a whole split at once (no per-example Python
objects): image sources give uint8 NCHW tensors, vector sources float32 tensors, labels are int64. Files
live under the data directory ``$REPRO_DATA`` (default ``./data``). A family of sources registers itself
with :func:`register` from its own module (``torchvision_sets.py``, ``fashion_mnist.py``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from repro.errors import ConfigValueError, ReproError

__all__ = ["SOURCES", "DatasetMissingError", "SourceInfo", "Split", "data_root", "load_source", "missing_message",
           "register", "source_info"]


class DatasetMissingError(ReproError):
    """A dataset's files are not on disk and could not be downloaded."""


@dataclass
class Split:
    """One split of a source: inputs and int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


Loader = Callable[[bool, Path, bool], Split]


@dataclass(frozen=True)
class SourceInfo:
    """Static facts about a source, known without loading it, and its loader."""

    name: str
    num_classes: int
    in_shape: tuple[int, ...]  # one example, no batch dim
    image: bool  # True: uint8 NCHW images that crop/flip augmentation applies to
    needs_download: bool
    mean: tuple[float, ...] | None  # per-channel stats of the training split, pixels scaled to [0, 1]
    std: tuple[float, ...] | None
    load: Loader | None = field(default=None, compare=False, repr=False)


SOURCES: dict[str, SourceInfo] = {}


def register(info: SourceInfo, load: Loader) -> SourceInfo:
    """Add a source to the registry (a family module calls this once per source at import)."""
    entry = SourceInfo(**{**info.__dict__, "load": load})
    SOURCES[info.name] = entry
    return entry


def source_info(name: str) -> SourceInfo:
    """The :class:`SourceInfo` of ``name``; a ConfigValueError naming the valid sources if unknown."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ConfigValueError(
            f"unknown data source {name!r} (config key data.init_args.source); "
            f"valid sources: {', '.join(SOURCES)}"
        ) from None


def data_root() -> Path:
    """The data directory: ``$REPRO_DATA``, default ``./data``."""
    return Path(os.environ.get("REPRO_DATA") or "data").expanduser()


def load_source(name: str, train: bool, root: str | Path | None = None, download: bool = True) -> Split:
    """Load the train or test split of source ``name`` from ``root`` (default :func:`data_root`).

    ``download=False`` never touches the network: missing files raise :class:`DatasetMissingError` at once.
    """
    info = source_info(name)
    root = Path(root).expanduser() if root is not None else data_root()
    return info.load(train, root, download)


def missing_message(name: str, looked_in: str, expected: str, reason: str) -> str:
    return (
        f"data source {name!r} is not available. Looked in: {looked_in}. "
        "The data directory is $REPRO_DATA (default ./data); point it elsewhere with "
        "`export REPRO_DATA=/path/to/data`. "
        f"Expected files: {expected}. {reason}"
    )
