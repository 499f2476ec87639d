"""mnist1d: generated procedurally by the ``mnist1d`` package (no download), cached as .npz under ``$REPRO_DATA``."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import tempfile
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch

from repro.data.sources.registry import SourceInfo, Split, register

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


register(SourceInfo("mnist1d", 10, (40,), False, False, None, None),
         lambda train, root, download: _load_mnist1d(train, root))
