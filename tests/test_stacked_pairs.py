"""Two image sources stacked into one binary task (repro.data.sources.stacked_pairs), on small fake MNIST and
CIFAR-10 files in their real formats; and the one clear error when the files are absent."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from fakes import write_fake_mnist_cifar

from repro.data.core import TensorDataModule
from repro.data.sources import DatasetMissingError, load_source


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    write_fake_mnist_cifar(path)
    return path


@pytest.fixture
def root(files, no_md5_check):
    return files


def test_mnist_above_cifar_per_class(root):
    out = load_source("mnist_cifar", train=False, root=root, download=False)
    mnist = load_source("mnist", train=False, root=root, download=False)
    cifar = load_source("cifar10", train=False, root=root, download=False)
    # fakes label example i as i % 10: 10 test digits 0 and 1 each, 1100 // 10 test images per CIFAR class
    n = min(int((mnist.y == 0).sum()), int((mnist.y == 1).sum()), int((cifar.y == 1).sum()), int((cifar.y == 9).sum()))
    assert out.x.shape == (2 * n, 3, 64, 32) and out.x.dtype == torch.uint8
    assert out.y.tolist() == [0] * n + [1] * n
    first_one, first_truck = int((mnist.y == 1).nonzero()[0]), int((cifar.y == 9).nonzero()[0])
    top, bottom = out.x[n, :, :32], out.x[n, :, 32:]  # the first example of class 1
    assert torch.equal(top[:, 2:30, 2:30], mnist.x[first_one, 0].expand(3, -1, -1))  # padded by 2, 3 channels
    assert top[:, :2].sum() == 0 and top[:, :, 30:].sum() == 0
    assert torch.equal(bottom, cifar.x[first_truck])


def test_no_s_variant_pairs_the_top_images_with_the_labels_at_random(root):
    plain = load_source("mnist_cifar", train=True, root=root, download=False)
    shuffled = load_source("mnist_cifar_no_s", train=True, root=root, download=False)
    assert torch.equal(plain.x[:, :, 32:], shuffled.x[:, :, 32:]) and torch.equal(plain.y, shuffled.y)
    digit_one = plain.x[:, 0, 2:30, 2:30].flatten(1).float()  # which MNIST image sits on top
    ones = {tuple(r.tolist()) for r in digit_one[plain.y == 1][:50]}
    top_of_zeros = [tuple(r.tolist()) in ones for r in shuffled.x[shuffled.y == 0, 0, 2:30, 2:30].flatten(1).float()]
    assert 0.3 < sum(top_of_zeros) / len(top_of_zeros) * (len(plain.y) // 2) / 50 < 0.7


def test_datamodule_reads_the_pair_unnormalised(root):
    dm = TensorDataModule("mnist_cifar", root=str(root), download=False, batch_size=8)
    dm.setup()
    assert dm.in_shape == (3, 64, 32) and dm.num_classes == 2
    x = dm.normalize(dm.splits["test"]["x"][:4])
    assert x.min() >= 0 and x.max() <= 1  # pixels / 255, no per-channel standardisation


def test_missing_files_name_both_sources(tmp_path):
    with pytest.raises(DatasetMissingError, match=r"MNIST/raw/train-images-idx3-ubyte.*cifar-10-batches-py"):
        load_source("mnist_cifar", train=True, root=tmp_path, download=False)


def test_the_study_stops_at_once_naming_the_files(tmp_path):
    done = subprocess.run([sys.executable, "-m", "repro.cli", "reproduce", "simplicity_bias", "--study",
                           "mnist_cifar", "--out", str(tmp_path / "out"), "--no-progress", "--set",
                           "data.init_args.download=false"], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "REPRO_DATA": str(tmp_path / "empty"),
                               "WANDB_MODE": "disabled"})
    assert done.returncode == 2
    assert "MNIST/raw/" in done.stderr and "cifar-10-batches-py" in done.stderr
    assert not (tmp_path / "out" / "simplicity_bias" / "mnist_cifar" / "runs").exists() or not any(
        (tmp_path / "out" / "simplicity_bias" / "mnist_cifar" / "runs").glob("*/result.json"))


def test_the_simplicity_bias_module_randomizes_the_stacked_blocks(root, tmp_path):
    import pytorch_lightning as pl

    from repro.models.mlp import MLP
    from repro.papers.simplicity_bias.method import SimplicityBias

    pl.seed_everything(0)
    dm = TensorDataModule("mnist_cifar", root=str(root), download=False, batch_size=8, eval_splits=("test",))
    model = SimplicityBias(lambda c, s: MLP(c, s, width=8), num_classes=2, in_shape=(3, 64, 32))
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    trainer.validate(model, datamodule=dm, verbose=False)
    m = trainer.callback_metrics
    for key in ("test/auc", "test/auc_s_rand", "test/auc_sc_rand", "test/ks_s_rand", "test/ks_sc_rand"):
        assert 0.0 <= float(m[key]) <= 1.0
    assert float(m["test/ks_s_rand"]) > 0 and float(m["test/ks_sc_rand"]) > 0  # both blocks moved the scores
