"""A study file's mistakes stop it before any run trains: one ``repro: error: <file>:<line>: ...`` line naming the fix,
exit 2 — checked against the metrics one training step of the study's runs actually logs."""

from __future__ import annotations

import pytest
import yaml

from repro.cli import main

WIDTH = "model.init_args.backbone.init_args.width"


def _study(tmp_path, quick_yaml, edit) -> tuple:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["grid"] = {WIDTH: [4, 8], "seed_everything": [0]}
    raw["study"].pop("robustness", None)
    raw["study"].pop("controls", None)  # a constructed study: the claims below need no negative control
    edit(raw)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path, path.read_text().splitlines()


def _reproduce(path, tmp_path, capsys) -> tuple[int, str]:
    code = main(["reproduce", "double_descent", "--study", str(path), "--out", str(tmp_path / "out"),
                 "--workers", "1", "--threads", "1", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert not list((tmp_path / "out").rglob("result.json")), "a run trained before the error"
    return code, err[-1]


def _line_of(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _named_cases(raw):
    raw["grid"] = {"method": {"narrow": {WIDTH: 4}, "wide": {WIDTH: 8}}, "seed_everything": [0]}
    raw["study"]["x"] = "method"
    raw["claims"] = []


MISTAKES = {
    "a misspelt study key": (lambda raw: raw["study"].update(figurs=[{"kind": "curve"}]), "figurs:",
                             "unknown key study.figurs; did you mean 'figures'?"),
    "no x": (lambda raw: raw["study"].pop("x"), "study:", "study.x is missing"),
    "x along named cases with no figures": (_named_cases, "x: method", "a grid of named cases"),
    "x not in the grid": (lambda raw: raw["study"].update(x="widht"), "x: widht", "did you mean 'width'?"),
    "a misspelt claim metric": (
        lambda raw: raw["claims"].append({"type": "at_most", "name": "low error", "metric": "test/eror",
                                          "value": 0.5}),
        "metric: test/eror", "no run logs the metric 'test/eror'; did you mean 'test/error'?"),
    "a misspelt claim argument": (
        lambda raw: raw["claims"].append({"type": "at_most", "name": "low error", "metric": "test/error",
                                          "value": 0.5, "every_rum": True}),
        "every_rum", "takes no 'every_rum'; did you mean 'every_run'?"),
    "a misspelt table metric": (lambda raw: raw["study"].update(table_metrics=["test/eror"]), "table_metrics",
                                "no run logs the metric 'test/eror'"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_is_one_line_naming_file_line_and_fix_before_training(tmp_path, quick_yaml, capsys, mistake):
    edit, where, expected = MISTAKES[mistake]
    path, lines = _study(tmp_path, quick_yaml, edit)
    code, last = _reproduce(path, tmp_path, capsys)
    assert code == 2
    assert last.startswith(f"repro: error: {path}:{_line_of(lines, where)}: "), last
    assert expected in last


def test_a_correct_study_passes_the_check_and_trains(tmp_path, quick_yaml, capsys):
    path, _ = _study(tmp_path, quick_yaml, lambda raw: raw["trainer"].update(max_epochs=5))
    code = main(["reproduce", "double_descent", "--study", str(path), "--out", str(tmp_path / "out"),
                 "--workers", "1", "--threads", "1", "--no-progress"])
    assert code in (0, 1), capsys.readouterr().err  # a verdict (five epochs prove nothing), not an error
    assert len(list((tmp_path / "out").rglob("result.json"))) == 2


def test_a_run_that_crashes_in_its_one_step_check_is_one_line_naming_the_run(tmp_path, quick_yaml, capsys,
                                                                               monkeypatch):
    # a user's subclass whose training step is broken: the check meets it before any run trains
    from repro.papers.double_descent.method import DoubleDescent

    def broken(self, batch, batch_idx):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (64x64 and 63x4)\nmore lines")

    monkeypatch.setattr(DoubleDescent, "training_step", broken)
    path, _ = _study(tmp_path, quick_yaml, lambda raw: None)
    code, last = _reproduce(path, tmp_path, capsys)
    assert code == 2
    assert last.startswith(f"repro: error: {path}: the one-step check of width=4,seed=0 failed"), last
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x64 and 63x4);" in last
    assert "more lines" not in last


def test_check_flag_checks_and_trains_nothing(tmp_path, quick_yaml, capsys):
    path, lines = _study(tmp_path, quick_yaml, lambda raw: None)
    out = tmp_path / "out"
    args = ["reproduce", "double_descent", "--study", str(path), "--out", str(out), "--check"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "checked (2 runs, 2 to train)" in err and f"--study {path}" in err
    assert not list(out.rglob("result.json")) and not list(out.rglob("*.ckpt"))
    bad, lines = _study(tmp_path, quick_yaml, lambda raw: raw["study"].update(x="widht"))
    assert main([*args[:3], str(bad), *args[4:]]) == 2
    assert capsys.readouterr().err.strip().endswith("did you mean 'width'? the grid's keys: width, seed")
