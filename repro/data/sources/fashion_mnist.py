"""fashion_mnist: the four idx files, found in ``$REPRO_DATA/fashion-mnist/``, ``$REPRO_DATA/FashionMNIST/raw/``
(torchvision's layout), Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist/``) or the
source checkout's ``data/fashion-mnist/`` (where ``make data`` / ``repro data fashion_mnist`` unpacks that
package without root). Missing everywhere, loading with ``download=True`` installs them as that command does (the
Debian package, else torchvision's download)."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import torch

from repro.data.sources.registry import DatasetMissingError, SourceInfo, Split, missing_message, register
from repro.errors import ConfigValueError

# Searched after $REPRO_DATA/fashion-mnist/ and $REPRO_DATA/FashionMNIST/raw/ (tests empty it to see the error):
# where Debian's dataset-fashion-mnist installs the files, and the checkout's default data folder, where
# `make data` unpacks that package for a user without root (so the tests, whose $REPRO_DATA is a tmp dir, find it).
CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "data"
FASHION_MNIST_SYSTEM_DIRS: list[Path] = [Path("/usr/share/datasets/fashion-mnist"), CHECKOUT_DATA / "fashion-mnist"]
FILES = tuple(f"{p}-{k}-idx{d}-ubyte.gz" for p in ("train", "t10k") for k, d in (("images", 3), ("labels", 1)))

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an idx file (gzip or raw): big-endian magic, then one big-endian uint32 per dim, then uint8s."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic, so a mis-named file still loads
        raw = gzip.decompress(raw)
    if len(raw) < 4 or struct.unpack(">I", raw[:4])[0] != magic:
        raise ConfigValueError(f"{path}: not an idx file with magic {magic}")
    ndim = magic & 0xFF  # the low byte of the magic is the number of dims (3 for images, 1 for labels)
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims)):
        raise ConfigValueError(f"{path}: header says {dims} but holds {data.size} bytes of data")
    return data.reshape(dims).copy()  # copy: frombuffer over bytes is read-only, torch wants writable


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):  # raw first: no gunzip needed
        if candidate.is_file():
            return candidate
    return None


def search_dirs(root: Path) -> list[Path]:
    return [root / "fashion-mnist", root / "FashionMNIST" / "raw", *FASHION_MNIST_SYSTEM_DIRS]


def find_fashion_mnist(root: Path) -> Path | None:
    """The first searched folder that holds all four idx files (gzipped or not), else None."""
    for directory in search_dirs(root):
        if all(_find_idx(directory, name.removesuffix(".gz")) for name in FILES):
            return directory
    return None


def _load_fashion_mnist(train: bool, root: Path, download: bool) -> Split:
    prefix = "train" if train else "t10k"
    images_stem, labels_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    dirs = search_dirs(root)
    for directory in dirs:
        images, labels = _find_idx(directory, images_stem), _find_idx(directory, labels_stem)
        if images is not None and labels is not None:
            x = _read_idx(images, _IDX_IMAGES_MAGIC)
            y = _read_idx(labels, _IDX_LABELS_MAGIC)
            if len(x) != len(y):
                raise ConfigValueError(f"{directory}: {len(x)} images but {len(y)} labels")
            return Split(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y.astype(np.int64)))

    looked_in = ", ".join(str(d.resolve()) for d in dirs)
    expected = (f"{images_stem}.gz and {labels_stem}.gz (gzipped or not) in any of those; `make data` (or "
                "`repro data fashion_mnist`) installs them from Debian's dataset-fashion-mnist package, no root needed")
    if not download:
        reason = "download=False, so nothing was downloaded; downloading needs network access."
        raise DatasetMissingError(missing_message("fashion_mnist", looked_in, expected, reason))

    # what `repro data fashion_mnist` does: Debian's package (no root), else torchvision's download
    from repro.data.install import install_fashion_mnist

    try:
        install_fashion_mnist(root / "fashion-mnist", log=lambda msg: print(msg, file=sys.stderr))
    except DatasetMissingError as e:
        reason = f"Downloading needs network access, and the download failed: {e}"
        raise DatasetMissingError(missing_message("fashion_mnist", looked_in, expected, reason)) from e
    return _load_fashion_mnist(train, root, download=False)  # found now in root/fashion-mnist or FashionMNIST/raw


# Stats computed here from the Debian package's training images (pixels / 255).
register(SourceInfo("fashion_mnist", 10, (1, 28, 28), True, True, (0.2860,), (0.3530,)),
         lambda train, root, download: _load_fashion_mnist(train, root, download))
