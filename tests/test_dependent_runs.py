"""Runs that take another grid point's output as input (``{from_run: {...}, file: ...}``): ordered, cached by a
hash that covers the input run, resumable, and reported as not run when their input run fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from repro.errors import ReproError
from repro.papers.double_descent.method import DoubleDescent
from repro.studies.runner import StudyRunner
from repro.studies.study import Study


class WritesItsWeightNorm(DoubleDescent):
    """Stage 1: writes ``norm.json`` (its final head-weight norm) into its run folder; can be told to diverge."""

    def __init__(self, *args, diverge: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.diverge = diverge

    def loss(self, logits, batch):
        value = super().loss(logits, batch)
        return value * float("nan") if self.diverge else value

    def on_fit_end(self) -> None:
        norm = float(self.backbone.head.weight.detach().norm())
        (Path(self.trainer.default_root_dir) / "norm.json").write_text(json.dumps({"norm": norm}))


class ReadsANorm(DoubleDescent):
    """Stage 2: reads the file it was given at fit start (not at build: it does not exist while planning)."""

    def __init__(self, *args, norm_file: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.norm_file = norm_file

    def on_fit_start(self) -> None:
        self.given = json.loads(Path(self.norm_file).read_text())["norm"]

    def derived_metrics(self, metrics):
        return {"given/norm": self.given}


def _study(tmp_path: Path, quick_yaml: Path) -> Study:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["trainer"].update(max_epochs=3, check_val_every_n_epoch=3)
    raw["model"]["init_args"]["backbone"]["init_args"]["width"] = 4
    raw["model"]["init_args"]["nan_check_every"] = 1
    stage1 = {"model.class_path": "test_dependent_runs.WritesItsWeightNorm"}
    raw["grid"] = {
        "method": {
            "stage2": {"model.class_path": "test_dependent_runs.ReadsANorm",
                       "model.init_args.norm_file": {"from_run": {"method": "stage1"}, "file": "norm.json"}},
            "stage1": stage1,
        },
        "seed_everything": [0, 1],
    }
    raw["claims"] = []
    raw["study"]["x"] = "seed"  # the quick study's axis (width) is no grid key here
    path = tmp_path / "configs" / "double_descent" / "dep.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return Study.load(path)


def test_stage_two_runs_after_stage_one_and_reads_its_output(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    runner = StudyRunner(study, tmp_path / "out", workers=1)
    names = [j.name for j in runner.jobs]
    assert names.index("method=stage1,seed=0") < names.index("method=stage2,seed=0")  # grid order put stage2 first
    rows = runner.run(progress=False)
    assert not runner.failures
    by = {(r["method"], r["seed"]): r for r in rows}
    for seed in (0, 1):
        written = json.loads((Path(by[("stage1", seed)]["run_dir"]) / "norm.json").read_text())["norm"]
        assert by[("stage2", seed)]["given/norm"] == pytest.approx(written)  # its own seed's stage 1, not another
    assert by[("stage2", 0)]["given/norm"] != pytest.approx(by[("stage2", 1)]["given/norm"])
    # cached: a rerun trains nothing, and the dependent's hash is stable
    again = StudyRunner(study, tmp_path / "out", workers=1)
    assert again.pending() == [] and [j.hash for j in again.jobs] == [j.hash for j in runner.jobs]


def test_the_dependents_hash_follows_its_input_run(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    before = {j.name: j.hash for j in StudyRunner(study, tmp_path / "out", workers=1).jobs}
    study.grid["method"]["stage1"]["model.init_args.backbone.init_args.width"] = 5
    after = {j.name: j.hash for j in StudyRunner(study, tmp_path / "out", workers=1).jobs}
    assert before["method=stage1,seed=0"] != after["method=stage1,seed=0"]
    assert before["method=stage2,seed=0"] != after["method=stage2,seed=0"]  # its input changed, so it did


def test_a_failed_stage_one_reports_its_dependent_as_not_run(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    study.grid["seed_everything"] = [0]
    study.grid["method"]["stage1"]["model.init_args.diverge"] = True
    runner = StudyRunner(study, tmp_path / "out", workers=1)
    runner.check = lambda: None  # the one-step check before training would meet the divergence first
    rows = runner.run(progress=False)
    assert rows == []
    assert "nan" in runner.failures["method=stage1,seed=0"].lower()
    assert runner.failures["method=stage2,seed=0"].startswith("not run: it takes its input from method=stage1")
    with pytest.raises(ReproError, match="2 run"):
        runner.raise_failures()


def test_the_pool_orders_dependents_too(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    runner = StudyRunner(study, tmp_path / "out", workers=2, threads=1)
    rows = runner.run(progress=False)
    assert not runner.failures and len(rows) == 4
    assert all("given/norm" in r for r in rows if r["method"] == "stage2")


@pytest.mark.parametrize("ref, match", [
    ({"from_run": {"method": "stage3"}, "file": "norm.json"}, "does not have"),
    ({"from_run": {"method": "stage2"}, "file": "norm.json"}, "its own output"),
    ({"from_run": "stage1", "file": "norm.json"}, "from_run"),
])
def test_bad_references_are_clear_errors(tmp_path, quick_yaml, ref, match):
    study = _study(tmp_path, quick_yaml)
    study.grid["method"]["stage2"]["model.init_args.norm_file"] = ref
    with pytest.raises(ReproError, match=match):
        StudyRunner(study, tmp_path / "out", workers=1)
