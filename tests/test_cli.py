"""The `repro` command: list, reproduce, fit, print_config, overrides, and every bad input's one clear error."""

from __future__ import annotations

import csv
import json
import re

import pytest
import torch
import yaml

from repro.cli import main
from repro.papers.double_descent.method import DoubleDescent, noisy_scale_error

FIT_FAST = ["--trainer.max_epochs", "20", "--trainer.check_val_every_n_epoch", "10",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _metrics(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_list_shows_papers_and_studies_in_80_columns_and_a_papers_claims(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80 and len(lines) < 80
    assert any(line.split()[:3] == ["double_descent", "quick", "quick"] for line in lines)
    assert any(line.startswith("ldam_drw") for line in lines)
    assert main(["list", "double_descent"]) == 0
    out = capsys.readouterr().out
    assert "quick (quick, 36 runs): Model-wise double descent" in out and "interpolation threshold" in out
    assert max(map(len, out.splitlines())) <= 80
    assert main(["list", "double_dessert"]) == 2


def test_unknown_paper_is_one_clear_error(capsys):
    assert main(["reproduce", "double_dessert", "--scale", "quick"]) == 2
    err = capsys.readouterr().err
    assert "unknown paper 'double_dessert'" in err and "double_descent" in err and "Traceback" not in err


def test_an_unknown_paper_or_study_is_reported_before_torch_is_imported():
    import subprocess
    import sys

    from conftest import ROOT

    code = ("import sys; from repro.cli import main; codes = [main(['reproduce', 'double_dessert']), "
            "main(['report', 'double_descent', '--study', 'quik'])]; print(codes, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[2, 2] False", done.stderr


def test_reproduce_help_lists_the_papers_studies_and_the_default_scale(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "ldam_drw", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "paper (the default)" in out
    assert "studies of ldam_drw" in out and "quick quick LDAM-DRW vs ERM" in out


def test_unknown_study_names_the_studies(capsys):
    assert main(["reproduce", "double_descent", "--study", "nope"]) == 2
    assert "quick" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--grid", "model.init_args.backbone.init_args.width=[0]"], ["width", "got 0"]),
        (["--set", "data.init_args.label_noise=1.5"], ["label_noise", "[0, 1)"]),
        (["--set", "model.init_args.backbone.init_args.widht=8"], ["widht"]),
    ],
)
def test_bad_input_to_reproduce_is_one_clear_error(tmp_path, capsys, args, needles):
    code = main(["reproduce", "double_descent", "--scale", "quick", "--out", str(tmp_path), "--no-progress", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("repro: error:") == 1 and "Traceback" not in err and "Namespace(" not in err
    for needle in needles:
        assert needle in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"


def test_missing_dataset_stops_before_training(tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "double_descent", "--scale", "paper", "--out", str(tmp_path), "--no-progress",
                 "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "REPRO_DATA" in err and "cifar-10-batches-py" in err and "Traceback" not in err


def test_fit_trains_one_run_and_logs_the_noisy_scale(tmp_path, quick_yaml, capsys):
    run_dir = tmp_path / "fit"
    main(["fit", "--config", str(quick_yaml), "--run.out_dir", str(run_dir), *FIT_FAST,
          "--model.init_args.backbone.init_args.width", "7"])
    printed = capsys.readouterr().out  # the final metrics and where the run went
    assert "final metrics:" in printed and f"run folder: {run_dir}" in printed
    assert re.search(r"^  test/error\s+[0-9.]+$", printed, re.M)
    rows = [r for r in _metrics(run_dir) if r.get("test/error")]
    assert len(rows) == 2, "validation ran at epochs 10 and 20, logged once each"
    last = rows[-1]
    assert float(last["test/error_noisy_scale"]) == pytest.approx(
        noisy_scale_error(float(last["test/error"]), 0.2, 10), abs=1e-6)
    assert 0 <= float(last["train/error"]) <= 1 and float(last["train/error_clean"]) >= 0
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"]["init_args"]["backbone"]["init_args"]["width"] == 7, "CLI override reached the run"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["packages"]["torch"] and "sha" in manifest["git"] and manifest["device"]
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    assert ckpt["state_dict"]["backbone.hidden.0.weight"].shape[0] == 7 if "backbone.hidden.0.weight" in ckpt[
        "state_dict"] else any(v.shape[0] == 7 for v in ckpt["state_dict"].values() if v.dim() == 2)


def test_print_config_prints_the_resolved_config(capsys, quick_yaml):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(quick_yaml), "--print_config"])
    assert exit_.value.code == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["model"]["class_path"] == "repro.papers.double_descent.method.DoubleDescent"
    assert cfg["model"]["init_args"]["backbone"]["init_args"] == {  # the YAML's values, the defaults resolved
        "width": 32, "depth": 1, "bottleneck": None, "bottleneck_after": None, "activation": "relu"}
    assert cfg["model"]["init_args"]["optimizer"]["init_args"]["betas"] == [0.9, 0.999]  # defaults resolved
    assert cfg["data"]["init_args"]["label_noise"] == 0.2


def test_fit_with_a_bad_key_exits_with_jsonargparse_message(capsys, quick_yaml):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(quick_yaml), "--model.init_args.widht", "3"])
    assert exit_.value.code == 2
    assert "widht" in capsys.readouterr().err


@pytest.mark.parametrize("key, value, message", [
    ("--data.init_args.label_noise", "1.5",
     "label noise rate must be in [0, 1), got 1.5 (set data.init_args.label_noise)"),
    ("--model.init_args.backbone.init_args.width", "0", "width must be an integer >= 1, got 0"),
])
def test_fit_with_an_impossible_value_is_one_line_naming_the_key(capsys, quick_yaml, tmp_path, key, value, message):
    code = main(["fit", "--config", str(quick_yaml), "--run.out_dir", str(tmp_path / "fit"), key, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith(f"repro: error: {message}")
    assert "Traceback" not in "\n".join(err) and not (tmp_path / "fit" / "metrics.csv").exists()


def test_resume_continues_from_the_last_checkpoint(tmp_path, quick_yaml):
    from repro.lightning_cli import ReproCLI

    run_dir = tmp_path / "resume"
    common = ["--config", str(quick_yaml), "--run.out_dir", str(run_dir), "--trainer.enable_progress_bar", "false",
              "--trainer.check_val_every_n_epoch", "5"]
    ReproCLI(args=["fit", *common, "--trainer.max_epochs", "5"])
    with open(run_dir / "metrics.csv", "a") as f:  # a row logged after the checkpoint, before a crash
        f.write("5,9.9,6,0.99,,,,,\n")
    cli = ReproCLI(args=["fit", *common, "--trainer.max_epochs", "10", "--ckpt_path", "last"])
    assert cli.trainer.global_step == 10, "resumed at step 5 and ran 5 more"
    assert isinstance(cli.model, DoubleDescent)
    evals = [(r["epoch"], r["test/error"]) for r in _metrics(run_dir) if r.get("test/error")]
    assert [e for e, _ in evals] == ["4", "9"], "the history before the resume is kept, the stale row dropped"
    assert "0.99" not in [v for _, v in evals]


class DivergesWhenWide(DoubleDescent):
    """Produces a NaN loss for wide models: a stand-in for a diverging run inside a study."""

    def loss(self, logits, batch):
        value = super().loss(logits, batch)
        return value * float("nan") if self.backbone.head.in_features >= 8 else value


def test_nan_loss_fails_its_run_only_and_keeps_finished_results(tmp_path, capsys, quick_yaml, monkeypatch):
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["model"]["class_path"] = "test_cli.DivergesWhenWide"
    raw["model"]["init_args"]["nan_check_every"] = 1
    raw["trainer"].update(max_epochs=5, check_val_every_n_epoch=5)
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4, 8], "seed_everything": [0]}
    study = tmp_path / "configs" / "double_descent" / "nan.yaml"
    study.parent.mkdir(parents=True)
    study.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("REPRO_CONFIGS", str(tmp_path / "configs"))
    code = main(["reproduce", "double_descent", "--study", "nan", "--out", str(tmp_path / "out"),
                 "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "1 run(s) failed" in err and "width=8" in err and "nan" in err.lower() and "learning rate" in err
    done = list((tmp_path / "out").rglob("result.json"))
    assert len(done) == 1 and "width=4" in str(done[0])
