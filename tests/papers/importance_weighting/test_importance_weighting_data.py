"""The binary-subset datamodule (repro.data.binary) and the separable 2-D source: the pools hold the right classes
and sizes, the labels are relabelled, the noise pool is normalised like the data, and bad input is one clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fakes import write_fake_cifar10

from repro.data.binary import BinarySubsetDataModule
from repro.data.sources import load_source
from repro.data.sources.separable import GAP, OFFSET, separable_2d
from repro.errors import ConfigValueError


def _rows(x: torch.Tensor) -> list[tuple]:
    """The examples as a sorted list (the datamodule shuffles the training split once)."""
    return sorted(map(tuple, x.reshape(len(x), -1).tolist()))


def test_digits_pools_have_the_right_classes_and_sizes():
    dm = BinarySubsetDataModule("digits", classes=[3, 5], mean=[0.5], std=[0.5], batch_size=16)
    dm.setup()
    train, test = load_source("digits", train=True), load_source("digits", train=False)
    pair = lambda y: (y == 3) | (y == 5)  # noqa: E731
    assert len(dm.splits["train"]["y"]) == int(pair(train.y).sum())
    assert dm.class_counts.tolist() == [int((train.y == 3).sum()), int((train.y == 5).sum())]
    assert len(dm.pools["in"]) == int(pair(test.y).sum()) == len(dm.splits["test"]["y"])
    assert len(dm.pools["ood"]) == int((~pair(test.y)).sum()) == 597 - len(dm.pools["in"])
    assert len(dm.pools["noise"]) == 1000
    # the second class is label 1: the training images labelled 1 are exactly the source's 5s, standardised
    fives = (train.x[train.y == 5] - 0.5) / 0.5
    assert _rows(dm.splits["train"]["x"][dm.splits["train"]["y"] == 1]) == _rows(fives)
    others = (test.x[~pair(test.y)] - 0.5) / 0.5
    assert _rows(dm.pools["ood"]) == _rows(others)
    # uniform noise in the source's [0, 1) pixel scale, standardised like the data: [−1, 1)
    noise = dm.pools["noise"]
    assert noise.shape == (1000, 64) and -1 <= float(noise.min()) and float(noise.max()) < 1
    assert abs(float(noise.mean())) < 0.02  # uniform on [−1, 1): mean 0 ± 0.58/√64000


def test_noise_pool_follows_the_run_seed(monkeypatch):
    draws = []
    for seed in ("0", "0", "1"):
        monkeypatch.setenv("PL_GLOBAL_SEED", seed)
        dm = BinarySubsetDataModule("digits", classes=[3, 5], noise_pool_size=10)
        dm.setup()
        draws.append(dm.pools["noise"])
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_cifar_cat_vs_dog_pools(tmp_path, no_md5_check):
    written = write_fake_cifar10(tmp_path, per_batch=50)
    dm = BinarySubsetDataModule("cifar10", classes=[3, 5], root=str(tmp_path), download=False, noise_pool_size=7)
    dm.setup()
    test_labels = np.array(written["test_batch"][1])
    train_labels = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    assert len(dm.pools["in"]) == int(np.isin(test_labels, [3, 5]).sum())
    assert len(dm.pools["ood"]) == int((~np.isin(test_labels, [3, 5])).sum())
    assert dm.class_counts.tolist() == [int((train_labels == 3).sum()), int((train_labels == 5).sum())]
    noise = dm.pools["noise"]
    assert noise.shape == (7, 3, 32, 32) and noise.dtype == torch.float32
    mean = torch.tensor(dm.info.mean).view(1, 3, 1, 1)
    std = torch.tensor(dm.info.std).view(1, 3, 1, 1)
    raw = noise * std + mean  # undo the data's standardisation: uniform on [0, 1)
    assert float(raw.min()) >= -1e-6 and float(raw.max()) < 1 + 1e-6
    # the in-domain pool is the test images of the two classes, normalised as the loaders normalise them
    x = torch.from_numpy(written["test_batch"][0][np.isin(test_labels, [3, 5])]).view(-1, 3, 32, 32).float() / 255
    torch.testing.assert_close(dm.pools["in"], (x - mean) / std)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"classes": [3, 3]}, "two distinct classes"),
    ({"classes": [3, 10]}, "two distinct classes"),
    ({"classes": [1, 2, 3]}, "two distinct classes"),
    ({"pools": ["in", "far"]}, "unknown pool"),
    ({"noise_pool_size": 0}, "noise_pool_size"),
    ({"label_noise": 0.2}, "label_noise"),
])
def test_bad_input_is_one_clear_error(kwargs, needle):
    with pytest.raises(ConfigValueError, match=needle):
        BinarySubsetDataModule("digits", **{"classes": [3, 5], **kwargs})


def test_a_two_class_source_has_no_ood_pool():
    with pytest.raises(ConfigValueError, match="no out-of-domain pool"):
        BinarySubsetDataModule("separable_2d", classes=[0, 1])
    dm = BinarySubsetDataModule("separable_2d", classes=[0, 1], pools=["in"], train_size=64)
    dm.setup()
    assert set(dm.pools) == {"in"} and len(dm.splits["train"]["y"]) == 64


def test_separable_points_keep_their_margin():
    x, y = separable_2d(500, seed=3)
    u = torch.tensor([1.0, 0.5]) / torch.tensor([1.0, 0.5]).norm()
    margin = x @ u - OFFSET
    assert bool(((margin > GAP) == (y == 1)).all()) and bool((margin.abs() > GAP).all())
    assert 0.3 < float(y.float().mean()) < 0.7
    again, _ = separable_2d(500, seed=3)
    assert torch.equal(x, again)
