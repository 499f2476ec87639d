"""A W&B offline run is written by a real fit and read back from its .wandb file: metrics and config present."""

from __future__ import annotations

import json
from pathlib import Path

from repro.lightning_cli import ReproCLI
from repro.wandb_offline import read_records as read_wandb_records  # the library's reader of a .wandb log


def finished_records(path: Path, timeout: float = 60.0) -> list:
    """The records of a finished run's log; W&B's service may still be writing it when ``finish`` returns
    (seen on a loaded 2-core machine), so wait for its exit record."""
    import time

    deadline = time.time() + timeout
    while True:
        records = list(read_wandb_records(path))
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.time() > deadline:
            return records
        time.sleep(0.5)


def test_offline_run_has_metrics_and_config(tmp_path, quick_yaml, monkeypatch, capfd):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run_dir = tmp_path / "run"
    cli = ReproCLI(args=["fit", "--config", str(quick_yaml), "--run.out_dir", str(run_dir), "--run.group", "g1",
                         "--trainer.max_epochs", "6", "--trainer.check_val_every_n_epoch", "3",
                         "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false"])
    import wandb

    wandb.finish()
    assert "anonymous" not in capfd.readouterr().err  # no W&B warning no user can act on
    files = list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1
    history, config, run = [], {}, None
    for rec in finished_records(files[0]):
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "config":
            config.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.config.update})
        elif kind == "run":
            run = rec.run
            config.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in run.config.update})
    assert run.project == "repro-double_descent" and run.run_group == "g1" and run.display_name == "run"
    evals = [h for h in history if "test/error" in h]
    assert len(evals) == 2
    assert abs(evals[-1]["test/error"] - float(cli.trainer.callback_metrics["test/error"])) < 1e-6
    assert any("fit/loss" in h for h in history)
    assert config["model"]["class_path"] == "repro.papers.double_descent.method.DoubleDescent"
    assert config["data"]["init_args"]["label_noise"] == 0.2


def test_stacked_members_are_separate_wandb_runs(tmp_path, quick_yaml, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run_dir = tmp_path / "run"
    cli = ReproCLI(args=["fit", "--config", str(quick_yaml), "--run.out_dir", str(run_dir), "--run.name", "w=32",
                         "--model.init_args.stack_seeds", "[0, 1]",
                         "--trainer.max_epochs", "4", "--trainer.check_val_every_n_epoch", "4",
                         "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false"])
    from repro.tracking import finish_wandb

    finish_wandb(cli.trainer)
    files = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 2
    runs = {}
    for path in files:
        history, run = [], None
        for rec in finished_records(path):
            kind = rec.WhichOneof("record_type")
            if kind == "history":
                history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
            elif kind == "run":
                run = rec.run
        runs[run.display_name] = history
    assert set(runs) == {"w=32,seed=0", "w=32,seed=1"}
    for i in (0, 1):
        history = runs[f"w=32,seed={i}"]
        evals = [h for h in history if "test/error" in h]
        assert len(evals) == 1
        # each run holds its own member's numbers under the plain names, and no other member's
        assert abs(evals[0]["test/error"] - float(cli.trainer.callback_metrics[f"member{i}/test/error"])) < 1e-6
        assert not any(k.startswith("member") for h in history for k in h)
        assert sum("fit/loss" in h for h in history) == 4
