"""The Manifold Mixup module (Verma et al. 2019): the training step against hand-written mixup, the draws per run
seed, the evaluation metrics, and the bad inputs the issue names (α ≤ 0, a backbone without stages)."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F
import yaml
from conftest import CONFIGS

from repro.cli import main
from repro.errors import ConfigValueError
from repro.lightning_cli import ReproCLI
from repro.models.cnn import FiveLayerCNN
from repro.models.mlp import MLP
from repro.papers.manifold_mixup.method import ManifoldMixup
from repro.training.class_spectrum import spectrum_summary
from repro.training.mixup import MixDraw, captured, softmax_bce

QUICK = CONFIGS / "manifold_mixup" / "quick.yaml"


def mlp(num_classes, in_shape):
    return MLP(num_classes, in_shape, width=16, depth=3, bottleneck=4, bottleneck_after=2, activation="leaky_relu")


def _model(**kwargs) -> ManifoldMixup:
    torch.manual_seed(0)
    return ManifoldMixup(mlp, num_classes=5, in_shape=(12,), **kwargs)


def _batch(n=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(n, 12, generator=gen), "y": torch.randint(0, 5, (n,), generator=gen)}


def test_mixing_at_the_input_is_input_mixup():
    model, batch = _model(eligible=["input"], alpha=1.0), _batch()
    perm, lam = torch.tensor([4, 7, 0, 9, 1, 3, 8, 2, 6, 5]), 0.3
    got = model.mixed_forward(batch["x"], MixDraw("input", lam, perm))
    logits = model.backbone(lam * batch["x"] + (1 - lam) * batch["x"][perm])  # Zhang et al.'s input mixup by hand
    assert torch.equal(got, logits)
    model.draw = lambda n: MixDraw("input", lam, perm)
    want = lam * F.cross_entropy(logits, batch["y"]) + (1 - lam) * F.cross_entropy(logits, batch["y"][perm])
    torch.testing.assert_close(model.training_loss(batch), want, rtol=1e-6, atol=0)


def test_the_training_step_mixes_the_bottleneck_and_the_targets_with_one_draw():
    model, batch = _model(eligible=["bottleneck"]), _batch(seed=1)
    perm, lam = torch.randperm(10, generator=torch.Generator().manual_seed(2)), 0.8
    model.draw = lambda n: MixDraw("bottleneck", lam, perm)
    net = model.backbone
    h = net.features[:6](batch["x"])  # up to the bottleneck (Flatten, Linear, act, Linear, act, Linear)
    logits = net.head(net.features[6:](lam * h + (1 - lam) * h[perm]))
    want = lam * F.cross_entropy(logits, batch["y"]) + (1 - lam) * F.cross_entropy(logits, batch["y"][perm])
    loss = model.training_loss(batch)
    torch.testing.assert_close(loss, want, rtol=1e-6, atol=0)
    loss.backward()
    assert net.features[1].weight.grad.abs().sum() > 0, "gradients flow below the mixing stage (not detached)"


def test_no_eligible_stage_is_plain_training_and_bce_is_the_named_option():
    batch = _batch(seed=3)
    plain = _model(eligible=[])
    assert plain.draw(10) is None
    logits = plain.backbone(batch["x"])
    torch.testing.assert_close(plain.training_loss(batch), F.cross_entropy(logits, batch["y"]), rtol=1e-6, atol=0)
    bce = _model(eligible=[], loss="softmax_bce")
    want = torch.nn.BCELoss()(torch.softmax(logits, -1), F.one_hot(batch["y"], 5).float())
    torch.testing.assert_close(bce.training_loss(batch), want, rtol=1e-6, atol=0)
    torch.testing.assert_close(softmax_bce(logits, F.one_hot(batch["y"], 5).float()), want, rtol=1e-6, atol=0)


def test_each_run_seed_draws_its_own_lambda_and_partners(monkeypatch):
    def first_draw():
        d = _model(eligible=["input", "bottleneck"]).draw(10)
        return d.stage, d.lam, tuple(d.perm.tolist())

    draws = {}
    for seed in ("0", "1"):
        monkeypatch.setenv("PL_GLOBAL_SEED", seed)
        draws[seed] = first_draw()
        assert first_draw() == draws[seed], "the stream is the run seed's: the same seed draws the same"
    assert draws["0"] != draws["1"]


@pytest.mark.parametrize("alpha", [0.0, -0.5])
def test_alpha_at_or_below_zero_is_a_clear_error(alpha):
    with pytest.raises(ConfigValueError, match=r"model\.init_args\.alpha must be > 0"):
        _model(eligible=["bottleneck"], alpha=alpha)


def test_alpha_zero_stops_the_study_before_any_training(tmp_path, capsys):
    code = main(["reproduce", "manifold_mixup", "--scale", "quick", "--out", str(tmp_path), "--no-progress",
                 "--set", "model.init_args.alpha=0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("repro: error:") == 1 and "model.init_args.alpha must be > 0" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("result.json"))


def test_a_backbone_without_stages_is_a_clear_error_and_stacking_is_refused():
    def cnn(num_classes, in_shape):
        return FiveLayerCNN(num_classes, in_shape, width=4)

    with pytest.raises(ConfigValueError, match="FiveLayerCNN declares no stages"):
        ManifoldMixup(cnn, num_classes=10, in_shape=(3, 8, 8), eligible=["input", "stage1"])
    ManifoldMixup(cnn, num_classes=10, in_shape=(3, 8, 8), eligible=["input"])  # input mixup works on any network
    with pytest.raises(ConfigValueError, match="has no stage 'stage1'"):
        _model(eligible=["stage1"])
    with pytest.raises(ConfigValueError, match="spectrum_stage"):
        _model(spectrum_stage="nope")
    with pytest.raises(ConfigValueError, match="stack_seeds"):
        _model(stack_seeds=[0, 1])
    with pytest.raises(ConfigValueError, match="loss"):
        _model(loss="mse")


def test_a_short_fit_logs_error_nll_the_spectrum_and_fgsm(tmp_path):
    cfg = yaml.safe_load(QUICK.read_text())
    for key in ("study", "grid", "claims"):
        cfg.pop(key)
    cfg["data"]["init_args"].update(source="digits", max_per_class=30, eval_batch_size=200)
    cfg["model"]["init_args"]["fgsm_epsilons"] = [0.05, 0.5]
    cfg["trainer"].update(max_epochs=3, check_val_every_n_epoch=3, enable_progress_bar=False,
                          enable_model_summary=False)
    cfg["run"] = {"out_dir": str(tmp_path / "run")}
    cli = ReproCLI(args=cfg, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items()}
    assert {"test/error", "test/loss", "train/sv_top", "train/sv_rest", "train/sv_rest_ratio"} <= set(metrics)
    model, train = cli.model.eval(), cli.datamodule.splits["train"]
    with torch.no_grad(), captured(model.stage_module("bottleneck")) as outs:
        model(cli.datamodule.normalize(train["x"]))
    want = spectrum_summary(outs[0], train["y"], 10)
    assert metrics["train/sv_rest"] == pytest.approx(want["sv_rest"], rel=1e-4)
    assert metrics["train/sv_rest_ratio"] == pytest.approx(want["sv_rest_ratio"], rel=1e-4)
    assert metrics["test/fgsm_accuracy_eps0.5"] < metrics["test/fgsm_accuracy_eps0.05"] <= metrics["test/accuracy"]
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert any(row.get("train/sv_rest") for row in csv.DictReader(f))


def test_the_paper_study_without_its_datasets_stops_at_once_naming_the_files(tmp_path, capsys, monkeypatch,
                                                                              no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "manifold_mixup", "--scale", "paper", "--out", str(tmp_path), "--no-progress",
                 "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "REPRO_DATA" in err and "cifar-10-batches-py" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"
