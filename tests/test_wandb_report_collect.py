"""A tiny study logged to offline W&B runs: its W&B Report is built (not saved) with the expected blocks, panels
whose keys the runs logged, and a runset filtered to the runs' project and group; and the offline run folders,
read back by `repro collect`, give the same results table, claims and histories as the local cache."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import wandb_workspaces.reports.v2 as wr
import yaml

from repro.cli import main
from repro.report.wandb_report import build_report
from repro.studies.claims import evaluate
from repro.studies.runner import StudyRunner
from repro.studies.study import Study
from repro.wandb_offline import offline_runs, read_offline_run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, request):
    from conftest import CONFIGS

    tmp = tmp_path_factory.mktemp("wandb_tiny")
    raw = yaml.safe_load((CONFIGS / "double_descent" / "quick.yaml").read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["study"].update(name="tiny_wb", workers=1, figures=[{"kind": "curve", "metrics": ["test/error"]},
                                                             {"kind": "history", "metric": "test/error"}])
    raw["trainer"].update(max_epochs=6, check_val_every_n_epoch=3, log_every_n_steps=1)
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4, 6]}
    raw["claims"] = [{"type": "at_most", "metric": "test/error", "value": 1.0, "name": "error at most 1"}]
    path = tmp / "tiny_wb.yaml"
    path.write_text(yaml.safe_dump(raw))
    mp = pytest.MonkeyPatch()
    mp.setenv("WANDB_MODE", "offline")
    try:
        assert main(["reproduce", "double_descent", "--study", str(path), "--out", str(tmp / "local"),
                     "--workers", "1", "--threads", "1", "--no-progress"]) == 0
    finally:
        mp.undo()
    out = tmp / "local" / "double_descent" / "tiny_wb"
    runs = [read_offline_run(folder, wait=60) for folder in offline_runs(out)]
    assert len(runs) == 2 and all(r.finished for r in runs)
    return path, out, runs


def _rows(folder: Path) -> list[dict]:
    with open(folder / "results.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "run_dir"} for r in csv.DictReader(f)]


def test_the_report_spec_has_the_verdict_table_and_figure_panels_on_logged_keys(tiny):
    path, out, runs = tiny
    study = Study.load(path)
    rows = StudyRunner(study, out).collect()
    report = build_report(study, rows, evaluate(study.claims, rows, x=study.x_key), entity="me")
    kinds = [type(b).__name__ for b in report.blocks]
    assert kinds == ["H1", "P", "H2", "MarkdownBlock", "H2", "MarkdownBlock",
                     "H2", "P", "PanelGrid", "H2", "P", "PanelGrid", "H2", "PanelGrid"]
    verdict = report.blocks[3].text.splitlines()
    assert verdict[0] == "| claim | expected | measured | verdict |" and "error at most 1" in verdict[2]
    assert verdict[2].endswith("PASS |")
    assert "| width |" in report.blocks[5].text and len(report.blocks[5].text.splitlines()) == 4  # header + 2 widths
    curve, history = report.blocks[8].panels, report.blocks[11].panels
    assert [type(p).__name__ for p in curve] == ["ScatterPlot"] and [type(p).__name__ for p in history] == ["LinePlot"]
    logged = {k for r in runs for h in r.history for k in h}
    for run in runs:  # the panels read keys every run has: its config's grid point, its summary and history
        assert curve[0].x.name == "run.grid.width" and "width" in run.config["run"]["grid"]
        assert curve[0].y.name in run.summary
    assert history[0].x in logged and set(history[0].y) <= logged
    assert history[0].groupby == "config.run.grid.width" and history[0].groupby_rangefunc == "stddev"
    for grid in (report.blocks[8], report.blocks[11], report.blocks[13]):
        [runset] = grid.runsets
        assert {runset.project} == {r.project for r in runs} == {"repro-double_descent"}
        assert runset.filters == f"Group = '{runs[0].group}'" and {r.group for r in runs} == {"tiny_wb"}
    assert isinstance(report, wr.Report) and report.project == "repro-double_descent"


def test_report_wandb_offline_writes_the_spec_and_says_how_to_publish(tiny, capsys, monkeypatch):
    path, out, _ = tiny
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert main(["report", "double_descent", "--study", str(path), "--out", str(out.parent.parent), "--wandb"]) == 0
    said = capsys.readouterr().out
    assert "not published" in said and "wandb login" in said
    spec = json.loads((out / "wandb_report.json").read_text())
    blocks = spec["spec"]["blocks"]
    assert sum(b["type"] == "panel-grid" for b in blocks) == 3


def test_offline_run_folders_collect_into_the_same_results_table(tiny, tmp_path):
    path, out, _ = tiny
    assert main(["collect", "double_descent", "--study", str(path), "--from", str(out), "--out",
                 str(tmp_path)]) == 0
    got = tmp_path / "double_descent" / "tiny_wb"
    assert _rows(got) == _rows(out)
    assert json.loads((got / "claims.json").read_text()) == json.loads((out / "claims.json").read_text())
    for run in (out / "runs").iterdir():  # the histories the figures read: the same values at the same steps
        mine = {(r["step"], k): float(v) for r in csv.DictReader(open(run / "metrics.csv")) for k, v in r.items()
                if v and k not in ("step", "epoch")}
        back = {(r["step"], k): float(v) for r in csv.DictReader(open(got / "runs" / run.name / "metrics.csv"))
                for k, v in r.items() if v and k not in ("step", "epoch")}
        assert back.keys() == mine.keys() and all(abs(back[k] - mine[k]) < 1e-6 for k in mine)
