"""A researcher's subclass of a paper's module, run from YAML by class_path, gets the whole library."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F
import yaml

from repro.lightning_cli import ReproCLI
from repro.papers.double_descent.method import DoubleDescent


class LabelSmoothingDoubleDescent(DoubleDescent):
    """The README's example: override one hook (the loss), keep the data, loop, logging and claims."""

    def __init__(self, *args, smoothing: float = 0.1, **kwargs):
        super().__init__(*args, **kwargs)
        self.smoothing = smoothing
        self.checked = []

    def loss(self, logits, batch):
        value = F.cross_entropy(logits, batch["y"], label_smoothing=self.smoothing)
        # record the difference from the parent's loss so the test can see this hook ran
        self.checked.append(float((value - super().loss(logits, batch)).detach()))
        return value


def test_subclass_runs_from_yaml(tmp_path, quick_yaml):
    cfg = yaml.safe_load(quick_yaml.read_text())
    cfg["model"]["class_path"] = "test_extend.LabelSmoothingDoubleDescent"
    cfg["model"]["init_args"]["smoothing"] = 0.3
    cfg["trainer"].update(max_epochs=10, check_val_every_n_epoch=10, enable_progress_bar=False)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_dir = tmp_path / "run"
    cli = ReproCLI(args=["fit", "--config", str(path), "--run.out_dir", str(run_dir)])
    model = cli.model
    assert isinstance(model, LabelSmoothingDoubleDescent) and model.smoothing == 0.3
    assert len(model.checked) == 10 and all(abs(d) > 1e-6 for d in model.checked), "the overridden loss trained"
    with open(run_dir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("test/error_noisy_scale")]
    assert rows, "the parent's derived metric still logs"
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"]["class_path"] == "test_extend.LabelSmoothingDoubleDescent"


def test_subclass_loss_equals_label_smoothed_cross_entropy():
    from functools import partial

    from repro.models.mlp import MLP

    model = LabelSmoothingDoubleDescent(partial(MLP, width=4), num_classes=3, in_shape=(5,), smoothing=0.2)
    logits = torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    # label smoothing by hand: targets (1 − s)·onehot + s/C
    target = (1 - 0.2) * F.one_hot(y, 3) + 0.2 / 3
    expected = -(target * logits.log_softmax(-1)).sum(-1).mean()
    assert model.loss(logits, {"y": y}) == pytest.approx(float(expected), abs=1e-6)
