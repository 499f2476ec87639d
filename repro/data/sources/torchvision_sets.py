"""Sources torchvision downloads: cifar10, cifar100, svhn, mnist (into ``$REPRO_DATA``)."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch

from repro.data.sources.registry import DatasetMissingError, SourceInfo, Split, missing_message, register

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


def _load_torchvision(name: str, train: bool, root: Path, download: bool) -> Split:
    files, shown = _expected_files(name, train)
    present = all((root / f).is_file() for f in files)
    looked_in = str(root.resolve())
    if not present and not download:
        reason = "download=False, so nothing was downloaded; downloading needs network access."
        raise DatasetMissingError(missing_message(name, looked_in, shown, reason))

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
        raise DatasetMissingError(missing_message(name, looked_in, shown, reason)) from e

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




# Normalisation stats: the training split's per-channel mean and standard deviation (pixels / 255).
for _info in (
    SourceInfo("cifar10", 10, (3, 32, 32), True, True, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    SourceInfo("cifar100", 100, (3, 32, 32), True, True, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    SourceInfo("svhn", 10, (3, 32, 32), True, True, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    SourceInfo("mnist", 10, (1, 28, 28), True, True, (0.1307,), (0.3081,)),
):
    register(_info, lambda train, root, download, _name=_info.name: _load_torchvision(_name, train, root, download))
