"""clothing1m: Xiao et al.'s Clothing1M (CVPR 2015), about a million clothing photos from shopping sites in 14
classes, labelled from their surrounding text (real, unknown label noise), plus a small human-verified subset.

The images are not downloadable: the dataset's authors give a link on request (github.com/Cysu/noisy_label, the
contact is in its README). Unpacked, ``$REPRO_DATA/clothing1m/`` holds ``images/<0-9>/<..>/<name>.jpg`` and the
annotation files, each line a key (an image path relative to that folder, e.g. ``images/0/00/123.jpg``) and, in the
``*_kv.txt`` files, its class ``0..13`` after a space:

- ``noisy_label_kv.txt``: the text-derived label of every image that has one;
- ``clean_label_kv.txt``: the verified label of every image that has one;
- ``noisy_train_key_list.txt`` (1,000,000 keys), ``clean_train_key_list.txt`` (47,570), ``clean_val_key_list.txt``
  (14,313), ``clean_test_key_list.txt`` (10,526): the standard splits.

A million JPEGs do not fit in memory as tensors, so this source is a list of files and labels
(:func:`image_list`), streamed by ``repro.data.image_files.ImageFileDataModule``; its registry entry gives its facts
(14 classes, ImageNet statistics) and its loader only checks the files and says which datamodule to use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from repro.data.sources.registry import DatasetMissingError, SourceInfo, Split, data_root, missing_message, register
from repro.errors import ConfigValueError

FOLDER = "clothing1m"
NUM_CLASSES = 14
NOISY_KV, CLEAN_KV = "noisy_label_kv.txt", "clean_label_kv.txt"
# split → (its key list, the labels its images get: the text-derived "noisy" ones or the verified "clean" ones)
SPLITS: dict[str, tuple[str, str]] = {
    "noisy_train": ("noisy_train_key_list.txt", "noisy"),
    "clean_train": ("clean_train_key_list.txt", "clean"),
    "clean_val": ("clean_val_key_list.txt", "clean"),
    "clean_test": ("clean_test_key_list.txt", "clean"),
}
FILES = (NOISY_KV, CLEAN_KV, *(keys for keys, _ in SPLITS.values()))
REQUEST = ("Clothing1M cannot be downloaded: request it from its authors (github.com/Cysu/noisy_label, the contact is "
           "in its README), then unpack the images and the annotation files into $REPRO_DATA/clothing1m/.")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class ImageList:
    """One split as files: image paths (``root / key``), training labels ``y`` and verified labels ``y_clean``
    (int64; −1 where an image has no verified label, as most noisy-training images have none)."""

    root: Path
    keys: list[str]
    y: torch.Tensor
    y_clean: torch.Tensor

    def __len__(self) -> int:
        return len(self.keys)

    def path(self, i: int) -> Path:
        return self.root / self.keys[i]


def folder(root: str | Path | None = None) -> Path:
    return (Path(root).expanduser() if root is not None else data_root()) / FOLDER


def check_files(root: str | Path | None = None) -> Path:
    """The dataset folder, or one :class:`DatasetMissingError` naming every annotation file that is missing."""
    where = folder(root)
    missing = [f for f in FILES if not (where / f).is_file()]
    if missing or not (where / "images").is_dir():
        expected = "$REPRO_DATA/clothing1m/images/…/*.jpg and " + ", ".join(f"$REPRO_DATA/clothing1m/{f}"
                                                                            for f in FILES)
        absent = ", ".join([*missing, *([] if (where / "images").is_dir() else ["images/"])])
        raise DatasetMissingError(missing_message("clothing1m", str(where.resolve()), expected,
                                                  f"Missing: {absent}. {REQUEST}"))
    return where


def _read_keys(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _read_labels(path: Path) -> dict[str, int]:
    labels = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) >= NUM_CLASSES:
            raise ConfigValueError(f"{path}:{n}: expected '<image key> <class 0..{NUM_CLASSES - 1}>', got {line!r}; "
                                   "the file is not Clothing1M's (or is damaged): unpack the annotations again")
        labels[parts[0]] = int(parts[1])
    return labels


def image_list(split: str, root: str | Path | None = None) -> ImageList:
    """The images and labels of one split (:data:`SPLITS`): ``noisy_train`` with its text-derived labels (and
    the verified label where one exists), the ``clean_*`` splits with their verified labels."""
    if split not in SPLITS:
        raise ConfigValueError(f"unknown clothing1m split {split!r}; use one of {list(SPLITS)}")
    where = check_files(root)
    key_file, kind = SPLITS[split]
    keys = _read_keys(where / key_file)
    clean = _read_labels(where / CLEAN_KV)
    labels = _read_labels(where / NOISY_KV) if kind == "noisy" else clean
    absent = [k for k in keys if k not in labels]
    if absent:
        raise ConfigValueError(f"{where / key_file}: {len(absent)} key(s) have no label in "
                               f"{NOISY_KV if kind == 'noisy' else CLEAN_KV} (first: {absent[0]!r}); the annotation "
                               "files do not belong together: unpack them again")
    y = torch.tensor([labels[k] for k in keys], dtype=torch.int64)
    y_clean = torch.tensor([clean.get(k, -1) for k in keys], dtype=torch.int64)
    return ImageList(where, keys, y, y_clean)


def _load_clothing1m(train: bool, root: Path, download: bool) -> Split:
    check_files(root)
    raise ConfigValueError("data source 'clothing1m' is about a million JPEG files and is streamed from disk, not "
                           "loaded as tensors: use data.class_path: repro.data.image_files.ImageFileDataModule")


register(SourceInfo("clothing1m", NUM_CLASSES, (3, 224, 224), True, False, IMAGENET_MEAN, IMAGENET_STD),
         _load_clothing1m)
