"""Batch iterators over tensors: the device-resident fast path and the classic DataLoader path.

Every batch is a dict: ``x`` (inputs, float), ``y`` (training labels, possibly noisy), ``y_clean``
(true labels) and ``index`` (position in the split), so methods that need more than (x, y) — clean
labels, per-example weights — find it without a new loader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from repro.data.augment import crop_flip_params, random_crop_flip
from repro.resume import ResumableOrder


def shard_indices(perm: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's disjoint share of an epoch's permutation.

    All ranks draw the same permutation; each takes a contiguous chunk of ``len // world_size``
    examples (the remainder, a different few each epoch, is dropped so every rank runs the same
    number of steps, as DDP requires).
    """
    per_rank = len(perm) // world_size
    return perm[rank * per_rank : (rank + 1) * per_rank]


class Normalizer:
    """uint8 images → float, scaled to [0, 1] and standardised per channel; float data pass through."""

    def __init__(self, mean: tuple[float, ...] | None, std: tuple[float, ...] | None) -> None:
        self.mean = torch.tensor(mean).view(1, -1, 1, 1) if mean else None
        self.std = torch.tensor(std).view(1, -1, 1, 1) if std else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x.float()
        x = x.float().div_(255)
        if self.mean is not None:
            x = x.sub_(self.mean.to(x.device)).div_(self.std.to(x.device))
        return x


def epoch_order(n: int, *, shuffle: bool, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """This rank's example order for an epoch: a permutation seeded by ``seed`` and the epoch (so a resumed run
    sees the same order), sharded by rank; without shuffling, strided shards that cover every example exactly
    once across ranks (evaluation)."""
    if not shuffle:
        return torch.arange(rank, n, world_size)
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return shard_indices(torch.randperm(n, generator=gen), rank, world_size)


def augment_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of an epoch's crop/flip draws on one rank (shared by the device and the matched classic path)."""
    return (seed * 1_000_003 + epoch) * 97 + rank


class DeviceLoader(ResumableOrder):
    """Batches indexed straight out of tensors that already live on the training device.

    One permutation per epoch (seeded by ``seed`` and the epoch, so a resumed run sees the same
    order), sharded by rank, crop+flip applied to the whole batch in one op on the device. No
    worker processes, no host→device copies per step. Resumable mid-epoch (:class:`repro.resume.ResumableOrder`,
    ``done_fn`` counting the epoch's trained batches): a resumed epoch starts at its first untrained batch, the
    crop/flip generator advanced past the skipped batches' draws.
    """

    def __init__(
        self,
        tensors: dict[str, torch.Tensor],
        *,
        batch_size: int,
        shuffle: bool,
        augment: bool,
        padding: int,
        normalize: Normalizer,
        seed: int = 0,
        epoch_fn: Callable[[], int] = lambda: 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        flip: bool = True,
        done_fn: Callable[[], int] | None = None,
    ) -> None:
        self.tensors = tensors
        self.flip = flip
        if done_fn is not None:
            self.done_fn = done_fn
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.padding = padding
        self.normalize = normalize
        self.seed = seed
        self.epoch_fn = epoch_fn
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last

    @property
    def num_examples(self) -> int:
        n = len(self.tensors["y"])
        return n // self.world_size if self.shuffle else len(range(self.rank, n, self.world_size))

    def __len__(self) -> int:
        n = self.num_examples
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_indices(self) -> torch.Tensor:
        return epoch_order(len(self.tensors["y"]), shuffle=self.shuffle, seed=self.seed, epoch=self.epoch_fn(),
                           rank=self.rank, world_size=self.world_size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        device = self.tensors["x"].device
        epoch = self.epoch_fn()
        idx = self.epoch_indices().to(device)
        start = self.resume_from(epoch, len(self))
        gen = None
        if self.augment:
            gen = torch.Generator(device=device)
            gen.manual_seed(augment_seed(self.seed, epoch, self.rank))
            for i in range(start):  # the draws of the batches trained before the resume
                crop_flip_params(len(idx[i * self.batch_size : (i + 1) * self.batch_size]), self.padding, gen, device)
        for i in range(start, len(self)):
            b = idx[i * self.batch_size : (i + 1) * self.batch_size]
            x = self.tensors["x"][b]
            if self.augment:
                x = random_crop_flip(x, padding=self.padding, flip=self.flip, generator=gen)
            batch = {k: v[b] for k, v in self.tensors.items() if k != "x"}
            batch["x"] = self.normalize(x)
            batch["index"] = b
            yield batch


class _TransformDataset(Dataset):
    """Per-example torchvision transforms, for the classic DataLoader path."""

    def __init__(self, tensors: dict[str, torch.Tensor], transform: Callable | None, normalize: Normalizer):
        self.tensors = tensors
        self.transform = transform
        self.normalize = normalize

    def __len__(self) -> int:
        return len(self.tensors["y"])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x = self.tensors["x"][i]
        if self.transform is not None:
            x = self.transform(x)
        item = {k: v[i] for k, v in self.tensors.items() if k != "x"}
        item["x"] = self.normalize(x.unsqueeze(0))[0] if x.dtype == torch.uint8 else x.float()
        item["index"] = torch.tensor(i)
        return item


class _EpochBatches(ResumableOrder):
    """Batch sampler with :class:`DeviceLoader`'s order: each batch is a list of ``(index, epoch, batch
    number)``, so the workers can draw the same crop/flip parameters the device path draws. The epoch is
    ``epoch_fn()`` (the trainer's) when given, else counted per iteration."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int, drop_last: bool,
                 epoch_fn: Callable[[], int] | None = None, done_fn: Callable[[], int] | None = None) -> None:
        self.n, self.batch_size, self.shuffle, self.seed, self.drop_last = n, batch_size, shuffle, seed, drop_last
        self.epoch = 0
        self.epoch_fn = epoch_fn or (lambda: self.epoch)
        if done_fn is not None:
            self.done_fn = done_fn

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        epoch = self.epoch_fn()
        idx = epoch_order(self.n, shuffle=self.shuffle, seed=self.seed, epoch=epoch).tolist()
        bs = self.batch_size
        for b in range(self.resume_from(epoch, len(self)), len(self)):
            yield [(i, epoch, b) for i in idx[b * bs : (b + 1) * bs]]
        self.epoch += 1


class ResumableDataLoader(DataLoader):
    """A DataLoader Lightning sees as stateful: its state is its batch sampler's (:class:`_EpochBatches`)."""

    def state_dict(self) -> dict[str, int]:
        return self.batch_sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.load_state_dict(state)


class _MatchedCropFlip:
    """Per-example crop + flip in the DataLoader workers (the classic cost profile) with the parameters
    :class:`DeviceLoader` draws for the same epoch and batch: a per-epoch generator replayed forward batch by
    batch (a worker sees its batches in increasing order, so each is drawn once)."""

    def __init__(self, augment: bool, padding: int, seed: int, batch_size: int, normalize: Normalizer,
                 flip: bool = True) -> None:
        self.augment, self.padding, self.seed, self.flip = augment, padding, seed, flip
        self.batch_size, self.normalize = batch_size, normalize
        self.state: tuple[int, int, torch.Generator] | None = None  # (epoch, next batch, generator)

    def params(self, epoch: int, b: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.state is None or self.state[0] != epoch or self.state[1] > b:
            self.state = (epoch, 0, torch.Generator().manual_seed(augment_seed(self.seed, epoch)))
        _, nxt, gen = self.state
        for _ in range(nxt, b):  # earlier batches are full ones
            crop_flip_params(self.batch_size, self.padding, gen, "cpu")
        self.state = (epoch, b + 1, gen)
        return crop_flip_params(n, self.padding, gen, "cpu")

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        import torchvision.transforms.v2.functional as TF

        batch = {k: torch.stack([it[k] for it in items]) for k in items[0] if k not in ("x", "epoch", "batch")}
        if not self.augment:
            batch["x"] = self.normalize(torch.stack([it["x"] for it in items]))
            return batch
        top, left, flip = self.params(int(items[0]["epoch"]), int(items[0]["batch"]), len(items))
        images = []
        for item, t, lft, f in zip(items, top.tolist(), left.tolist(), flip.tolist(), strict=True):
            x = TF.pad(item["x"], [self.padding]) if self.padding else item["x"]
            x = TF.crop(x, t, lft, *item["x"].shape[-2:])
            images.append(TF.horizontal_flip(x) if f and self.flip else x)
        batch["x"] = self.normalize(torch.stack(images))
        return batch


class _IndexedDataset(Dataset):
    """Raw examples by ``(index, epoch, batch)`` for :class:`_MatchedCropFlip`."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors["y"])

    def __getitem__(self, key: tuple[int, int, int]) -> dict[str, torch.Tensor]:
        i, epoch, b = key
        item = {k: v[i] for k, v in self.tensors.items()}
        item.update(index=torch.tensor(i), epoch=epoch, batch=b)
        return item


def classic_loader(
    tensors: dict[str, torch.Tensor],
    *,
    batch_size: int,
    shuffle: bool,
    augment: bool,
    padding: int,
    normalize: Normalizer,
    num_workers: int,
    drop_last: bool = False,
    match_seed: int | None = None,
    flip: bool = True,
    epoch_fn: Callable[[], int] | None = None,
    done_fn: Callable[[], int] | None = None,
) -> DataLoader:
    """The original repos' recipe: torchvision transforms per example in DataLoader workers.

    Kept so that ``repro bench`` can measure the device path against it. With ``match_seed`` (the bench, and every
    shuffled training loader of a data module) the order and the crop/flip draws are those of a
    :class:`DeviceLoader` with that seed on the CPU — a function of (seed, epoch, batch), never of the global or a
    worker's random generator — so both paths yield the same batches, the timing compares like with like (images
    must be uint8), and the loader resumes mid-epoch exactly (:class:`ResumableDataLoader`; ``epoch_fn`` and
    ``done_fn`` are the trainer's epoch and trained batches). Without it (evaluation) the order is sequential.
    """
    common = dict(num_workers=num_workers, persistent_workers=num_workers > 0, pin_memory=torch.cuda.is_available(),
                  generator=torch.Generator())  # the workers' base seed: never drawn from the global generator
    if match_seed is not None:
        cpu = {k: v.cpu() for k, v in tensors.items()}
        batches = _EpochBatches(len(cpu["y"]), batch_size, shuffle, match_seed, drop_last, epoch_fn, done_fn)
        collate = _MatchedCropFlip(augment, padding, match_seed, batch_size, normalize, flip)
        return ResumableDataLoader(_IndexedDataset(cpu), batch_sampler=batches, collate_fn=collate, **common)
    if shuffle or augment:
        raise ValueError("classic_loader: a shuffled or augmented loader takes match_seed (its draws' seed)")
    return DataLoader(_TransformDataset({k: v.cpu() for k, v in tensors.items()}, None, normalize),
                      batch_size=batch_size, shuffle=False, drop_last=drop_last, **common)
