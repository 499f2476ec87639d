"""Tiny datasets in their real on-disk formats, written by the tests (no network, no real data)."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np


class _Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` with Python 2 ``str`` opcodes, as in the real CIFAR pickles (made by Python 2).

    Such a file loads with ``b'data'`` keys under ``encoding='bytes'`` (CIFAR's own instructions) and with
    ``'data'`` keys under ``encoding='latin1'`` (what torchvision uses), just like the real files.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def write_py2_pickle(path: Path, obj: object) -> None:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())


def write_fake_cifar10(root: Path, per_batch: int = 4) -> dict[str, tuple[np.ndarray, list[int]]]:
    """A tiny CIFAR-10 in the real layout; returns each file's (data, labels)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    written = {}
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        entry = {
            b"batch_label": f"batch {i}".encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [f"img_{i}_{j}.png".encode() for j in range(per_batch)],
        }
        write_py2_pickle(folder / name, entry)
        written[name] = (data, labels)
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer")]
    names += [n.encode() for n in ("dog", "frog", "horse", "ship", "truck")]
    meta = {b"num_cases_per_batch": per_batch, b"label_names": names, b"num_vis": 3072}
    write_py2_pickle(folder / "batches.meta", meta)
    return written


def write_fake_cifar100(root: Path, n_train: int = 1000, n_test: int = 200) -> dict[str, tuple[np.ndarray, list[int]]]:
    """A small CIFAR-100 in the real layout (``cifar-100-python/train, test, meta``); train labels are
    balanced so long-tailed subsets of it exist; returns each file's (data, fine labels)."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    written = {}
    for name, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        fine = [i % 100 for i in range(n)]
        entry = {
            b"filenames": [f"img_{name}_{j}.png".encode() for j in range(n)],
            b"batch_label": name.encode(),
            b"fine_labels": fine,
            b"coarse_labels": [f // 5 for f in fine],
            b"data": data,
        }
        write_py2_pickle(folder / name, entry)
        written[name] = (data, fine)
    meta = {b"fine_label_names": [f"class_{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"super_{i}".encode() for i in range(20)]}
    write_py2_pickle(folder / "meta", meta)
    return written


# Fakes the config smoke test writes for a source that would otherwise need a download: big enough that a
# long-tailed subset (ρ=100: tail class ≥ 1 image), a full batch of 128 and, beside a 10 % validation split of the
# real set's size (5000), a training batch exist.
FAKE_SOURCES = {
    "cifar10": lambda root: write_fake_cifar10(root, per_batch=1100),
    "cifar100": lambda root: write_fake_cifar100(root, n_train=10000, n_test=200),
}


def write_fake_svhn(root: Path, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """A small SVHN in the real format (``{train,test}_32x32.mat``: ``X`` (32, 32, 3, N) uint8, ``y`` (N, 1) with
    label 10 for the digit 0), written with scipy; returns (X, y) of the test file."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for split in ("train", "test"):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(n, 1).astype(np.uint8)
        savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
    return x, y


FAKE_SOURCES["svhn"] = write_fake_svhn


def write_fake_mnist(root: Path, n_train: int = 6400, n_test: int = 100) -> None:
    """A small MNIST in torchvision's raw form (``MNIST/raw/*-ubyte``, big-endian idx files, no md5 check): enough
    training images for a 10 % validation split of the full set's size (6000) plus a batch."""
    import struct

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


FAKE_SOURCES["mnist"] = write_fake_mnist


def write_fake_imdb(root: Path, n_train: int = 2600, n_test: int = 100) -> None:
    """A small IMDB in Keras' ``imdb.npz`` form (``x_*``: object arrays of word-rank lists of varying length,
    ``y_*``: 0/1): enough training reviews for a 10 % validation split of the full set's size (2500) plus a batch."""
    folder = root / "imdb"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(6)

    def reviews(n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = [int(w) for w in rng.integers(1, 9000, size=int(rng.integers(5, 600)))]
        return out

    np.savez(folder / "imdb.npz", x_train=reviews(n_train), y_train=np.arange(n_train) % 2,
             x_test=reviews(n_test), y_test=np.arange(n_test) % 2)


FAKE_SOURCES["imdb"] = write_fake_imdb


def write_fake_clothing1m(root: Path, n_noisy: int = 24, n_clean_train: int = 8, n_val: int = 6,
                          n_test: int = 6) -> dict[str, list[tuple[str, int]]]:
    """A tiny Clothing1M in the official layout (``clothing1m/images/<d>/<dd>/<n>.jpg`` of varying sizes and the
    six annotation files, ``<key> <label>`` or ``<key>`` per line). As in the real set, the first few noisy-training
    images also have a verified label, and ``noisy_label_kv.txt`` also labels images outside the noisy split.
    Returns each split's (key, label) pairs: the noisy labels for ``noisy_train``, the verified ones otherwise, and
    ``overlap`` (key, verified label) for the noisy-training images that have one."""
    from PIL import Image

    folder = root / "clothing1m"
    rng = np.random.default_rng(7)
    sizes = {"noisy_train": n_noisy, "clean_train": n_clean_train, "clean_val": n_val, "clean_test": n_test}
    keys: dict[str, list[str]] = {}
    count = 0
    for split, n in sizes.items():
        keys[split] = []
        for _ in range(n):
            key = f"images/{count % 10}/{count % 100:02d}/{1000 + count}.jpg"
            h, w = (int(v) for v in rng.integers(20, 48, size=2))
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)).save(folder / key, quality=90)
            keys[split].append(key)
            count += 1
    noisy = {k: int(rng.integers(0, 14)) for k in keys["noisy_train"] + keys["clean_train"]}
    clean = {k: i % 14 for i, k in enumerate(keys["clean_train"] + keys["clean_val"] + keys["clean_test"])}
    overlap = keys["noisy_train"][:5]
    clean.update({k: (noisy[k] + i) % 14 for i, k in enumerate(overlap)})  # 4 of 5 verified labels differ
    (folder / "noisy_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in noisy.items()))
    (folder / "clean_label_kv.txt").write_text("".join(f"{k} {v}\n" for k, v in clean.items()))
    for split, names in keys.items():
        (folder / f"{split}_key_list.txt").write_text("".join(f"{k}\n" for k in names))
    out = {split: [(k, (noisy if split == "noisy_train" else clean)[k]) for k in names]
           for split, names in keys.items()}
    out["overlap"] = [(k, clean[k]) for k in overlap]
    return out


FAKE_SOURCES["clothing1m"] = write_fake_clothing1m


def write_fake_mnist_cifar(root: Path) -> None:
    """Both sources of the stacked ``mnist_cifar`` pair, each in its real on-disk format."""
    write_fake_mnist(root)
    FAKE_SOURCES["cifar10"](root)


FAKE_SOURCES["mnist_cifar"] = write_fake_mnist_cifar
FAKE_SOURCES["mnist_cifar_no_s"] = write_fake_mnist_cifar
