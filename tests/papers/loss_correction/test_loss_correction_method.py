"""The LossCorrection module: its config errors, heads and optimizer groups, model selection on the noisy validation
objective, the stage-1 estimate files, and the two-stage study through the runner (including a failed stage 1)."""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import pytest
import torch
import yaml

from repro.errors import ConfigValueError, ReproError
from repro.lightning_cli import ReproCLI
from repro.models.dropout_mlp import DropoutMLP
from repro.papers.loss_correction.method import ESTIMATE_FILES, LossCorrection
from repro.studies.runner import StudyRunner
from repro.studies.study import Study

QUICK = Path(__file__).resolve().parents[3] / "configs" / "loss_correction" / "quick.yaml"


def mlp(num_classes, in_shape):
    return DropoutMLP(num_classes, in_shape, width=8, depth=1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"loss": "hinge"}, "model.init_args.loss"),
    ({"loss": "forward"}, "needs a noise matrix"),
    ({"loss": "ce", "transition": "true"}, "uses no noise matrix"),
    ({"loss": "backward", "transition": [[0.5, 0.5], [0.5, 0.5]]}, "singular"),
    ({"loss": "forward", "transition": [[0.5, 0.6], [0.5, 0.5]]}, "sums to 1"),
    ({"stack_seeds": [0, 1]}, "stack_seeds"),
    ({"bootstrap_beta": 2.0}, "bootstrap_beta"),
])
def test_bad_settings_are_clear_config_errors(kwargs, match):
    with pytest.raises(ConfigValueError, match=match):
        LossCorrection(mlp, num_classes=2, in_shape=(4,), **kwargs)


def test_bounded_losses_get_a_batchnorm_on_the_logits():
    for loss, expected in [("unhinged", True), ("sigmoid", True), ("savage", False), ("boot_soft", False),
                           ("ce", False)]:
        model = LossCorrection(mlp, num_classes=3, in_shape=(4,), loss=loss)
        has_bn = isinstance(model.backbone, torch.nn.Sequential) and isinstance(model.backbone[-1],
                                                                                torch.nn.BatchNorm1d)
        assert has_bn == expected, loss
        assert model(torch.randn(5, 4)).shape == (5, 3)


def test_weight_decay_on_kernels_only():
    model = LossCorrection(mlp, num_classes=3, in_shape=(4,), loss="unhinged", decay_kernels_only=True,
                           optimizer=functools.partial(torch.optim.SGD, lr=0.1, weight_decay=2e-4))
    groups = model.configure_optimizers().param_groups
    assert [g["weight_decay"] for g in groups] == [2e-4, 0.0]
    assert all(p.ndim > 1 for p in groups[0]["params"]) and all(p.ndim == 1 for p in groups[1]["params"])
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))


def _config(tmp_path: Path, name: str, **init_args) -> dict:
    cfg = yaml.safe_load(QUICK.read_text())
    for key in ("study", "grid", "claims"):
        cfg.pop(key)
    cfg["trainer"].update(max_epochs=6, enable_progress_bar=False, enable_model_summary=False)
    cfg["model"]["init_args"].update(init_args)
    cfg["run"] = {"out_dir": str(tmp_path / name)}
    return cfg


def test_stage_one_selects_on_the_noisy_objective_restores_it_and_writes_both_estimates(tmp_path):
    cli = ReproCLI(args=_config(tmp_path, "stage1"), run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    run = tmp_path / "stage1"
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False)["state_dict"]
    for key, value in cli.model.state_dict().items():  # the selected weights are the ones left in the model
        torch.testing.assert_close(value, best[key])
    history = [float(r["val/objective"]) for r in csv.DictReader(open(run / "metrics.csv")) if r.get("val/objective")]
    assert len(history) == 6
    cli.trainer.validate(cli.model, datamodule=cli.datamodule, verbose=False)
    assert float(cli.trainer.callback_metrics["val/objective"]) == pytest.approx(min(history), rel=1e-5)
    for variant, file in ESTIMATE_FILES.items():
        record = json.loads((run / file).read_text())
        T_hat = torch.tensor(record["T_hat"], dtype=torch.float64)
        torch.testing.assert_close(T_hat.sum(1), torch.ones(10, dtype=torch.float64))
        assert record["num_inputs"] == 1200 and record["variant"] == variant  # training + validation inputs
        torch.testing.assert_close(torch.tensor(record["T_true"], dtype=torch.float64), cli.datamodule.T)
    metrics = cli.trainer.callback_metrics
    assert {"noise/T_hat_l1", "noise/T_hat_l1_noisy_rows", "noise/T_hat_condition", "noise/T_hat_argmax_l1"} <= \
        set(metrics)


def test_a_null_percentile_writes_the_argmax_anchors_in_both_files(tmp_path):
    """estimator_percentile: null is the code's plain argmax (its CIFAR-100 choice): the file the T̂ rows read holds
    it, not the 97th-percentile variant."""
    cfg = _config(tmp_path, "argmax", estimator_percentile=None)
    cfg["trainer"]["max_epochs"] = 2
    cli = ReproCLI(args=cfg, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    records = {v: json.loads((tmp_path / "argmax" / f).read_text()) for v, f in ESTIMATE_FILES.items()}
    assert records["percentile"]["percentile"] is None
    assert records["percentile"]["T_hat"] == records["argmax"]["T_hat"]


def test_backward_with_a_singular_true_T_stops_with_one_clear_error(tmp_path):
    cfg = _config(tmp_path, "singular", loss="backward", transition="true", estimate_transition=False)
    cfg["data"]["init_args"]["label_noise"] = 0.5  # 5↔6 swapped at ½: T is singular
    cli = ReproCLI(args=cfg, run=False)
    with pytest.raises(ConfigValueError, match="singular"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)


def _small_study(tmp_path: Path) -> Study:
    raw = yaml.safe_load(QUICK.read_text())
    raw["trainer"]["max_epochs"] = 3
    raw["grid"]["data.init_args.label_noise"] = [0.4]
    raw["grid"]["seed_everything"] = [0]
    path = tmp_path / "configs" / "loss_correction" / "small.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return Study.load(path)


def test_the_study_runs_stage_one_first_and_feeds_its_estimate_to_stage_two(tmp_path):
    runner = StudyRunner(_small_study(tmp_path), tmp_path / "out", workers=1)
    names = [j.name for j in runner.jobs]
    assert names.index("label_noise=0.4,method=CE,seed=0") < names.index("label_noise=0.4,method=forward_T_hat,seed=0")
    rows = {r["method"]: r for r in runner.run(progress=False)}
    assert not runner.failures and len(rows) == 4
    for method in ("forward_T_hat",):  # the matrix in use is stage 1's estimate
        assert rows[method]["noise/T_l1"] == pytest.approx(rows["CE"]["noise/T_hat_l1"])
    assert rows["forward_T"]["noise/T_l1"] == pytest.approx(0.0, abs=1e-6)  # T kept in float32
    result = json.loads((Path(rows["CE"]["run_dir"]) / "result.json").read_text())
    assert len(result["noise"]["transition"]) == 10  # the true T recorded with the run


def test_a_failed_stage_one_reports_its_dependents_as_not_run(tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("disk full while writing T̂")

    monkeypatch.setattr(LossCorrection, "_write_estimates", broken)
    # the study's one-step check before training would meet the broken write first and stop the study; this test
    # is about a stage-one run that fails during the study
    monkeypatch.setattr("repro.studies.runner.check_study", lambda *args: None)
    runner = StudyRunner(_small_study(tmp_path), tmp_path / "out", workers=1)
    rows = runner.run(progress=False)
    assert "disk full" in runner.failures["label_noise=0.4,method=CE,seed=0"]
    for method in ("forward_T_hat",):
        assert runner.failures[f"label_noise=0.4,method={method},seed=0"].startswith(
            "not run: it takes its input from label_noise=0.4,method=CE,seed=0")
    assert sorted(r["method"] for r in rows) == ["backward_T", "forward_T"]  # the rest of the study finished


def test_init_weights_starts_a_fresh_fit_from_another_runs_checkpoint(tmp_path):
    first = _config(tmp_path, "first")
    first["trainer"]["max_epochs"] = 1
    cli = ReproCLI(args=first, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    best = tmp_path / "first" / "checkpoints" / "best.ckpt"
    saved = torch.load(best, weights_only=False)["state_dict"]
    second = _config(tmp_path, "second", init_weights=str(best), estimate_transition=False)
    second["trainer"]["max_epochs"] = 1
    second["model"]["init_args"]["optimizer"]["init_args"]["lr"] = 0.0  # weights stay where they started
    cli = ReproCLI(args=second, run=False)
    fresh = {k: v.clone() for k, v in cli.model.state_dict().items()}
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    for key, value in cli.model.state_dict().items():
        torch.testing.assert_close(value, saved[key])
    assert any(not torch.equal(fresh[k], saved[k]) for k in saved)  # it did not start there by chance
    missing = _config(tmp_path, "missing", init_weights=str(tmp_path / "nowhere.ckpt"), estimate_transition=False)
    cli = ReproCLI(args=missing, run=False)
    with pytest.raises(ReproError, match="init_weights: no checkpoint at"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
