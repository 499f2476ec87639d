"""Two halves of one pool of training images, each in turn the training split and the held-out split.

Prediction depth is computed for an example both when it is trained on (train-PD) and when it is held out (held-out
PD); with runs on ``half: 0`` and ``half: 1`` of the same pool every example gets both. The pool is a random subset
of the source's training images drawn by ``split_seed`` (pin it, so both halves and every seed share one pool);
label noise is drawn on the training half only (the held-out half keeps its true labels).
"""

from __future__ import annotations

import torch

from repro.data.core import TensorDataModule
from repro.data.noise import apply_label_noise, noise_summary
from repro.data.sources import load_source
from repro.errors import ConfigValueError


class SwappedHalves(TensorDataModule):
    """``TensorDataModule`` whose training and ``val`` splits are the two halves of a pool of ``pool_size``
    training images: half ``half`` is trained on, the other held out. ``indices`` maps each split to its examples'
    positions in the pool (0 … pool_size − 1), the key that joins one example's quantities across runs."""

    def __init__(self, source: str = "fashion_mnist", *, pool_size: int = 6000, half: int = 0,
                 eval_splits: tuple[str, ...] = ("val", "train"), **kwargs) -> None:
        if half not in (0, 1):
            raise ConfigValueError(f"data.init_args.half must be 0 or 1, got {half!r}")
        if pool_size < 2 or pool_size % 2:
            raise ConfigValueError(f"data.init_args.pool_size must be an even number ≥ 2, got {pool_size!r}")
        for key in ("val_size", "train_size", "noisy_val", "imbalance_ratio"):
            if kwargs.get(key) not in (None, 0, False):
                raise ConfigValueError(f"data.init_args.{key} is not used by SwappedHalves: the halves of "
                                       "pool_size are the training and held-out splits")
        kwargs.pop("val_size", None)
        super().__init__(source, val_size=pool_size // 2, eval_splits=eval_splits, **kwargs)
        self.pool_size = pool_size
        self.half = half
        self.indices: dict[str, torch.Tensor] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        train = self._pad(load_source(self.source, train=True, root=self.root, download=self.download))
        if self.pool_size > len(train.y):
            raise ConfigValueError(f"data.init_args.pool_size={self.pool_size} but {self.source} has {len(train.y)} "
                                   "training images")
        order = torch.randperm(len(train.y), generator=torch.Generator().manual_seed(self.split_seed))
        pool = order[: self.pool_size]
        n = self.pool_size // 2
        positions = torch.arange(self.pool_size)
        halves = (positions[:n], positions[n:])
        train_pos, held_pos = halves[self.half], halves[1 - self.half]
        y_clean = train.y[pool[train_pos]]
        y = apply_label_noise(y_clean, self.T, seed=self.noise_seed) if self.label_noise > 0 else y_clean
        self.noise = noise_summary(y_clean, y, self.num_classes, transition=self.T)
        device = self._device()
        self.splits["train"] = self._tensors(train.x[pool[train_pos]], y, y_clean, device)
        held_y = train.y[pool[held_pos]]
        self.splits["val"] = self._tensors(train.x[pool[held_pos]], held_y, held_y, device)
        self.indices = {"train": train_pos, "val": held_pos}
