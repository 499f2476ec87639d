"""Tests for repro.data.sources: real on-disk formats written small under tmp_path; no network."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import write_fake_cifar10

import repro.data.sources as sources
import repro.data.sources.fashion_mnist as fashion
import repro.data.sources.mnist1d as mnist1d_source
from repro.data.sources import (
    SOURCES,
    DatasetMissingError,
    data_root,
    load_source,
    source_info,
)

# ---------------------------------------------------------------------------------------------------------
# helpers


def _write_idx(path: Path, array: np.ndarray, magic: int, gz: bool) -> None:
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)


def _write_fake_fashion(directory: Path, gz: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2)
    written = {}
    for prefix, n in (("train", 7), ("t10k", 3)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        _write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, 2051, gz)
        _write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, 2049, gz)
        written[prefix] = (images, labels)
    return written


def _check_fashion(split: sources.Split, images: np.ndarray, labels: np.ndarray) -> None:
    assert split.x.dtype == torch.uint8 and split.y.dtype == torch.int64
    assert split.x.shape == (len(images), 1, 28, 28)
    assert torch.equal(split.x[:, 0], torch.from_numpy(images))
    assert torch.equal(split.y, torch.from_numpy(labels.astype(np.int64)))


# ---------------------------------------------------------------------------------------------------------
# registry


def test_registry_and_unknown_name() -> None:
    blocks = {"lms5", "lms5_d250", "lms5_d250_no_s", "lms5_no_s", "lms7", "noisy_lms7", "noisy50_lms7", "lsn", "ms5",
              "ms7", "ms57", "ms57_d250", "ms57_d250_no_s", "ms57_no_s"}  # the block datasets (repro/data/slabs.py)
    assert set(SOURCES) == {"cifar10", "cifar100", "svhn", "mnist", "fashion_mnist", "digits", "mnist1d", "two_moons",
                            "imdb", "clothing1m", "separable_2d", "mnist_cifar", "mnist_cifar_no_s"} | blocks
    for name, info in SOURCES.items():
        assert info.name == name
        assert (info.mean is None) == (info.std is None)
        if info.image:  # normalised per channel, or not at all (MNIST-CIFAR: the paper's images are unnormalised)
            assert len(info.in_shape) == 3 and (info.mean is None or len(info.mean) == info.in_shape[0])
    assert source_info("cifar100").num_classes == 100
    with pytest.raises(ValueError) as err:
        source_info("imagenet")
    assert "data.init_args.source" in str(err.value)
    assert all(name in str(err.value) for name in SOURCES)
    with pytest.raises(ValueError):
        load_source("imagenet", train=True)


def test_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REPRO_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.delenv("REPRO_DATA")
    assert data_root() == Path("data")


# ---------------------------------------------------------------------------------------------------------
# torchvision sources


def test_cifar10_fake_files(tmp_path: Path, no_md5_check: None, no_network: None) -> None:
    written = write_fake_cifar10(tmp_path)
    train = load_source("cifar10", train=True, root=tmp_path, download=False)
    data = np.concatenate([written[f"data_batch_{k}"][0] for k in range(1, 6)])
    labels = sum((written[f"data_batch_{k}"][1] for k in range(1, 6)), [])
    assert train.x.shape == (20, 3, 32, 32) and train.x.dtype == torch.uint8 and train.x.is_contiguous()
    assert train.y.dtype == torch.int64 and train.y.tolist() == labels
    # A row is channel-major: 1024 red values, then green, then blue, each 32 rows of 32.
    for n, c, i, j in [(0, 0, 0, 0), (0, 1, 5, 7), (3, 2, 31, 31), (19, 1, 30, 2)]:
        assert train.x[n, c, i, j].item() == data[n, c * 1024 + i * 32 + j]
    assert torch.equal(train.x.reshape(20, 3072), torch.from_numpy(data))

    test = load_source("cifar10", train=False, root=tmp_path, download=False)
    assert torch.equal(test.x.reshape(4, 3072), torch.from_numpy(written["test_batch"][0]))
    assert test.y.tolist() == written["test_batch"][1]


def test_missing_cifar10_without_download(tmp_path: Path, no_network: None) -> None:
    with pytest.raises(DatasetMissingError) as err:
        load_source("cifar10", train=True, root=tmp_path, download=False)
    message = str(err.value)
    assert "REPRO_DATA" in message and "cifar-10-batches-py" in message
    assert str(tmp_path.resolve()) in message and "data_batch_1..5" in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_failed_download_is_dataset_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.error import URLError

    import torchvision.datasets.cifar as tv_cifar

    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("no network")

    # torchvision's real download path, cut where it would reach the network.
    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(DatasetMissingError) as err:
        load_source("cifar10", train=False, root=tmp_path, download=True)
    assert "download failed" in str(err.value) and "REPRO_DATA" in str(err.value)
    assert isinstance(err.value.__cause__, URLError)


def test_mnist_fake_raw_files(tmp_path: Path, no_network: None) -> None:
    # torchvision's MNIST only checks that the raw files exist (no md5), so no patching is needed.
    written = _write_fake_fashion(tmp_path / "MNIST" / "raw", gz=False)
    _check_fashion(load_source("mnist", True, root=tmp_path, download=False), *written["train"])
    _check_fashion(load_source("mnist", False, root=tmp_path, download=False), *written["t10k"])


def test_svhn_fake_mat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    import torchvision.datasets.svhn as tv_svhn
    from scipy.io import savemat

    # As for CIFAR: keep torchvision's file-exists check, drop its md5 comparison.
    monkeypatch.setattr(tv_svhn, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(5, 3, 32, 32), dtype=np.uint8)  # NCHW
    labels = np.array([10, 1, 2, 9, 10], dtype=np.uint8)  # SVHN's .mat says 10 for the digit 0
    # The .mat layout is (H, W, C, N) and labels (N, 1).
    savemat(tmp_path / "test_32x32.mat", {"X": images.transpose(2, 3, 1, 0), "y": labels[:, None]})
    split = load_source("svhn", train=False, root=tmp_path, download=False)
    assert split.x.dtype == torch.uint8 and split.x.shape == (5, 3, 32, 32) and split.x.is_contiguous()
    assert torch.equal(split.x, torch.from_numpy(images))
    assert split.y.dtype == torch.int64 and split.y.tolist() == [0, 1, 2, 9, 0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cifar100", "cifar-100-python"), ("svhn", "test_32x32.mat"), ("mnist", "MNIST/raw/")],
)
def test_missing_messages_name_files(tmp_path: Path, no_network: None, name: str, expected: str) -> None:
    with pytest.raises(DatasetMissingError, match="REPRO_DATA") as err:
        load_source(name, train=False, root=tmp_path, download=False)
    assert expected in str(err.value)
    if name == "mnist":
        assert "t10k-images-idx3-ubyte" in str(err.value)


# ---------------------------------------------------------------------------------------------------------
# fashion_mnist


def test_fashion_mnist_gz_in_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    written = _write_fake_fashion(tmp_path / "fashion-mnist", gz=True)
    _check_fashion(load_source("fashion_mnist", True, root=tmp_path, download=False), *written["train"])
    _check_fashion(load_source("fashion_mnist", False, root=tmp_path, download=False), *written["t10k"])


def test_fashion_mnist_raw_in_torchvision_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    written = _write_fake_fashion(tmp_path / "FashionMNIST" / "raw", gz=False)
    _check_fashion(load_source("fashion_mnist", True, root=tmp_path, download=False), *written["train"])


def test_fashion_mnist_real_files(fashion_mnist) -> None:
    """The real dataset, installed by the library's own install path (``repro data fashion_mnist``)."""
    root = fashion_mnist.parent / "no-such-root"  # nothing under $REPRO_DATA: the installed folder is what is found
    train = load_source("fashion_mnist", True, root=root, download=False)
    test = load_source("fashion_mnist", False, root=root, download=False)
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert torch.equal(train.y.bincount(), torch.full((10,), 6000))
    mean, std = (train.x.float() / 255).mean().item(), (train.x.float() / 255).std().item()
    assert mean == pytest.approx(source_info("fashion_mnist").mean[0], abs=1e-3)
    assert std == pytest.approx(source_info("fashion_mnist").std[0], abs=1e-3)


def test_fashion_mnist_system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files in a system folder (Debian's package) are found when $REPRO_DATA has none."""
    root = tmp_path / "empty_root"
    fake_dir = tmp_path / "usr-share-datasets-fashion-mnist"
    written = _write_fake_fashion(fake_dir, gz=True)
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [fake_dir])
    _check_fashion(load_source("fashion_mnist", True, root=root, download=False), *written["train"])
    _check_fashion(load_source("fashion_mnist", False, root=root, download=False), *written["t10k"])


def test_fashion_mnist_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    fake_system = tmp_path / "nowhere"
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [fake_system])
    with pytest.raises(DatasetMissingError) as err:
        load_source("fashion_mnist", True, root=tmp_path, download=False)
    message = str(err.value)
    for place in (tmp_path / "fashion-mnist", tmp_path / "FashionMNIST" / "raw", fake_system):
        assert str(place.resolve()) in message
    assert "make data" in message and "REPRO_DATA" in message


def test_fashion_mnist_failed_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.error import URLError

    import torchvision.datasets.mnist as tv_mnist

    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("no network")

    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get: the Debian route fails too
    with pytest.raises(DatasetMissingError, match="download failed"):
        load_source("fashion_mnist", False, root=tmp_path, download=True)


def test_idx_bad_magic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    _write_fake_fashion(tmp_path / "fashion-mnist", gz=True)
    # Labels written where images belong: magic 2049 instead of 2051.
    _write_idx(tmp_path / "fashion-mnist" / "t10k-images-idx3-ubyte.gz", np.zeros(3, np.uint8), 2049, True)
    with pytest.raises(ValueError, match="magic 2051"):
        load_source("fashion_mnist", False, root=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------------------
# generated / bundled sources


def test_digits() -> None:
    train, test = load_source("digits", True), load_source("digits", False)
    assert train.x.shape == (1200, 64) and test.x.shape == (597, 64)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    both = torch.cat([train.x, test.x])
    assert both.min().item() == 0.0 and both.max().item() == 1.0
    assert set(torch.cat([train.y, test.y]).tolist()) == set(range(10))
    again = load_source("digits", True)
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)


def test_mnist1d_generates_caches_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    package_defaults = get_dataset_args(as_dict=True)
    package_defaults.pop("url")
    assert package_defaults == sources.MNIST1D_ARGS  # the cache key follows the package's defaults

    np.random.seed(123)
    expected_draw = np.random.rand()
    np.random.seed(123)
    train = load_source("mnist1d", True, root=tmp_path)
    assert np.random.rand() == expected_draw  # generation left the global numpy RNG as it was

    assert train.x.shape == (4000, 40) and train.x.dtype == torch.float32
    assert train.y.shape == (4000,) and train.y.dtype == torch.int64
    assert set(train.y.tolist()) == set(range(10)) and source_info("mnist1d").num_classes == 10
    reference = make_dataset(get_dataset_args())
    assert torch.equal(train.x, torch.from_numpy(reference["x"].astype(np.float32)))

    cached = list((tmp_path / "mnist1d").iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".npz"

    def no_generation() -> None:
        raise AssertionError("regenerated instead of using the cache")

    monkeypatch.setattr(mnist1d_source, "_generate_mnist1d", no_generation)
    again = load_source("mnist1d", True, root=tmp_path)
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)
    test = load_source("mnist1d", False, root=tmp_path)
    assert test.x.shape == (1000, 40) and test.y.shape == (1000,)
    assert torch.equal(test.y, torch.from_numpy(reference["y_test"]))
