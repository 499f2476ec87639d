"""Seeds stacked into one batched model (``stack_seeds``) train exactly like separate runs, and a study
sees each member as a run of its own."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
import yaml

from repro.data.core import TensorDataModule
from repro.errors import ReproError
from repro.models.layers import NormedLinear
from repro.models.mlp import MLP
from repro.models.resnet import PreActResNet18
from repro.papers.double_descent.method import DoubleDescent
from repro.papers.ldam_drw.method import LDAMDRW
from repro.studies.runner import StudyRunner
from repro.studies.study import Study


def _mlp(num_classes, in_shape):
    return MLP(num_classes, in_shape, width=16)


def _adam(params):
    return torch.optim.Adam(params, lr=1e-2)


def _data():
    return TensorDataModule(source="digits", batch_size=0, label_noise=0.2, eval_splits=["test"])


def _fit(model, steps=6):
    trainer = pl.Trainer(max_epochs=steps, check_val_every_n_epoch=steps, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(model, datamodule=_data())
    return trainer


def test_stacked_members_train_like_separate_runs():
    torch.manual_seed(0)
    stacked = DoubleDescent(_mlp, num_classes=10, in_shape=(64,), optimizer=_adam, stack_seeds=[3, 4, 5])
    initial = [stacked.backbone.member(i) for i in range(3)]
    # each member's initial weights are those of a network built under its own seed
    torch.manual_seed(4)
    assert torch.equal(initial[1].head.weight, _mlp(10, (64,)).head.weight)
    assert not torch.equal(initial[0].head.weight, initial[1].head.weight)

    trainer = _fit(stacked)
    for i, init in enumerate(initial):
        single = DoubleDescent(_mlp, num_classes=10, in_shape=(64,), optimizer=_adam)
        single.backbone = copy.deepcopy(init)
        single_trainer = _fit(single)
        trained = stacked.backbone.member(i)
        for (name, p_stacked), p_single in zip(trained.named_parameters(), single.backbone.parameters(), strict=True):
            torch.testing.assert_close(p_stacked, p_single, rtol=1e-5, atol=1e-6, msg=name)
        assert {"test/error", "test/error_noisy_scale"} <= set(single_trainer.callback_metrics)
        for metric in ("test/error", "test/error_noisy_scale"):
            assert float(trainer.callback_metrics[f"member{i}/{metric}"]) == pytest.approx(
                float(single_trainer.callback_metrics[metric]), abs=1e-6)
    # the unprefixed metric is the members' mean (what a progress display shows)
    mean = sum(float(trainer.callback_metrics[f"member{i}/test/error"]) for i in range(3)) / 3
    assert float(trainer.callback_metrics["test/error"]) == pytest.approx(mean)
    assert stacked.members == [{"seed": 3}, {"seed": 4}, {"seed": 5}]


def test_ldam_members_get_the_cosine_head():
    model = LDAMDRW(_mlp, num_classes=10, in_shape=(64,), loss="ldam", stack_seeds=[0, 1])
    assert isinstance(model.backbone.member(1).head, NormedLinear)


def test_batchnorm_nets_stack_and_repeated_seeds_are_refused():
    def resnet(num_classes, in_shape):
        return PreActResNet18(num_classes, in_shape, width=2)

    model = DoubleDescent(resnet, num_classes=10, in_shape=(3, 32, 32), stack_seeds=[0, 1])
    model(torch.randn(4, 3, 32, 32))  # train mode: each member's running statistics move
    running = model.backbone.running_buffers()
    assert running and all(int(v.max()) == 1 for k, v in running.items() if k.endswith("num_batches_tracked"))
    with pytest.raises(ReproError, match="distinct"):
        DoubleDescent(_mlp, num_classes=10, in_shape=(64,), stack_seeds=[1, 1])


def test_a_stacked_study_gives_one_row_per_seed(tmp_path, quick_yaml):
    cfg = yaml.safe_load(quick_yaml.read_text())
    cfg["trainer"].update(max_epochs=3, check_val_every_n_epoch=3)
    cfg["model"]["init_args"]["stack_seeds"] = [0, 1, 2]
    cfg["grid"] = {"model.init_args.backbone.init_args.width": [4, 8]}
    path = tmp_path / "stacked.yaml"
    path.write_text(yaml.safe_dump(cfg))
    rows = StudyRunner(Study.load(path), tmp_path / "out", workers=1, threads=1).run(progress=False)
    assert [(r["width"], r["seed"], r["member"]) for r in rows] == [
        (4, 0, 0), (4, 1, 1), (4, 2, 2), (8, 0, 0), (8, 1, 1), (8, 2, 2)]
    assert all(0 <= r["test/error"] <= 1 for r in rows)
    assert len({r["test/error"] for r in rows}) > 1  # the members are different networks
