"""The LDAM-DRW module (Cao et al. 2019): DRW switch, heads, schedule, config errors, YAML subclassing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

from repro.errors import ConfigValueError
from repro.lightning_cli import ReproCLI
from repro.models.layers import NormedLinear
from repro.models.mlp import MLP
from repro.models.resnet_cifar import resnet32
from repro.papers.ldam_drw.losses import ldam_loss
from repro.papers.ldam_drw.method import LDAMDRW
from repro.training.losses import class_balanced_weights
from repro.training.optim import WarmupMultiStepLR

QUICK = Path(__file__).resolve().parents[3] / "configs" / "ldam_drw" / "quick.yaml"


def mlp(num_classes, in_shape):
    return MLP(num_classes, in_shape, width=8)



def test_drw_weights_switch_exactly_at_the_configured_epoch(monkeypatch):
    model = LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="ce", train_rule="drw", drw_epoch=7)
    counts = torch.tensor([100, 10, 1])
    model.set_class_counts(counts)
    assert [model.weights_active(e) for e in (0, 6, 7, 8)] == [False, False, True, True]
    logits, batch = torch.randn(6, 3), {"y": torch.tensor([0, 0, 0, 1, 2, 2])}
    losses = {}
    for epoch in (6, 7):
        monkeypatch.setattr(LDAMDRW, "current_epoch", property(lambda self, e=epoch: e))
        losses[epoch] = model.loss(logits, batch).item()
    w = class_balanced_weights(counts)
    assert losses[6] == pytest.approx(torch.nn.functional.cross_entropy(logits, batch["y"]).item(), rel=1e-6)
    assert losses[7] == pytest.approx(
        torch.nn.functional.cross_entropy(logits, batch["y"], weight=w).item(), rel=1e-6)
    rw = LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="ce", train_rule="reweight")
    none = LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="ce", train_rule="none")
    assert rw.weights_active(0) and not none.weights_active(10_000)


def test_ldam_gets_a_cosine_head_and_ce_keeps_linear():
    ldam = LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="ldam")
    ce = LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="ce")
    assert isinstance(ldam.backbone.head, NormedLinear) and isinstance(ce.backbone.head, torch.nn.Linear)
    out = ldam(torch.randn(5, 4) * 100)
    assert out.abs().max() <= 1 + 1e-5  # cosines
    ldam.set_class_counts(torch.tensor([1000, 100, 10]))
    batch = {"y": torch.tensor([0, 1, 2, 2, 1])}
    assert ldam.loss(out, batch).item() == pytest.approx(ldam_loss(out, batch["y"], ldam.margins).item())


def test_unknown_loss_and_rule_are_config_errors():
    with pytest.raises(ConfigValueError, match="model.init_args.loss"):
        LDAMDRW(mlp, num_classes=3, in_shape=(4,), loss="hinge")
    with pytest.raises(ConfigValueError, match="train_rule"):
        LDAMDRW(mlp, num_classes=3, in_shape=(4,), train_rule="resample")


def test_resnet32_size_and_paper_schedule():
    net = resnet32(10, (3, 32, 32))
    assert 0.45e6 < sum(p.numel() for p in net.parameters()) < 0.47e6
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = WarmupMultiStepLR(opt)
    factors = [sched.factor(e) for e in (0, 4, 5, 159, 160, 179, 180, 199)]
    assert factors == pytest.approx([0.2, 1.0, 1.0, 1.0, 0.01, 0.01, 1e-4, 1e-4])


class LDAMHalfMargin(LDAMDRW):
    """A user's subclass overriding only the loss: LDAM with margins halved."""

    def loss(self, logits, batch):
        self.calls = getattr(self, "calls", 0) + 1
        return ldam_loss(logits, batch["y"], self.margins / 2, scale=self.scale)


def test_user_subclass_overriding_the_loss_runs_from_yaml(tmp_path):
    cfg = yaml.safe_load(QUICK.read_text())
    for key in ("study", "grid", "claims"):
        cfg.pop(key)
    cfg["model"]["class_path"] = "test_ldam_drw_method.LDAMHalfMargin"
    cfg["data"]["init_args"].update(source="digits", train_size=None, augment=False, imbalance_ratio=10)
    cfg["trainer"].update(max_epochs=2, check_val_every_n_epoch=1, enable_progress_bar=False)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cli = ReproCLI(args=["fit", "--config", str(path), "--run.out_dir", str(tmp_path / "run")])
    assert isinstance(cli.model, LDAMHalfMargin) and cli.model.calls > 0
    assert cli.model.class_counts.tolist() == cli.datamodule.class_counts.tolist()
    rows = list(csv.DictReader(open(next((tmp_path / "run").rglob("metrics.csv")))))
    logged = {k for r in rows for k, v in r.items() if v}
    assert {"test/balanced_error", "test/accuracy_tail", "test/accuracy_class9"} <= logged


def test_tail_gain_claim_fails_on_equal_gains_and_passes_on_a_tail_gain():
    """The quick study's "tail classes improve most": equal per-group gains (a balanced set's prediction) fail,
    a tail gain larger than the others in every seed passes, and the interval over seeds is recorded."""
    import numpy as np

    from repro.papers.ldam_drw.claims import last_group_gains_most

    metrics = ["test/accuracy_head", "test/accuracy_medium", "test/accuracy_tail"]
    rng = np.random.default_rng(0)

    def table(gain):
        rows = []
        for seed in range(3):
            base = rng.uniform(0.5, 0.9, 3)
            rows.append({"method": "ERM", "seed": seed, **dict(zip(metrics, base, strict=True))})
            rows.append({"method": "LDAM-DRW", "seed": seed,
                         **dict(zip(metrics, base + np.asarray(gain) + rng.normal(0, 0.003, 3), strict=True))})
        return rows

    a, b = {"method": "LDAM-DRW"}, {"method": "ERM"}
    equal = table([0.02, 0.02, 0.02])
    assert not last_group_gains_most(equal, metrics=metrics, a=a, b=b, margin=0.01).passed
    erm = [r for r in equal if r["method"] == "ERM"]
    exact = erm + [{**r, "method": "LDAM-DRW", **{m: r[m] + 0.02 for m in metrics}} for r in erm]
    assert not last_group_gains_most(exact, metrics=metrics, a=a, b=b).passed  # exactly equal gains, margin 0
    r = last_group_gains_most(table([-0.01, 0.02, 0.10]), metrics=metrics, a=a, b=b, margin=0.01)
    assert r.passed and r.values["ci"][0] > 0 and r.values["n"] == 3
