"""The clothing1m file-list source and the streaming ImageFileDataModule, on a tiny Clothing1M the test writes in
the official layout (tests/fakes.py); no network, no real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import write_fake_clothing1m

from repro.data.image_files import ImageFileDataModule, image_transform
from repro.data.sources import DatasetMissingError, load_source, source_info
from repro.data.sources.clothing1m import FILES, image_list
from repro.errors import ConfigValueError


@pytest.fixture
def fake(tmp_path: Path) -> tuple[Path, dict]:
    return tmp_path, write_fake_clothing1m(tmp_path)


def test_each_split_has_its_images_and_labels(fake):
    root, written = fake
    sizes = {"noisy_train": 24, "clean_train": 8, "clean_val": 6, "clean_test": 6}
    for split, n in sizes.items():
        images = image_list(split, root)
        assert len(images) == n and images.y.dtype == torch.int64
        assert list(zip(images.keys, images.y.tolist(), strict=True)) == written[split]
        assert all(images.path(i).is_file() for i in range(n))
        if split != "noisy_train":  # verified splits: the training label is the verified one
            assert torch.equal(images.y_clean, images.y)
    noisy = image_list("noisy_train", root)
    verified = dict(written["overlap"])  # the first 5 noisy images also have a verified label, the rest none
    assert noisy.y_clean.tolist() == [verified.get(k, -1) for k in noisy.keys]
    assert (noisy.y_clean[:5] != noisy.y[:5]).sum() == 4


def test_the_registry_knows_its_facts_and_points_to_the_streaming_datamodule(fake):
    root, _ = fake
    info = source_info("clothing1m")
    assert (info.num_classes, info.in_shape, info.image, info.needs_download) == (14, (3, 224, 224), True, False)
    assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)
    with pytest.raises(ConfigValueError, match="repro.data.image_files.ImageFileDataModule"):
        load_source("clothing1m", train=True, root=root, download=False)


def test_missing_files_are_one_error_naming_them_and_where_to_ask(tmp_path, no_network):
    with pytest.raises(DatasetMissingError) as err:
        image_list("noisy_train", tmp_path)
    message = str(err.value)
    assert all(f in message for f in FILES) and "images/" in message
    assert "Cysu/noisy_label" in message and "REPRO_DATA" in message and str(tmp_path.resolve()) in message
    write_fake_clothing1m(tmp_path)
    (tmp_path / "clothing1m" / "clean_val_key_list.txt").unlink()
    with pytest.raises(DatasetMissingError, match=r"Missing: clean_val_key_list.txt\. "):
        image_list("clean_test", tmp_path)  # any split: the dataset is checked as a whole


def test_damaged_annotations_are_clear_errors(fake):
    root, written = fake
    kv = root / "clothing1m" / "clean_label_kv.txt"
    kv.write_text(kv.read_text() + "images/9/99/1.jpg 14\n")
    with pytest.raises(ConfigValueError, match=r"clean_label_kv.txt:\d+: expected '<image key> <class 0..13>'"):
        image_list("clean_test", root)
    kv.write_text("".join(f"{k} {v}\n" for k, v in written["clean_train"]))  # the test keys lose their labels
    with pytest.raises(ConfigValueError, match="clean_test_key_list.txt: 6 key"):
        image_list("clean_test", root)


def test_transforms_resize_crop_and_normalise_as_imagenet_models_expect(tmp_path):
    from PIL import Image

    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    colour = (200, 100, 50)
    image = Image.fromarray(np.full((300, 400, 3), colour, dtype=np.uint8))
    for train in (True, False):
        x = image_transform(train, resize=256, crop=224, flip=True, mean=mean, std=std)(image)
        assert x.shape == (3, 224, 224) and x.dtype == torch.float32
        expected = torch.tensor([(c / 255 - m) / s for c, m, s in zip(colour, mean, std, strict=True)])
        torch.testing.assert_close(x.mean((1, 2)), expected, atol=1e-5, rtol=0)
    # evaluation: the centre of the resized image (300×400 → 256×341; a 224 crop from row 16, column 58)
    ramp = np.zeros((300, 400, 3), dtype=np.uint8)  # red grows along the columns, green along the rows
    ramp[:, :, 0] = (np.arange(400) * 255 // 399)[None, :]
    ramp[:, :, 1] = (np.arange(300) * 255 // 299)[:, None]
    resized = np.asarray(Image.fromarray(ramp).resize((341, 256), Image.BILINEAR))
    x = image_transform(False, resize=256, crop=224, flip=False, mean=(0, 0, 0), std=(1, 1, 1))(Image.fromarray(ramp))
    centre = torch.from_numpy(resized[16:240, 58:282].astype(np.float32) / 255).permute(2, 0, 1)
    assert (x - centre).abs().mean() < 0.02  # the same window (PIL's and torchvision's resampling differ slightly)


def test_the_datamodule_streams_batches_and_summarises_the_real_noise(fake):
    root, written = fake
    dm = ImageFileDataModule(root=str(root), batch_size=5, eval_batch_size=4, num_workers=0, resize=40, crop=32)
    assert (dm.num_classes, dm.in_shape, dm.T) == (14, (3, 32, 32), None)
    dm.setup()
    batches = list(dm.train_dataloader())
    assert [len(b["y"]) for b in batches] == [5, 5, 5, 5, 4]
    assert batches[0]["x"].shape == (5, 3, 32, 32) and set(batches[0]) == {"x", "y", "y_clean", "index"}
    seen = torch.cat([b["index"] for b in batches])
    assert sorted(seen.tolist()) == list(range(24)) and seen.tolist() != list(range(24))  # shuffled, each once
    labels = dict(written["noisy_train"])
    ys = torch.cat([b["y"] for b in batches]).tolist()
    assert all(labels[dm.splits["train"].keys[i]] == y for i, y in zip(seen.tolist(), ys, strict=True))
    val, test = dm.val_dataloader()
    assert [b["index"].tolist() for b in test] == [[0, 1, 2, 3], [4, 5]]  # in order
    torch.testing.assert_close(next(iter(val))["x"], next(iter(dm.val_dataloader()[0]))["x"])  # no augmentation
    overlap = dm.noise["verified_overlap"]
    assert (overlap["num_examples"], overlap["num_flipped"]) == (5, 4)
    assert sum(len(b["x"]) for b in dm.predict_loader("train")) == 24


def test_a_seeded_training_subset_and_bad_settings(fake):
    root, _ = fake
    keys = [ImageFileDataModule(root=str(root), train_size=10, split_seed=s, num_workers=0) for s in (1, 1, 2)]
    for dm in keys:
        dm.setup()
    assert len(keys[0].splits["train"]) == 10 and keys[0].splits["train"].keys == keys[1].splits["train"].keys
    assert keys[0].splits["train"].keys != keys[2].splits["train"].keys
    with pytest.raises(ConfigValueError, match="train_size=99"):
        ImageFileDataModule(root=str(root), train_size=99, num_workers=0).setup()
    for kwargs, match in [({"train_split": "clean"}, "train_split"), ({"source": "cifar10"}, "TensorDataModule"),
                          ({"eval_splits": ("train",)}, "clean accuracy is undefined"), ({"crop": 300}, "crop=300")]:
        with pytest.raises(ConfigValueError, match=match):
            ImageFileDataModule(root=str(root), **kwargs)
