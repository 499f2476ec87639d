"""TensorDataModule: small datasets held as tensors on the training device.

CIFAR, SVHN, MNIST, digits and MNIST-1D fit in GPU memory many times over; keeping them there and
indexing batches on the device removes the DataLoader from the critical path (README.md, Performance). The
module also owns what every paper varies about the data: label noise (static, drawn once from a transition
matrix), a training subset, a validation split, and the splits that are
evaluated (``val``, ``test`` and the training set itself, against noisy and clean labels).
"""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from repro.data.imbalance import long_tail_counts, long_tail_indices
from repro.data.loaders import DeviceLoader, Normalizer, classic_loader
from repro.data.noise import apply_label_noise, noise_summary, transition_matrix
from repro.data.samplers import ClassBalancedDeviceLoader
from repro.data.seeds import draw_seed
from repro.data.sources import Split, load_source, source_info
from repro.errors import ReproError
from repro.resume import trained_batches


class TensorDataModule(pl.LightningDataModule):
    """A dataset as tensors, with label noise, subsets, splits and on-device augmentation.

    Args:
        source: dataset name (``repro.data.sources.SOURCES``): cifar10, cifar100, svhn, mnist,
            fashion_mnist, digits, mnist1d.
        batch_size: training batch size (per device). ``0`` means full batch.
        eval_batch_size: batch size for evaluation passes.
        label_noise: fraction of training labels replaced by noise, in [0, 1).
        noise_kind: ``uniform_incorrect`` (the paper's "incorrect-only" noise), ``symmetric`` or ``pair``.
        noise_seed: seed of the one-time noise draw (static noise: never redrawn per epoch); ``None`` derives it
            from the run seed, for papers that redraw the noise per seed (``repro.data.seeds``).
        train_size: keep this many training examples (a seeded random subset); ``None`` keeps all.
        val_size: hold out this many training examples as a ``val`` split (clean labels, unless ``noisy_val``).
        noisy_val: draw the label noise over the training and validation examples together and keep the noisy
            labels on ``val`` too (``y`` noisy, ``y_clean`` true), for methods that select models on a noisy
            held-out set.
        split_seed: seed for the subset and the validation split (default: derived from the run seed).
        augment: random crop (zero padding ``crop_padding``) + horizontal flip, image sources only.
        flip: with ``augment``, also flip horizontally (``false``: crops only, e.g. for digits).
        pad_to: zero-pad images to this side length (e.g. 28 → 32 for Fashion-MNIST into a CIFAR ResNet).
        eval_splits: which splits ``val_dataloader`` yields, in order: ``val``, ``test``, ``train``.
        loader: ``device`` (tensors on the device, batched augmentation) or ``classic``
            (torchvision transforms in DataLoader workers).
        num_workers: DataLoader workers for the classic loader.
        root: dataset directory; default ``$REPRO_DATA`` (or ``./data``).
        download: allow torchvision to download missing datasets.
        seed: seed of the per-epoch shuffling and augmentation (default: derived from the run seed).
        imbalance_ratio: make the training split long-tailed with ρ = n_max / n_min (
            ``repro.data.imbalance``); ``None`` keeps it as it is. The test set is never touched.
        imbalance_kind: ``exp`` (n_i = int(n_max · ρ^(−i/(C−1)))) or ``step``.
        imbalance_seed: seed of the per-class subsample (default: derived from the run seed).
        sampler: training order, ``uniform`` (a permutation) or ``class_balanced`` (re-sampling, device
            loader only).
        sampler_start_epoch: first epoch of class-balanced sampling (deferred re-sampling when > 0).
        mean, std: per-channel normalisation of image sources (pixels / 255), in place of the source's own
            training-set statistics (e.g. an original code's constants).
    """

    def __init__(
        self,
        source: str = "digits",
        *,
        batch_size: int = 128,
        eval_batch_size: int = 2048,
        label_noise: float = 0.0,
        noise_kind: str = "uniform_incorrect",
        noise_seed: int | None = 0,
        train_size: int | None = None,
        val_size: int = 0,
        noisy_val: bool = False,
        split_seed: int | None = None,
        augment: bool = False,
        crop_padding: int = 4,
        flip: bool = True,
        pad_to: int | None = None,
        eval_splits: tuple[str, ...] = ("test", "train"),
        loader: Literal["device", "classic"] = "device",
        num_workers: int = 4,
        root: str | None = None,
        download: bool = True,
        seed: int | None = None,
        imbalance_ratio: float | None = None,
        imbalance_kind: str = "exp",
        imbalance_seed: int | None = None,
        sampler: Literal["uniform", "class_balanced"] = "uniform",
        sampler_start_epoch: int = 0,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        self.info = source_info(source)
        # Validate everything a user can get wrong now, before any data is read.
        self.T = transition_matrix(self.info.num_classes, label_noise, noise_kind)
        if batch_size < 0:
            raise ReproError(f"data.init_args.batch_size must be >= 0 (0 = full batch), got {batch_size}")
        unknown = set(eval_splits) - {"val", "test", "train"}
        if unknown:
            raise ReproError(f"data.init_args.eval_splits: unknown split(s) {sorted(unknown)}; use val, test, train")
        if "val" in eval_splits and val_size <= 0:
            raise ReproError("data.init_args.eval_splits asks for 'val' but val_size is 0; set val_size > 0")
        if augment and not self.info.image:
            raise ReproError(f"data.init_args.augment: crop+flip needs an image source, {source!r} is not one")
        if imbalance_ratio is not None:
            long_tail_counts(1_000_000, self.info.num_classes, imbalance_ratio, imbalance_kind)  # validates
        if sampler not in ("uniform", "class_balanced"):
            raise ReproError(f"data.init_args.sampler must be 'uniform' or 'class_balanced', got {sampler!r}")
        if sampler == "class_balanced" and loader != "device":
            raise ReproError("data.init_args.sampler=class_balanced needs loader=device")
        # One run seed drives every draw unless the config pins one (repro.data.seeds); the resolved seeds are
        # recorded with the run's result.
        self.seeds = {"split": draw_seed(split_seed, "split"), "imbalance": draw_seed(imbalance_seed, "imbalance"),
                      "order": draw_seed(seed, "order"), "noise": draw_seed(noise_seed, "noise")}
        self.imbalance_ratio = imbalance_ratio
        self.imbalance_kind = imbalance_kind
        self.imbalance_seed = self.seeds["imbalance"]
        self.sampler = sampler
        self.sampler_start_epoch = sampler_start_epoch
        self.source = source
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.label_noise = label_noise
        self.noise_kind = noise_kind
        self.noise_seed = self.seeds["noise"]
        self.train_size = train_size
        self.val_size = val_size
        self.noisy_val = noisy_val
        self.split_seed = self.seeds["split"]
        self.augment = augment
        self.crop_padding = crop_padding
        self.flip = flip
        self.pad_to = pad_to
        self.eval_splits = tuple(eval_splits)
        self.loader = loader
        self.num_workers = num_workers
        self.root = root
        self.download = download
        self.seed = self.seeds["order"]
        if (mean is None) != (std is None) or (mean is not None and len(mean) != len(std)):
            raise ReproError("data.init_args.mean and std override the source's normalisation together, one value "
                             f"per channel; got mean={mean}, std={std}")
        self.normalize = Normalizer(tuple(mean) if mean is not None else self.info.mean,
                                    tuple(std) if std is not None else self.info.std)
        self.splits: dict[str, dict[str, torch.Tensor]] = {}
        self.noise: dict = {}

    # -- what models need to know before any data is loaded -------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @property
    def in_shape(self) -> tuple[int, ...]:
        if self.pad_to and self.info.image:
            return (self.info.in_shape[0], self.pad_to, self.pad_to)
        return self.info.in_shape

    @property
    def class_counts(self) -> torch.Tensor:
        """Examples per class in the training split (by training label), after subsetting."""
        self._require_setup()
        return torch.bincount(self.splits["train"]["y"].cpu(), minlength=self.num_classes)

    # -- Lightning hooks --------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        # Downloads (or fails with a message naming $REPRO_DATA) once, on rank 0, before setup.
        load_source(self.source, train=True, root=self.root, download=self.download)
        load_source(self.source, train=False, root=self.root, download=self.download)

    def setup_loading_all_classes(self, stage: str | None = None) -> None:
        """The base ``setup``, with ``self.loading_source`` true meanwhile: a subclass that narrows the classes
        (its ``num_classes``) reports the source's own class count while the source's labels are loaded."""
        self.loading_source = True
        try:
            TensorDataModule.setup(self, stage)
        finally:
            self.loading_source = False

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        train = self._pad(load_source(self.source, train=True, root=self.root, download=self.download))
        test = self._pad(load_source(self.source, train=False, root=self.root, download=self.download))
        gen = torch.Generator().manual_seed(self.split_seed)
        order = torch.randperm(len(train.y), generator=gen)
        n_train = len(order) - self.val_size
        if self.train_size is not None:
            if not 0 < self.train_size <= n_train:
                raise ReproError(
                    f"data.init_args.train_size={self.train_size} but {self.source} has {n_train} training "
                    f"examples after the validation split; choose 1..{n_train}"
                )
            n_train = self.train_size
        val_idx, train_idx = order[: self.val_size], order[self.val_size : self.val_size + n_train]
        if self.imbalance_ratio is not None:
            keep = long_tail_indices(
                train.y[train_idx], self.num_classes, self.imbalance_ratio, self.imbalance_kind, self.imbalance_seed
            )
            train_idx = train_idx[keep]
        y_clean, yv = train.y[train_idx], train.y[val_idx]
        noised = torch.cat([y_clean, yv]) if self.noisy_val else y_clean  # val noisy too: one draw over both
        noisy = apply_label_noise(noised, self.T, seed=self.noise_seed) if self.label_noise > 0 else noised
        y, yv_noisy = noisy[: len(y_clean)], (noisy[len(y_clean):] if self.noisy_val else yv)
        self.noise = noise_summary(noised, noisy, self.num_classes, transition=self.T)
        device = self._device()
        self.splits["train"] = self._tensors(train.x[train_idx], y, y_clean, device)
        self.splits["test"] = self._tensors(test.x, test.y, test.y, device)
        if self.val_size:
            self.splits["val"] = self._tensors(train.x[val_idx], yv_noisy, yv, device)

    def train_dataloader(self):
        return self._loader("train", train=True)

    def val_dataloader(self):
        return [self._loader(name, train=False) for name in self.eval_splits]

    def test_dataloader(self):
        return self._loader("test", train=False)

    # -- helpers ----------------------------------------------------------------------------------------
    def _loader(self, split: str, *, train: bool):
        self._require_setup()
        tensors = self.splits[split]
        n = len(tensors["y"])
        batch_size = (self.batch_size or n) if train else min(self.eval_batch_size, n)
        common = dict(batch_size=batch_size, shuffle=train, augment=train and self.augment,
                      padding=self.crop_padding, normalize=self.normalize, flip=self.flip)
        trainer = self.trainer
        progress = {"epoch_fn": (lambda: trainer.current_epoch) if trainer is not None else (lambda: 0),
                    "done_fn": trained_batches(trainer)}
        if self.loader == "classic":
            return classic_loader(tensors, num_workers=self.num_workers, match_seed=self.seed if train else None,
                                  **(progress if train else {}), **common)
        extra = {}
        cls = DeviceLoader
        if train and self.sampler == "class_balanced":
            cls, extra = ClassBalancedDeviceLoader, {"start_epoch": self.sampler_start_epoch}
        return cls(
            tensors,
            seed=self.seed,
            **progress,
            rank=trainer.global_rank if trainer is not None else 0,
            world_size=trainer.world_size if trainer is not None else 1,
            **common,
            **extra,
        )

    def _pad(self, split: Split) -> Split:
        if not (self.pad_to and self.info.image):
            return split
        h, w = split.x.shape[-2:]
        if self.pad_to < max(h, w):
            raise ReproError(f"data.init_args.pad_to={self.pad_to} is smaller than the images ({h}x{w})")
        top, left = (self.pad_to - h) // 2, (self.pad_to - w) // 2
        pads = (left, self.pad_to - w - left, top, self.pad_to - h - top)
        return Split(F.pad(split.x, pads), split.y)

    def _device(self) -> torch.device:
        if self.loader == "device" and self.trainer is not None:
            return self.trainer.strategy.root_device
        return torch.device("cpu")

    @staticmethod
    def _tensors(x, y, y_clean, device) -> dict[str, torch.Tensor]:
        return {"x": x.to(device), "y": y.to(device), "y_clean": y_clean.to(device)}

    def _require_setup(self) -> None:
        if not self.splits:
            self.setup()
