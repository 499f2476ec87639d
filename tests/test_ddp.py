"""`repro fit` under DDP on CPU with 2 processes (gloo): disjoint shards, metrics logged once."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def test_fit_under_ddp_two_processes(tmp_path, quick_yaml):
    cfg = yaml.safe_load(quick_yaml.read_text())
    cfg["trainer"].update(max_epochs=2, check_val_every_n_epoch=1, accelerator="cpu", devices=2, strategy="ddp",
                          enable_progress_bar=False, callbacks=[
                              {"class_path": "ddp_probe.RecordIndices", "init_args": {"out_dir": str(tmp_path)}}])
    cfg["data"]["init_args"]["batch_size"] = 100
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run_dir = tmp_path / "run"
    repro = Path(sys.executable).with_name("repro")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(repro), "fit", "--config", str(path), "--run.out_dir", str(run_dir)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 for r in ranks)
    for epoch in ("0", "1"):
        a, b = set(ranks[0]["seen"][epoch]), set(ranks[1]["seen"][epoch])
        assert len(a) == len(b) == 600, "each rank trains on half of the 1200 examples"
        assert not a & b, "the two ranks' shards are disjoint"
        assert len(a | b) == 1200
    assert ranks[0]["seen"]["0"] != ranks[0]["seen"]["1"], "a new permutation each epoch"
    with open(run_dir / "metrics.csv") as f:
        evals = [r for r in csv.DictReader(f) if r.get("test/error")]
    assert len(evals) == 2, "one row per validation, written once (by rank 0)"
    assert {r["epoch"] for r in evals} == {"0", "1"}
