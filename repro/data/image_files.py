"""ImageFileDataModule: a dataset too large for memory, decoded from its JPEG files in DataLoader workers.

The library's :class:`~repro.data.core.TensorDataModule` holds a whole dataset as tensors on the device; a million
full-size photos do not fit there. This module is the streaming counterpart, kept as small as the one source that
needs it (``clothing1m``) allows: a map-style dataset that opens one file per example with PIL and applies the
usual ImageNet transforms — training: shorter side resized to ``resize``, a random ``crop`` × ``crop`` crop and a
horizontal flip; evaluation: the same resize and a centre crop; both normalised with the source's channel
statistics. Batches are the same dicts the tensor path yields (``x``, ``y``, ``y_clean``, ``index``). The labels
are the dataset's own (no synthetic noise: there is no known T, so ``T`` is ``None``); ``noise`` summarises them
against the verified labels on the images that have both.
"""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from repro.data.noise import noise_summary
from repro.data.seeds import draw_seed
from repro.data.sources import clothing1m, source_info
from repro.errors import ConfigValueError

# source → (its splits, the function giving one split's files and labels)
FILE_SOURCES: dict[str, tuple[dict, Callable]] = {"clothing1m": (clothing1m.SPLITS, clothing1m.image_list)}


class JpegDataset(Dataset):
    """One split's images, decoded and transformed per example (in the DataLoader's workers)."""

    def __init__(self, images: clothing1m.ImageList, transform: Callable) -> None:
        self.images = images
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        from PIL import Image

        with Image.open(self.images.path(i)) as img:
            x = self.transform(img.convert("RGB"))
        return {"x": x, "y": self.images.y[i], "y_clean": self.images.y_clean[i], "index": torch.tensor(i)}


def image_transform(train: bool, *, resize: int, crop: int, flip: bool, mean, std) -> Callable:
    """PIL image → normalised float tensor (3, crop, crop): random crop (+ flip) for training, centre crop else."""
    from torchvision.transforms import v2

    steps = [v2.Resize(resize, antialias=True)]
    steps += [v2.RandomCrop(crop), *([v2.RandomHorizontalFlip()] if flip else [])] if train else [v2.CenterCrop(crop)]
    return v2.Compose([v2.PILToTensor(), *steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])


class ImageFileDataModule(pl.LightningDataModule):
    """A file-list source (``clothing1m``) streamed from disk.

    Args:
        source: the file-list source (:data:`FILE_SOURCES`).
        train_split: the split trained on (clothing1m: ``noisy_train``, or ``clean_train`` for the verified 47.5k).
        val_split, test_split: the splits evaluated as ``val`` and ``test`` (clothing1m: ``clean_val``,
            ``clean_test``).
        eval_splits: which splits ``val_dataloader`` yields, in order (``val``, ``test``, ``train``).
        train_size: keep a seeded random subset of this many training images (``None``: all).
        batch_size, eval_batch_size: per-device batch sizes.
        num_workers: DataLoader worker processes decoding JPEGs.
        resize, crop, flip: the transforms (shorter side → ``resize``; ``crop`` × ``crop`` crops; flips in training).
        mean, std: channel normalisation (default: the source's, ImageNet's for clothing1m).
        root: data directory (default ``$REPRO_DATA``); download: accepted for symmetry, these files are never
            downloaded.
        seed: seed of the epoch order and the augmentation draws; split_seed: of the training subset (both
            default to values derived from the run seed, ``repro.data.seeds``).
    """

    T = None  # real label noise: no known transition matrix

    def __init__(self, source: str = "clothing1m", *, train_split: str = "noisy_train", val_split: str = "clean_val",
                 test_split: str = "clean_test", eval_splits: tuple[str, ...] = ("val", "test"),
                 train_size: int | None = None, batch_size: int = 32, eval_batch_size: int = 128,
                 num_workers: int = 8, resize: int = 256, crop: int = 224, flip: bool = True,
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None,
                 root: str | None = None, download: bool = False, seed: int | None = None,
                 split_seed: int | None = None) -> None:
        super().__init__()
        if source not in FILE_SOURCES:
            raise ConfigValueError(f"data.init_args.source={source!r}: ImageFileDataModule streams "
                                   f"{list(FILE_SOURCES)}; small datasets use repro.data.core.TensorDataModule")
        splits, self._image_list = FILE_SOURCES[source]
        for key, split in (("train_split", train_split), ("val_split", val_split), ("test_split", test_split)):
            if split not in splits:
                raise ConfigValueError(f"data.init_args.{key}={split!r}: {source} has the splits {list(splits)}")
        unknown = set(eval_splits) - {"val", "test", "train"}
        if unknown:
            raise ConfigValueError(f"data.init_args.eval_splits: unknown split(s) {sorted(unknown)}; use val, test, "
                                   "train")
        if "train" in eval_splits and train_split.startswith("noisy"):
            raise ConfigValueError(f"data.init_args.eval_splits: 'train' ({train_split}) has no verified label for "
                                   "most images, so its clean accuracy is undefined; evaluate val and test")
        if batch_size < 1 or eval_batch_size < 1:
            raise ConfigValueError(f"data.init_args.batch_size and eval_batch_size must be >= 1, got {batch_size}, "
                                   f"{eval_batch_size}")
        if crop > resize:
            raise ConfigValueError(f"data.init_args.crop={crop} is larger than resize={resize}; crop <= resize")
        self.info = source_info(source)
        self.source, self.root, self.download = source, root, download
        clothing1m.check_files(root)  # a missing dataset stops here, before any model (or its weights) is built
        self.split_names = {"train": train_split, "val": val_split, "test": test_split}
        self.eval_splits = tuple(eval_splits)
        self.train_size, self.batch_size, self.eval_batch_size = train_size, batch_size, eval_batch_size
        self.num_workers = num_workers
        self.resize, self.crop, self.flip = resize, crop, flip
        if (mean is None) != (std is None):
            raise ConfigValueError("data.init_args.mean and std are given together, one value per channel")
        self.mean = tuple(mean) if mean is not None else self.info.mean
        self.std = tuple(std) if std is not None else self.info.std
        self.splits: dict[str, clothing1m.ImageList] = {}
        self.noise: dict = {}  # the noisy labels against the verified ones, where an image has both (setup)
        self.seeds = {"order": draw_seed(seed, "order"), "split": draw_seed(split_seed, "split")}

    @property
    def in_shape(self) -> tuple[int, ...]:
        """One example as the model sees it: an RGB crop."""
        return (3, self.crop, self.crop)

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    def prepare_data(self) -> None:
        for split in dict.fromkeys(self.split_names.values()):
            self._image_list(split, self.root)  # parses every annotation file: bad files stop the study here

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        for name, split in self.split_names.items():
            self.splits[name] = self._image_list(split, self.root)
        train = self.splits["train"]
        if self.train_size is not None:
            if not 0 < self.train_size <= len(train):
                raise ConfigValueError(f"data.init_args.train_size={self.train_size}: the {self.split_names['train']} "
                                       f"split has {len(train)} images; choose 1..{len(train)}")
            keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seeds["split"]))
            keep = keep[: self.train_size].sort().values
            self.splits["train"] = clothing1m.ImageList(train.root, [train.keys[i] for i in keep.tolist()],
                                                        train.y[keep], train.y_clean[keep])
        train = self.splits["train"]
        both = train.y_clean >= 0  # the training images with a verified label as well: the noise they show
        self.noise = {"verified_overlap": noise_summary(train.y_clean[both], train.y[both], self.num_classes)}

    def _dataset(self, split: str, train: bool) -> JpegDataset:
        if not self.splits:
            self.setup()
        return JpegDataset(self.splits[split], image_transform(train, resize=self.resize, crop=self.crop,
                                                                flip=self.flip, mean=self.mean, std=self.std))

    def _loader(self, split: str, *, train: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seeds["order"]) if train else None
        return DataLoader(self._dataset(split, train), batch_size=self.batch_size if train else self.eval_batch_size,
                          shuffle=train, generator=generator, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0, pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> list[DataLoader]:
        return [self._loader(name, train=False) for name in self.eval_splits]

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)

    def predict_loader(self, split: str) -> DataLoader:
        """A split's images in order, with the evaluation transform (e.g. a model's softmax over its training
        inputs); each batch is a dict with ``x``."""
        return DataLoader(self._dataset(split, train=False), batch_size=self.eval_batch_size, shuffle=False,
                          num_workers=self.num_workers, pin_memory=torch.cuda.is_available())
