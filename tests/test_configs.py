"""Every study config in configs/ parses, builds, and trains one fast_dev_run step (timm-style sweep)."""

from __future__ import annotations

import pytest
import torch
from conftest import CONFIGS
from fakes import FAKE_SOURCES

from repro.lightning_cli import ReproCLI
from repro.studies.claims import resolve_claim
from repro.studies.study import Study

STUDIES = sorted(CONFIGS.glob("*/*.yaml"))


def test_there_are_configs_for_both_scales():
    scales = {Study.load(p).scale for p in STUDIES}
    assert {"quick", "paper"} <= scales <= {"quick", "paper", "gpu"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_trains_one_step(path, tmp_path, monkeypatch, no_md5_check, request):
    study = Study.load(path)
    assert study.paper == path.parent.name and study.claims and study.x_key
    assert all(callable(resolve_claim(c["type"])) for c in study.claims)
    # the last grid point that trains on its own (usually the largest model); a run that reads another run's
    # output ({from_run: ...}) cannot train before that run
    spec = [s for s in study.runs() if "'from_run'" not in repr(s.config)][-1]
    cfg = spec.config
    data = cfg["data"].get("init_args", {})
    # paper scale: small datasets in the real on-disk format, for the training source and any OOD sets
    needed = dict.fromkeys([data.get("source"), *(data.get("ood_sets") or {}).values()])
    if "fashion_mnist" in needed:
        request.getfixturevalue("fashion_mnist")  # the real files, through the library's install path
    faked = [s for s in needed if s in FAKE_SOURCES]
    for source in faked:
        FAKE_SOURCES[source](tmp_path / "data")
    if faked:
        monkeypatch.setenv("REPRO_DATA", str(tmp_path / "data"))
        data["download"] = False
        # one step of a paper-size network on a CPU: a small batch keeps it to seconds
        data.update(batch_size=min(data.get("batch_size") or 16, 16), eval_batch_size=64)
        if "num_workers" in data:  # a streamed source: decode in this process, not in a pool of workers
            data["num_workers"] = 0
    backbone = cfg["model"].get("init_args", {}).get("backbone", {}).get("init_args", {})
    if backbone.get("weights"):  # pretrained weights would be downloaded: a random initialisation instead
        backbone["weights"] = None
    cfg["trainer"].update(fast_dev_run=True, enable_progress_bar=False, enable_model_summary=False)
    cfg["run"] = {"out_dir": str(tmp_path / "run")}
    cli = ReproCLI(args=cfg, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.trainer.global_step == 1
    # stacked members write their losses straight to the loggers; the loop's own copy is in callback_metrics
    loss = cli.trainer.callback_metrics["fit/loss"]
    assert torch.isfinite(loss) and loss > 0
