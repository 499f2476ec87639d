"""Mistakes a ``--set`` makes are reported against that ``--set``, and a value torch's optimizer refuses (a negative
learning rate) stops the study before any run starts, with the key named."""

from __future__ import annotations

import pytest

from repro.errors import ReproError
from repro.studies.runner import StudyRunner
from repro.studies.study import Study


@pytest.mark.parametrize("key", ["model.init_args.lrr", "trainer.max_epoch"])
def test_an_unknown_key_from_a_set_names_the_set(tmp_path, quick_yaml, key):
    with pytest.raises(ReproError) as err:
        StudyRunner(Study.load(quick_yaml), tmp_path, grid_overrides={"seed_everything": [0]},
                    cli_overrides={key: 1})
    assert str(err.value).startswith(f"--set {key}=1: ")
    assert repr(key.rsplit(".", 1)[-1]) in str(err.value)


def test_an_unknown_key_in_the_file_still_names_the_file(tmp_path, quick_yaml):
    raw = quick_yaml.read_text().replace("seed_everything:", "seed_everythin:", 1)
    study = tmp_path / "typo.yaml"
    study.write_text(raw)
    with pytest.raises(ReproError, match="typo.yaml"):
        StudyRunner(Study.load(study), tmp_path / "out")


def test_a_negative_learning_rate_stops_the_study_before_training(tmp_path, quick_yaml):
    runner = StudyRunner(Study.load(quick_yaml), tmp_path, grid_overrides={"seed_everything": [0]},
                         cli_overrides={"model.init_args.optimizer.init_args.lr": -0.1})
    with pytest.raises(ReproError) as err:
        runner.run(progress=False)
    message = str(err.value)
    assert message.startswith("--set model.init_args.optimizer.init_args.lr=-0.1: ")
    assert "Invalid learning rate: -0.1" in message
    assert not list(tmp_path.rglob("metrics.csv")) and not list(tmp_path.rglob("result.json"))  # nothing trained
