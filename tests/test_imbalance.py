"""Long-tailed subsets and the class-balanced sampler (Cao et al. 2019, imbalance_cifar.py)."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import chisquare

from repro.data.core import TensorDataModule
from repro.data.imbalance import long_tail_counts, long_tail_indices
from repro.data.loaders import Normalizer
from repro.data.samplers import ClassBalancedDeviceLoader, class_balanced_indices
from repro.errors import ConfigValueError, ReproError


def test_cifar10_exp100_counts_are_the_published_ones():
    counts = long_tail_counts(5000, 10, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(counts) == 12406
    assert sum(long_tail_counts(5000, 10, 10)) == 20431
    assert sum(long_tail_counts(500, 100, 100)) == 10847
    assert sum(long_tail_counts(500, 100, 10)) == 19573
    assert sum(long_tail_counts(5000, 10, 100, "step")) == 25250
    assert sum(long_tail_counts(5000, 10, 10, "step")) == 27500


def test_subset_has_exact_counts_and_is_seeded():
    labels = torch.arange(10).repeat_interleave(5000)  # a balanced CIFAR-10-sized label vector
    idx = long_tail_indices(labels, 10, 100, seed=0)
    assert torch.bincount(labels[idx]).tolist() == long_tail_counts(5000, 10, 100)
    assert len(idx) == 12406 and len(set(idx.tolist())) == 12406
    assert torch.equal(idx, long_tail_indices(labels, 10, 100, seed=0))
    assert not torch.equal(idx, long_tail_indices(labels, 10, 100, seed=1))


def test_bad_ratio_kind_and_empty_class_are_config_errors():
    with pytest.raises(ConfigValueError, match="imbalance_ratio must be >= 1"):
        long_tail_counts(100, 10, 0.5)
    with pytest.raises(ConfigValueError, match="imbalance_kind"):
        long_tail_counts(100, 10, 10, "linear")
    with pytest.raises(ConfigValueError, match="no training example"):
        long_tail_counts(50, 10, 100)  # int(50 / 100) = 0 for the tail
    with pytest.raises(ConfigValueError, match="imbalance_ratio"):
        TensorDataModule("digits", imbalance_ratio=0.5)
    with pytest.raises(ReproError, match="sampler"):
        TensorDataModule("digits", sampler="weighted")


def test_datamodule_long_tail_train_split_and_untouched_test():
    dm = TensorDataModule("digits", imbalance_ratio=10, eval_splits=("test",))
    balanced = TensorDataModule("digits", eval_splits=("test",))
    dm.setup()
    balanced.setup()
    n_max = int(balanced.class_counts.min())  # the smallest class of the source is the head's count
    assert dm.class_counts.tolist() == long_tail_counts(n_max, 10, 10)
    assert torch.equal(dm.splits["test"]["y"], balanced.splits["test"]["y"])


def test_class_balanced_sampler_draws_classes_near_uniformly():
    labels = torch.arange(10).repeat_interleave(torch.tensor(long_tail_counts(5000, 10, 100)))
    idx = class_balanced_indices(labels, 20_000, torch.Generator().manual_seed(0))
    drawn = torch.bincount(labels[idx], minlength=10)
    assert chisquare(drawn.numpy()).pvalue > 0.01  # uniform over classes, not over examples
    assert drawn[-1] > 1500  # the uniform permutation would give the tail 0.4%


def test_balanced_loader_shards_ranks_and_defers():
    labels = torch.arange(4).repeat_interleave(torch.tensor([400, 40, 20, 4]))
    tensors = {"x": torch.randn(len(labels), 2), "y": labels, "y_clean": labels}
    epoch = {"e": 0}
    common = dict(batch_size=16, shuffle=True, augment=False, padding=0, normalize=Normalizer(None, None),
                  start_epoch=2, epoch_fn=lambda: epoch["e"])
    ranks = [ClassBalancedDeviceLoader(tensors, rank=r, world_size=2, **common) for r in range(2)]
    before = torch.cat([r.epoch_indices() for r in ranks])
    assert sorted(before.tolist()) == sorted(set(before.tolist()))  # a permutation: uniform order first
    epoch["e"] = 2
    shards = [r.epoch_indices() for r in ranks]
    assert len(shards[0]) == len(shards[1]) == len(labels) // 2  # same steps per rank, as DDP needs
    after = torch.bincount(labels[torch.cat(shards)], minlength=4)
    assert after.min() > 60  # every class near 1/4 of 464 draws, the 4-example class included
    batches = list(ranks[0])
    assert len(batches) == len(ranks[0]) and batches[0]["x"].shape == (16, 2)
