"""``repro data``: install the datasets the quick studies read from outside the Python environment.

Fashion-MNIST ships as Debian's ``dataset-fashion-mnist`` package. Installing it system-wide needs root; this
installs the same four idx files without root: ``apt-get download`` fetches the ``.deb`` from the Debian
registry (refreshing a private package list when the machine has none), and the files are unpacked from it
into ``$REPRO_DATA/fashion-mnist/`` (default ``./data``), where the loader looks first. Without apt, it tries
torchvision's download (needs network). ``make data`` and ``make test`` run it.

    repro data fashion_mnist          # idempotent: says where the files are when they are already there
    repro data fashion_mnist --from-deb dataset-fashion-mnist_*.deb   # a .deb carried to a machine without apt
"""

from __future__ import annotations

import io
import lzma
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from repro.atomic import write_bytes
from repro.data.sources.fashion_mnist import FILES, find_fashion_mnist
from repro.data.sources.registry import DatasetMissingError, data_root

__all__ = ["install_fashion_mnist", "main", "unpack_deb"]

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = "usr/share/datasets/fashion-mnist/"


def _ar_members(blob: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive (a ``.deb`` is one): 8-byte magic, then 60-byte headers and 2-aligned data."""
    if not blob.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    members, pos = {}, 8
    while pos + 60 <= len(blob):
        header = blob[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = blob[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def unpack_deb(deb: bytes, prefix: str, names: tuple[str, ...]) -> dict[str, bytes]:
    """The files ``prefix + name`` of a ``.deb``'s data archive (``data.tar.xz`` or ``.gz``), by name."""
    members = _ar_members(deb)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if data_name is None:
        raise ValueError(f"no data.tar.* in the package (members: {sorted(members)})")
    raw = members[data_name]
    if data_name.endswith(".xz"):
        raw = lzma.decompress(raw)
    found = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
        for member in tar.getmembers():
            path = member.name.removeprefix("./")
            if path.startswith(prefix) and path[len(prefix):] in names and member.isfile():
                found[path[len(prefix):]] = tar.extractfile(member).read()
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"the package lacks {prefix}{missing[0]}")
    return found


def _download_deb(workdir: Path, log) -> Path:
    """``apt-get download`` into ``workdir``; with no package lists on the machine, refresh private ones first."""
    if shutil.which("apt-get") is None:
        raise FileNotFoundError("apt-get")
    run = {"cwd": workdir, "capture_output": True, "text": True}
    first = subprocess.run(["apt-get", "download", DEBIAN_PACKAGE], **run)
    if first.returncode != 0:
        log(f"apt-get download failed ({first.stderr.strip().splitlines()[-1:]}); refreshing a private package list")
        lists, cache = workdir / "lists", workdir / "cache"
        (lists / "partial").mkdir(parents=True)
        (cache / "archives" / "partial").mkdir(parents=True)
        opts = [f"-oDir::State::Lists={lists}", f"-oDir::Cache={cache}", "-oDebug::NoLocking=1"]
        for cmd in (["update"], ["download", DEBIAN_PACKAGE]):
            done = subprocess.run(["apt-get", *opts, *cmd], **run)
            if done.returncode != 0:
                raise RuntimeError(f"apt-get {' '.join(cmd)}: {done.stderr.strip()[-300:]}")
    debs = sorted(workdir.glob(f"{DEBIAN_PACKAGE}_*.deb"))
    if not debs:
        raise RuntimeError("apt-get download wrote no .deb")
    return debs[0]


def install_fashion_mnist(dest: Path | None = None, *, log=print) -> Path:
    """The folder holding the four Fashion-MNIST idx files, installing them into ``dest`` (default
    ``$REPRO_DATA/fashion-mnist``) when no searched folder has them."""
    dest = Path(dest) if dest is not None else data_root() / "fashion-mnist"
    present = find_fashion_mnist(data_root())
    if present is not None:
        log(f"Fashion-MNIST: already installed in {present}")
        return present
    reasons = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            deb = _download_deb(Path(tmp), log)
            for name, blob in unpack_deb(deb.read_bytes(), DEBIAN_DIR, FILES).items():
                write_bytes(dest / name, blob)
            log(f"Fashion-MNIST: unpacked Debian's {deb.name} into {dest}")
            return dest
        except (OSError, RuntimeError, ValueError) as err:
            reasons.append(f"Debian package: {type(err).__name__}: {err}")
    try:
        import torchvision.datasets as tvd

        tvd.FashionMNIST(str(dest.parent), train=True, download=True)
        tvd.FashionMNIST(str(dest.parent), train=False, download=True)
        log(f"Fashion-MNIST: downloaded by torchvision into {dest.parent / 'FashionMNIST' / 'raw'}")
        return dest.parent / "FashionMNIST" / "raw"
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError for a failed download
        reasons.append(f"torchvision download: {type(err).__name__}: {err}")
    raise DatasetMissingError(
        "could not install Fashion-MNIST (" + "; ".join(reasons) + f"). Put {', '.join(FILES)} into {dest}/ "
        "(e.g. from https://github.com/zalandoresearch/fashion-mnist) and rerun.")


def install_from_deb(deb: Path, dest: Path | None = None) -> Path:
    """Unpack the four files from a ``.deb`` already at hand (a machine without a package registry)."""
    dest = Path(dest) if dest is not None else data_root() / "fashion-mnist"
    try:
        files = unpack_deb(Path(deb).read_bytes(), DEBIAN_DIR, FILES)
    except (OSError, ValueError) as err:
        raise DatasetMissingError(f"{deb}: not a usable dataset-fashion-mnist package ({err})") from err
    for name, blob in files.items():
        write_bytes(dest / name, blob)
    return dest


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "fashion_mnist" and argv[1] == "--from-deb":
        print(f"Fashion-MNIST: unpacked {argv[2]} into {install_from_deb(Path(argv[2]))}", file=sys.stderr)
        return 0
    names = argv or ["fashion_mnist"]
    for name in names:
        if name != "fashion_mnist":
            raise DatasetMissingError(f"`repro data` installs fashion_mnist; {name!r} needs no install (the paper-"
                                      "scale datasets download into $REPRO_DATA on first use)")
        install_fashion_mnist(log=lambda msg: print(msg, file=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
