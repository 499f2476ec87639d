"""A study run with --set/--grid is recorded as such (report.md, claims.json, the figure's title), `repro report` takes
the same flags and finds those runs, and every printed command names a user's own study file by its path."""

from __future__ import annotations

import json
import shlex
import shutil

import yaml

from repro.cli import main
from repro.studies.study import Study

WIDTH = "model.init_args.backbone.init_args.width"


def test_the_command_names_a_papers_study_by_name_and_a_users_file_by_its_path(tmp_path, quick_yaml):
    assert Study.load(quick_yaml).command() == "repro reproduce double_descent --study quick"
    own = tmp_path / "my study.yaml"
    shutil.copy(quick_yaml, own)
    study = Study.load(own).with_overrides({"data.init_args.label_noise": 0}, {"seed_everything": [0, 1]})
    command = study.command("report")
    assert shlex.split(command) == ["repro", "report", "double_descent", "--study", str(own),
                                    "--set", "data.init_args.label_noise=0", "--grid", "seed_everything=[0, 1]"]
    assert study.meta["title"].endswith("[--set data.init_args.label_noise=0 --grid 'seed_everything=[0, 1]']")
    assert "20% label noise [--set data.init_args.label_noise=0" in study.meta["title"]


def test_a_study_run_with_set_is_reported_so_and_report_takes_the_same_flags(tmp_path, quick_yaml, capsys):
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["grid"] = {WIDTH: [4, 8], "seed_everything": [0]}
    study = tmp_path / "mine.yaml"
    study.write_text(yaml.safe_dump(raw))
    flags = ["--set", "trainer.max_epochs=3", "--set", "data.init_args.label_noise=0"]
    common = ["double_descent", "--study", str(study), "--out", str(tmp_path / "out")]
    assert main(["reproduce", *common, *flags, "--workers", "1", "--threads", "1", "--no-progress"]) in (0, 1)
    folder = tmp_path / "out" / "double_descent" / "mine"
    report = (folder / "report.md").read_text()
    assert "**Overrides: `--set trainer.max_epochs=3` `--set data.init_args.label_noise=0`**" in report
    assert f"Reproduce: `repro reproduce double_descent --study {study} --set trainer.max_epochs=3" in report
    claims = json.loads((folder / "claims.json").read_text())
    assert claims and all(c["overrides"] == {"set": {"trainer.max_epochs": 3, "data.init_args.label_noise": 0}}
                          for c in claims)
    capsys.readouterr()

    assert main(["report", *common, *flags]) in (0, 1)  # the same runs, redrawn
    assert "report:" in capsys.readouterr().out
    assert main(["report", *common]) == 2  # without the flags: other runs, none finished
    err = capsys.readouterr().err
    assert "for this study with these overrides" in err and f"--study {study}" in err
