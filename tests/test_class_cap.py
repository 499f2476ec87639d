"""The per-class cap (repro/data/class_cap.py) and crop-only augmentation (``flip: false``)."""

from __future__ import annotations

import pytest
import torch

from repro.data.augment import random_crop_flip
from repro.data.class_cap import ClassCapDataModule, first_per_class
from repro.data.core import TensorDataModule
from repro.data.loaders import DeviceLoader, Normalizer, augment_seed
from repro.errors import ConfigValueError


def test_first_per_class_keeps_the_first_examples_of_each_class_in_order():
    labels = torch.tensor([2, 0, 2, 2, 1, 0, 2, 1, 0, 0])
    assert first_per_class(labels, 2).tolist() == [0, 1, 2, 4, 5, 7]
    assert first_per_class(labels, 100).tolist() == list(range(10))


def test_the_cap_trims_only_classes_above_it_and_is_a_seeded_random_subset(monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "3")
    full = TensorDataModule("digits")
    full.setup()
    capped = ClassCapDataModule("digits", max_per_class=20)
    capped.setup()
    counts = torch.bincount(capped.splits["train"]["y"], minlength=10)
    assert counts.tolist() == [20] * 10
    # the first 20 of each class in the same seeded order the uncapped module holds
    keep = first_per_class(full.splits["train"]["y"], 20)
    assert torch.equal(capped.splits["train"]["x"], full.splits["train"]["x"][keep])
    assert torch.equal(capped.splits["test"]["y"], full.splits["test"]["y"]), "the test split is untouched"
    big = torch.bincount(full.splits["train"]["y"], minlength=10)
    cap = int(big.min()) + 3  # above the smallest class, below the others
    trimmed = ClassCapDataModule("digits", max_per_class=cap)
    trimmed.setup()
    assert torch.bincount(trimmed.splits["train"]["y"], minlength=10).tolist() == big.clamp(max=cap).tolist()
    monkeypatch.setenv("PL_GLOBAL_SEED", "4")
    other = ClassCapDataModule("digits", max_per_class=20)
    other.setup()
    assert not torch.equal(other.splits["train"]["x"], capped.splits["train"]["x"]), "another seed, another subset"


@pytest.mark.parametrize("bad", [0, -5, True])
def test_a_bad_cap_is_a_config_error(bad):
    with pytest.raises(ConfigValueError, match="max_per_class"):
        ClassCapDataModule("digits", max_per_class=bad)


def test_flip_false_crops_without_flipping():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).reshape(2, 1, 6, 6).repeat(20, 1, 1, 1)
    tensors = {"x": x, "y": torch.zeros(40, dtype=torch.int64), "y_clean": torch.zeros(40, dtype=torch.int64)}
    loader = DeviceLoader(tensors, batch_size=40, shuffle=False, augment=True, padding=2,
                          normalize=Normalizer(None, None), seed=5, flip=False)
    batch = next(iter(loader))
    gen = torch.Generator().manual_seed(augment_seed(5, 0))
    want = random_crop_flip(x, padding=2, flip=False, generator=gen).float() / 255
    assert torch.equal(batch["x"], want)
    flipped = DeviceLoader(tensors, batch_size=40, shuffle=False, augment=True, padding=2,
                           normalize=Normalizer(None, None), seed=5)
    assert not torch.equal(next(iter(flipped))["x"], want), "the default still flips"
    dm = TensorDataModule("fashion_mnist", augment=True, flip=False)
    assert dm.flip is False
