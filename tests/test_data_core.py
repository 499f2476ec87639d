"""TensorDataModule and the device loader: epochs, shards, noise bookkeeping, splits, bad values."""

from __future__ import annotations

import pytest
import torch

from repro.data.core import TensorDataModule
from repro.data.loaders import DeviceLoader, Normalizer, shard_indices
from repro.errors import ReproError


def _tensors(n: int, image: bool = False) -> dict[str, torch.Tensor]:
    x = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8) if image else torch.randn(n, 4)
    y = torch.arange(n) % 10
    return {"x": x, "y": y, "y_clean": y.clone()}


def _indices(loader) -> torch.Tensor:
    return torch.cat([b["index"] for b in loader])


def test_device_loader_yields_every_example_once_per_epoch():
    epoch = {"n": 0}
    loader = DeviceLoader(_tensors(103), batch_size=10, shuffle=True, augment=False, padding=0,
                          normalize=Normalizer(None, None), seed=3, epoch_fn=lambda: epoch["n"])
    first = _indices(loader)
    assert len(loader) == 11
    assert sorted(first.tolist()) == list(range(103))
    epoch["n"] = 1
    second = _indices(loader)
    assert sorted(second.tolist()) == list(range(103))
    assert not torch.equal(first, second), "each epoch must draw a new permutation"
    epoch["n"] = 0
    assert torch.equal(_indices(loader), first), "same seed and epoch → same order (resumable)"


def test_device_loader_batches_match_their_indices():
    t = _tensors(50)
    loader = DeviceLoader(t, batch_size=16, shuffle=True, augment=False, padding=0, normalize=Normalizer(None, None))
    for batch in loader:
        assert torch.equal(batch["x"], t["x"][batch["index"]])
        assert torch.equal(batch["y"], t["y"][batch["index"]])


def test_two_rank_shards_are_disjoint_and_cover_the_epoch():
    t = _tensors(101)
    common = dict(batch_size=8, shuffle=True, augment=False, padding=0, normalize=Normalizer(None, None), seed=1)
    r0 = _indices(DeviceLoader(t, rank=0, world_size=2, **common))
    r1 = _indices(DeviceLoader(t, rank=1, world_size=2, **common))
    assert len(r0) == len(r1) == 50, "equal shard sizes so DDP ranks run the same number of steps"
    assert not set(r0.tolist()) & set(r1.tolist())
    assert len(set(r0.tolist()) | set(r1.tolist())) == 100  # one example (101 mod 2) dropped this epoch


def test_eval_shards_cover_every_example_exactly_once():
    t = _tensors(101)
    common = dict(batch_size=8, shuffle=False, augment=False, padding=0, normalize=Normalizer(None, None))
    seen = torch.cat([_indices(DeviceLoader(t, rank=r, world_size=2, **common)) for r in range(2)])
    assert sorted(seen.tolist()) == list(range(101))


def test_shard_indices_contiguous_chunks():
    perm = torch.tensor([5, 3, 1, 0, 2, 4, 6])
    assert shard_indices(perm, 0, 3).tolist() == [5, 3]
    assert shard_indices(perm, 2, 3).tolist() == [2, 4]


def test_augmented_batches_keep_labels_and_shape():
    t = _tensors(40, image=True)
    loader = DeviceLoader(t, batch_size=16, shuffle=True, augment=True, padding=2,
                          normalize=Normalizer((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
    batch = next(iter(loader))
    assert batch["x"].shape == (16, 3, 8, 8) and batch["x"].dtype == torch.float32
    assert torch.equal(batch["y"], t["y"][batch["index"]])
    # Normalised pixels: (v/255 − 0.5)/0.25 lies in [−2, 2]; zero padding gives exactly −2.
    assert batch["x"].min() >= -2 - 1e-6 and batch["x"].max() <= 2 + 1e-6


def test_datamodule_noise_is_recorded_and_exact():
    dm = TensorDataModule("digits", batch_size=0, label_noise=0.2, noise_seed=0)
    dm.setup()
    train = dm.splits["train"]
    flipped = (train["y"] != train["y_clean"]).float().mean().item()
    assert abs(flipped - 0.2) <= 10 / 1200
    assert dm.noise["num_flipped"] == int((train["y"] != train["y_clean"]).sum())
    # the test split is clean
    assert torch.equal(dm.splits["test"]["y"], dm.splits["test"]["y_clean"])
    # static: a second datamodule with the same seed draws the same noisy labels
    dm2 = TensorDataModule("digits", batch_size=0, label_noise=0.2, noise_seed=0)
    dm2.setup()
    assert torch.equal(dm2.splits["train"]["y"], train["y"])


def test_datamodule_subset_and_validation_split():
    dm = TensorDataModule("digits", batch_size=64, train_size=500, val_size=100, eval_splits=("val", "test", "train"))
    dm.setup()
    assert len(dm.splits["train"]["y"]) == 500 and len(dm.splits["val"]["y"]) == 100
    assert int(dm.class_counts.sum()) == 500
    loaders = dm.val_dataloader()
    assert [sum(len(b["y"]) for b in ld) for ld in loaders] == [100, 597, 500]
    assert len(dm.train_dataloader()) == 8  # ceil(500 / 64)


def test_full_batch_is_one_step():
    dm = TensorDataModule("digits", batch_size=0)
    assert len(dm.train_dataloader()) == 1


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"label_noise": 1.0}, "label_noise"),
        ({"label_noise": -0.1}, "label_noise"),
        ({"label_noise": float("nan")}, "label_noise"),
        ({"eval_splits": ("test", "holdout")}, "eval_splits"),
        ({"eval_splits": ("val",)}, "val_size"),
        ({"augment": True}, "image source"),
        ({"batch_size": -1}, "batch_size"),
    ],
)
def test_bad_values_are_clear_errors(kwargs, needle):
    with pytest.raises(ReproError, match=needle):
        TensorDataModule("digits", **kwargs)


def test_train_size_too_large_is_a_clear_error():
    dm = TensorDataModule("digits", train_size=5000)
    with pytest.raises(ReproError, match="train_size"):
        dm.setup()


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ReproError, match="cifar10"):
        TensorDataModule("imagenet-tiny")


def test_pad_to_centres_images(monkeypatch):
    from repro.data import core
    from repro.data.sources import Split

    fake = Split(torch.full((4, 1, 28, 28), 7, dtype=torch.uint8), torch.arange(4))
    monkeypatch.setattr(core, "load_source", lambda *a, **k: fake)
    dm = TensorDataModule("fashion_mnist", pad_to=32, batch_size=2)
    assert dm.in_shape == (1, 32, 32)
    dm.setup()
    x = dm.splits["train"]["x"]
    assert x.shape == (4, 1, 32, 32)
    assert int(x[0, 0, 2:30, 2:30].min()) == 7 and int(x[0, 0, :2].max()) == 0 and int(x[0, 0, :, 30:].max()) == 0
