"""A W&B offline run is written by a real fit and read back from its .wandb file: metrics and config present."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

from repro.lightning_cli import ReproCLI

BLOCK = 32 * 1024  # the .wandb file is a LevelDB-style log: 7-byte header, then records in 32 KiB blocks


def read_wandb_records(path: Path):
    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        payload, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            continue
        if kind in (1, 4):  # FULL, LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + payload)
            pending = b""
            yield record
        else:  # FIRST, MIDDLE
            pending += payload


def test_offline_run_has_metrics_and_config(tmp_path, quick_yaml, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run_dir = tmp_path / "run"
    cli = ReproCLI(args=["fit", "--config", str(quick_yaml), "--run.out_dir", str(run_dir), "--run.group", "g1",
                         "--trainer.max_epochs", "6", "--trainer.check_val_every_n_epoch", "3",
                         "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false"])
    import wandb

    wandb.finish()
    files = list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1
    history, config, run = [], {}, None
    for rec in read_wandb_records(files[0]):
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
    assert config["model"]["class_path"] == "repro.methods.double_descent.DoubleDescent"
    assert config["data"]["init_args"]["label_noise"] == 0.2
