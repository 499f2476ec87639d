"""Dataset sources: turn a named dataset into whole-split tensors for a device-resident datamodule.

Every loader returns a :class:`Split` holding the full split at once (no per-example Python objects):
image sources give uint8 NCHW tensors, vector sources float32 tensors, labels are int64.
Files live under the data directory ``$REPRO_DATA`` (default ``./data``).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import random
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch

from repro.errors import ConfigValueError, ReproError

__all__ = [
    "SOURCES",
    "DatasetMissingError",
    "FASHION_MNIST_SYSTEM_DIRS",
    "MNIST1D_ARGS",
    "SourceInfo",
    "Split",
    "data_root",
    "load_source",
    "source_info",
]


class DatasetMissingError(ReproError):
    """A dataset's files are not on disk and could not be downloaded (a RuntimeError, via ReproError)."""


@dataclass(frozen=True)
class SourceInfo:
    """Static facts about a source, known without loading it."""

    name: str
    num_classes: int
    in_shape: tuple[int, ...]  # one example, no batch dim
    image: bool  # True: uint8 NCHW images that crop/flip augmentation applies to
    needs_download: bool
    mean: tuple[float, ...] | None  # per-channel stats of the training split, pixels scaled to [0, 1]
    std: tuple[float, ...] | None


@dataclass
class Split:
    """One split of a source: inputs and int64 labels."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


# Normalisation stats are the usual published training-set values (pixels / 255); fashion_mnist's were
# computed here from the Debian package's files.
SOURCES: dict[str, SourceInfo] = {
    s.name: s
    for s in (
        SourceInfo(
            "cifar10", 10, (3, 32, 32), True, True, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
        ),
        SourceInfo(
            "cifar100", 100, (3, 32, 32), True, True, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
        ),
        SourceInfo("svhn", 10, (3, 32, 32), True, True, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
        SourceInfo("mnist", 10, (1, 28, 28), True, True, (0.1307,), (0.3081,)),
        # Needs files from outside the Python environment: Debian's dataset-fashion-mnist or a download.
        SourceInfo("fashion_mnist", 10, (1, 28, 28), True, True, (0.2860,), (0.3530,)),
        SourceInfo("digits", 10, (64,), False, False, None, None),
        SourceInfo("mnist1d", 10, (40,), False, False, None, None),
        SourceInfo("two_moons", 2, (2,), False, False, None, None),
    )
}


def source_info(name: str) -> SourceInfo:
    """The :class:`SourceInfo` of ``name``; ValueError naming the valid sources if unknown."""
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
    source_info(name)
    root = Path(root).expanduser() if root is not None else data_root()
    if name in _TORCHVISION:
        return _load_torchvision(name, train, root, download)
    if name == "fashion_mnist":
        return _load_fashion_mnist(train, root, download)
    if name == "digits":
        return _load_digits(train)
    if name == "two_moons":
        return _load_two_moons(train)
    return _load_mnist1d(train, root)


# ---------------------------------------------------------------------------------------------------------
# torchvision sources: cifar10, cifar100, svhn, mnist

_MNIST_RAW = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Files torchvision's own integrity check needs, relative to root, and how to say them in an error.
_TORCHVISION: dict[str, tuple[tuple[str, ...], str]] = {
    "cifar10": (
        tuple(f"cifar-10-batches-py/{f}" for f in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"])
        + ("cifar-10-batches-py/batches.meta",),
        "$REPRO_DATA/cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta",
    ),
    "cifar100": (
        ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"),
        "$REPRO_DATA/cifar-100-python/train, test, meta",
    ),
    # SVHN checks only the split it loads; filled in per split by _expected_files.
    "svhn": ((), "$REPRO_DATA/{split}_32x32.mat"),
    "mnist": (tuple(f"MNIST/raw/{f}" for f in _MNIST_RAW), "$REPRO_DATA/MNIST/raw/" + ", ".join(_MNIST_RAW)),
}


def _expected_files(name: str, train: bool) -> tuple[tuple[str, ...], str]:
    files, shown = _TORCHVISION[name]
    if name == "svhn":
        split = "train" if train else "test"
        return (f"{split}_32x32.mat",), shown.format(split=split)
    return files, shown


def _missing_message(name: str, looked_in: str, expected: str, reason: str) -> str:
    return (
        f"data source {name!r} is not available. Looked in: {looked_in}. "
        "The data directory is $REPRO_DATA (default ./data); point it elsewhere with "
        "`export REPRO_DATA=/path/to/data`. "
        f"Expected files: {expected}. {reason}"
    )


def _load_torchvision(name: str, train: bool, root: Path, download: bool) -> Split:
    files, shown = _expected_files(name, train)
    present = all((root / f).is_file() for f in files)
    looked_in = str(root.resolve())
    if not present and not download:
        reason = "download=False, so nothing was downloaded; downloading needs network access."
        raise DatasetMissingError(_missing_message(name, looked_in, shown, reason))

    import torchvision.datasets as tvd  # deferred: slow to import, and not every source needs it

    # Download only when the files are absent: when present, a download=True call would md5 them twice.
    fetch = download and not present
    try:
        if name == "cifar10":
            ds = tvd.CIFAR10(root, train=train, download=fetch)
        elif name == "cifar100":
            ds = tvd.CIFAR100(root, train=train, download=fetch)
        elif name == "svhn":
            ds = tvd.SVHN(root, split="train" if train else "test", download=fetch)
        else:
            ds = tvd.MNIST(root, train=train, download=fetch)
    except (URLError, OSError, RuntimeError) as e:
        if fetch:
            reason = f"Downloading needs network access, and the download failed: {type(e).__name__}: {e}"
        else:
            reason = (
                "The files are there but torchvision rejected them (it checks their md5: corrupt or "
                f"partial?); delete them and download again. torchvision said: {e}"
            )
        raise DatasetMissingError(_missing_message(name, looked_in, shown, reason)) from e

    # Convert torchvision's stored arrays in one go; indexing the dataset would build a PIL image per example.
    if name in ("cifar10", "cifar100"):
        # .data is an NHWC view of an NCHW array, so permuting back is free (contiguous() is then a no-op).
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
        y = torch.as_tensor(ds.targets, dtype=torch.int64)
    elif name == "svhn":
        x = torch.from_numpy(np.ascontiguousarray(ds.data))  # already NCHW
        y = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64))
    else:
        x = ds.data.unsqueeze(1).contiguous()  # (N, 28, 28) -> (N, 1, 28, 28)
        y = ds.targets.to(torch.int64)
    return Split(x, y)


# ---------------------------------------------------------------------------------------------------------
# fashion_mnist: idx files from $REPRO_DATA or Debian's dataset-fashion-mnist package

# Searched after $REPRO_DATA/fashion-mnist/ and $REPRO_DATA/FashionMNIST/raw/; tests point it at a tmp dir.
# /usr/share/datasets/fashion-mnist/ is where Debian's dataset-fashion-mnist installs the four .gz files.
FASHION_MNIST_SYSTEM_DIRS: list[Path] = [Path("/usr/share/datasets/fashion-mnist")]

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


def _load_fashion_mnist(train: bool, root: Path, download: bool) -> Split:
    prefix = "train" if train else "t10k"
    images_stem, labels_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    dirs = [root / "fashion-mnist", root / "FashionMNIST" / "raw", *FASHION_MNIST_SYSTEM_DIRS]
    for directory in dirs:
        images, labels = _find_idx(directory, images_stem), _find_idx(directory, labels_stem)
        if images is not None and labels is not None:
            x = _read_idx(images, _IDX_IMAGES_MAGIC)
            y = _read_idx(labels, _IDX_LABELS_MAGIC)
            if len(x) != len(y):
                raise ConfigValueError(f"{directory}: {len(x)} images but {len(y)} labels")
            return Split(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y.astype(np.int64)))

    looked_in = ", ".join(str(d.resolve()) for d in dirs)
    expected = (
        f"{images_stem}.gz and {labels_stem}.gz (gzipped or not) in any of those; `make data` installs "
        f"Debian's dataset-fashion-mnist package, which puts them in {FASHION_MNIST_SYSTEM_DIRS[0]}/"
        if FASHION_MNIST_SYSTEM_DIRS
        else f"{images_stem}.gz and {labels_stem}.gz (gzipped or not) in any of those"
    )
    if not download:
        reason = "download=False, so nothing was downloaded; downloading needs network access."
        raise DatasetMissingError(_missing_message("fashion_mnist", looked_in, expected, reason))

    import torchvision.datasets as tvd  # deferred: only this last resort needs torchvision

    try:
        # Downloads into $REPRO_DATA/FashionMNIST/raw/, the second place searched, so it is found next time.
        ds = tvd.FashionMNIST(root, train=train, download=True)
    except (URLError, OSError, RuntimeError) as e:
        reason = f"Downloading needs network access, and the download failed: {type(e).__name__}: {e}"
        raise DatasetMissingError(_missing_message("fashion_mnist", looked_in, expected, reason)) from e
    return Split(ds.data.unsqueeze(1).contiguous(), ds.targets.to(torch.int64))


# ---------------------------------------------------------------------------------------------------------
# digits: scikit-learn's bundled 8x8 digits

DIGITS_TRAIN = 1200  # of 1797; the remaining 597 are the test split
_DIGITS_SEED = 0


def _load_digits(train: bool) -> Split:
    from sklearn.datasets import load_digits  # deferred: sklearn is slow to import

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = digits.target.astype(np.int64)
    # The bundled file is ordered by writer; a fixed permutation mixes them before splitting.
    perm = np.random.default_rng(_DIGITS_SEED).permutation(len(y))
    idx = perm[:DIGITS_TRAIN] if train else perm[DIGITS_TRAIN:]
    return Split(torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))


# ---------------------------------------------------------------------------------------------------------
# mnist1d: generated procedurally by the mnist1d package, cached as .npz

# The package's defaults (mnist1d.data.get_dataset_args(), less its download url), kept here so a cached
# load needs no import of mnist1d (which pulls in scipy and matplotlib, ~1 s). 5000 samples, 80% train.
MNIST1D_ARGS: dict[str, object] = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}


def _mnist1d_cache_path(root: Path) -> Path:
    try:
        pkg_version = version("mnist1d")
    except PackageNotFoundError:
        pkg_version = "unknown"
    # The package version is part of the key: another release may generate different data from the same args.
    key = json.dumps({"args": MNIST1D_ARGS, "mnist1d": pkg_version}, sort_keys=True)
    return root / "mnist1d" / f"mnist1d_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _generate_mnist1d() -> dict[str, np.ndarray]:
    from mnist1d.data import make_dataset  # make_dataset generates; get_dataset would try a download
    from mnist1d.utils import ObjectView

    # make_dataset reseeds the global `random` and numpy RNGs; restore them so loading data does not
    # silently change the caller's random stream.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(ObjectView(copy.deepcopy(MNIST1D_ARGS)))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {
        "x": data["x"].astype(np.float32),
        "y": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }


def _load_mnist1d(train: bool, root: Path) -> Split:
    path = _mnist1d_cache_path(root)
    arrays: dict[str, np.ndarray] | None = None
    if path.is_file():
        try:
            with np.load(path) as f:
                arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            arrays = None  # unreadable cache: regenerate and overwrite it
    if arrays is None:
        arrays = _generate_mnist1d()
        tmp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so concurrent runs never read a half-written cache.
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
                tmp_name = tmp.name
                np.savez(tmp, **arrays)
            os.replace(tmp_name, path)
        except OSError:
            # A read-only data directory only costs regenerating next time.
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)
    x, y = (arrays["x"], arrays["y"]) if train else (arrays["x_test"], arrays["y_test"])
    return Split(torch.from_numpy(x), torch.from_numpy(y))


# ---------------------------------------------------------------------------------------------------------
# two_moons: SNGP's toy data (repro.data.synthetic), generated with fixed seeds

TWO_MOONS_TRAIN, TWO_MOONS_TEST = 1000, 500  # the tutorial's 1000 training points; a fresh draw for testing


def _load_two_moons(train: bool) -> Split:
    from repro.data.synthetic import two_moons

    x, y = two_moons(TWO_MOONS_TRAIN, seed=0) if train else two_moons(TWO_MOONS_TEST, seed=1)
    return Split(x, y)
