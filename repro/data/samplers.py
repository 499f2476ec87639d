"""Class-balanced re-sampling for the device-resident loader (re-sampling and deferred re-sampling baselines).

The sampler *is* the loader's epoch
order: every rank draws the same seeded multinomial sample and takes its own shard, so DDP ranks see
disjoint, equally long shares exactly as with the uniform permutation.
"""

from __future__ import annotations

import torch

from repro.data.loaders import DeviceLoader, shard_indices


def class_balanced_indices(labels: torch.Tensor, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """``num_samples`` indices drawn with replacement, each with probability 1 / (C · n_{y_i}), so
    every class is drawn with probability 1/C (the paper's "re-sampling" to a balanced distribution)."""
    labels = labels.cpu()
    counts = torch.bincount(labels).double()
    present = (counts > 0).sum()
    p = 1.0 / (counts[labels] * present)
    return torch.multinomial(p, num_samples, replacement=True, generator=generator)


class ClassBalancedDeviceLoader(DeviceLoader):
    """A :class:`DeviceLoader` whose training order is class-balanced from ``start_epoch`` on.

    ``start_epoch=0`` is RS; a later epoch is deferred re-sampling (DRS, Sec. 3.2), uniform order before.
    An epoch has as many examples as the training split, so steps per epoch do not change at the switch.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], *, start_epoch: int = 0, **kwargs) -> None:
        super().__init__(tensors, **kwargs)
        self.start_epoch = start_epoch

    def epoch_indices(self) -> torch.Tensor:
        epoch = self.epoch_fn()
        if not self.shuffle or epoch < self.start_epoch:
            return super().epoch_indices()
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n = len(self.tensors["y"])
        return shard_indices(class_balanced_indices(self.tensors["y"], n, gen), self.rank, self.world_size)
