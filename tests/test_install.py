"""`repro data fashion_mnist`: unpacking Debian's package without root, on a fake `apt-get` and a tiny `.deb`
written here in the real format (an ar archive holding data.tar.xz)."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import stat
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

import repro.data.install as install
import repro.data.sources.fashion_mnist as fashion
from repro.data.sources import DatasetMissingError, load_source


def _idx(array: np.ndarray, magic: int) -> bytes:
    return gzip.compress(struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def _fake_deb(images: dict[str, np.ndarray]) -> bytes:
    files = {}
    for prefix, x in images.items():
        files[f"{prefix}-images-idx3-ubyte.gz"] = _idx(x, 2051)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = _idx((np.arange(len(x)) % 10).astype(np.uint8), 2049)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./usr/share/datasets/fashion-mnist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return _ar({"debian-binary": b"2.0\n", "control.tar.xz": lzma.compress(b""),
                "data.tar.xz": lzma.compress(buf.getvalue())})


def _fake_apt(bin_dir: Path, deb: Path, log: Path) -> None:
    """An `apt-get` that, like a machine with no package lists, refuses `download` until `update` ran with a
    private list folder; then writes the .deb into the current directory."""
    bin_dir.mkdir()
    script = bin_dir / "apt-get"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$*" in
  *Dir::State::Lists*update*) touch "$PWD/.updated"; exit 0 ;;
  *download*) if [ -e "$PWD/.updated" ]; then cp {deb} "$PWD/dataset-fashion-mnist_1.0_all.deb"; exit 0; fi
              echo "E: Unable to locate package dataset-fashion-mnist" >&2; exit 100 ;;
esac
exit 1
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A fake apt-get on PATH that serves a fake dataset-fashion-mnist .deb; $REPRO_DATA empty. Returns (root,
    images by split)."""
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "t10k": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)}
    (tmp_path / "pkg.deb").write_bytes(_fake_deb(images))
    _fake_apt(tmp_path / "bin", tmp_path / "pkg.deb", tmp_path / "apt.log")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    root = tmp_path / "data"
    monkeypatch.setenv("REPRO_DATA", str(root))
    return root, images


def test_installs_from_a_debian_package_without_root(tmp_path, fake_package):
    root, images = fake_package
    where = install.install_fashion_mnist(log=lambda msg: None)
    assert where == root / "fashion-mnist" and sorted(p.name for p in where.iterdir()) == sorted(fashion.FILES)
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0] == "download dataset-fashion-mnist" and "update" in calls[1]  # the private-list fallback ran
    train = load_source("fashion_mnist", True, root=root, download=False)
    assert np.array_equal(train.x[:, 0].numpy(), images["train"])
    assert install.install_fashion_mnist(log=lambda msg: None) == where  # a second call finds it: no apt-get
    assert len((tmp_path / "apt.log").read_text().splitlines()) == len(calls)


def test_a_study_that_finds_no_files_installs_them_as_repro_data_does(fake_package):
    # `make reproduce-prediction-depth SCALE=quick` on a fresh clone: the loader installs the package itself
    root, images = fake_package
    test = load_source("fashion_mnist", False, root=root, download=True)
    assert np.array_equal(test.x[:, 0].numpy(), images["t10k"])
    assert sorted(p.name for p in (root / "fashion-mnist").iterdir()) == sorted(fashion.FILES)


def test_without_apt_or_network_one_error_names_the_files(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get
    monkeypatch.setattr(fashion, "FASHION_MNIST_SYSTEM_DIRS", [])
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetMissingError) as err:
        install.install_fashion_mnist(log=lambda msg: None)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path / "data" / "fashion-mnist") in message


def test_unpack_deb_rejects_a_package_without_the_files():
    with pytest.raises(ValueError, match="lacks"):
        install.unpack_deb(_fake_deb({"train": np.zeros((1, 28, 28), np.uint8)}), install.DEBIAN_DIR, fashion.FILES)


def test_the_cli_installs_only_what_needs_installing(capsys):
    from repro.cli import main

    assert main(["data", "cifar10"]) == 2
    assert "needs no install" in capsys.readouterr().err


def test_a_carried_deb_unpacks_without_apt(tmp_path, monkeypatch):
    from repro.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get: a machine without a package registry
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "data"))
    images = {"train": np.full((3, 28, 28), 7, np.uint8), "t10k": np.full((2, 28, 28), 9, np.uint8)}
    (tmp_path / "carried.deb").write_bytes(_fake_deb(images))
    assert main(["data", "fashion_mnist", "--from-deb", str(tmp_path / "carried.deb")]) == 0
    test = load_source("fashion_mnist", False, root=tmp_path / "data", download=False)
    assert np.array_equal(test.x[:, 0].numpy(), images["t10k"])
    (tmp_path / "broken.deb").write_bytes(b"not a package")
    assert main(["data", "fashion_mnist", "--from-deb", str(tmp_path / "broken.deb")]) == 2
