"""Study files: grid expansion, the config hash that keys the result cache, run planning."""

from __future__ import annotations

import copy

import pytest
import yaml

from repro.errors import ReproError
from repro.studies.runner import StudyRunner
from repro.studies.study import Study, config_hash, get_dotted, set_dotted, short_name


def test_grid_expands_in_order_with_short_names(quick_yaml):
    study = Study.load(quick_yaml)
    runs = study.runs()
    widths = study.grid["model.init_args.backbone.init_args.width"]
    assert len(runs) == len(widths) * 3
    assert runs[0].overrides == {"width": widths[0], "seed": 0}
    assert runs[1].overrides == {"width": widths[0], "seed": 1}
    assert get_dotted(runs[3].config, "model.init_args.backbone.init_args.width") == widths[1]
    assert runs[3].name == f"width={widths[1]},seed=0"
    # the base config is not mutated by expansion
    assert get_dotted(study.base, "model.init_args.backbone.init_args.width") == 32


def test_grid_override_replaces_an_axis(quick_yaml):
    runs = Study.load(quick_yaml).runs({"seed_everything": [7]})
    assert {r.overrides["seed"] for r in runs} == {7}


def test_short_and_dotted_helpers():
    assert short_name("model.init_args.backbone.init_args.width") == "width"
    assert short_name("seed_everything") == "seed"
    cfg: dict = {}
    set_dotted(cfg, "a.b.c", 3)
    assert cfg == {"a": {"b": {"c": 3}}} and get_dotted(cfg, "a.b.c") == 3 and get_dotted(cfg, "a.x", 5) == 5


def _runner(tmp_path, study, **grid):
    return StudyRunner(study, tmp_path / "out", workers=1, threads=1, grid_overrides=grid or None)


def test_config_hash_is_stable_across_parses(tmp_path, quick_yaml):
    a = _runner(tmp_path, Study.load(quick_yaml)).jobs
    b = _runner(tmp_path, Study.load(quick_yaml)).jobs
    assert [j.hash for j in a] == [j.hash for j in b]
    assert len({j.hash for j in a}) == len(a), "every grid point is a different run"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model.init_args.optimizer.init_args.lr", 0.02),
        ("model.init_args.optimizer.init_args.betas", [0.8, 0.999]),
        ("data.init_args.label_noise", 0.1),
        ("data.init_args.noise_seed", 1),
        ("trainer.max_epochs", 1999),
        ("model.init_args.backbone.init_args.depth", 2),
        ("model.init_args.backbone.class_path", "repro.models.cnn.FiveLayerCNN"),
    ],
)
def test_config_hash_changes_with_any_hyperparameter(tmp_path, quick_yaml, key, value):
    study = Study.load(quick_yaml)
    before = _runner(tmp_path, study, seed_everything=[0]).jobs[0].hash
    changed = copy.deepcopy(study)
    set_dotted(changed.base, key, value)
    if key.endswith("class_path"):
        changed.base["data"]["init_args"]["source"] = "cifar10"
    after = _runner(tmp_path, changed, seed_everything=[0]).jobs[0].hash
    assert before != after


def test_config_hash_ignores_display_and_output_settings(tmp_path, quick_yaml):
    study = Study.load(quick_yaml)
    before = _runner(tmp_path, study, seed_everything=[0]).jobs[0].hash
    changed = copy.deepcopy(study)
    set_dotted(changed.base, "trainer.enable_progress_bar", True)
    set_dotted(changed.base, "run.tags", ["mine"])
    assert _runner(tmp_path, changed, seed_everything=[0]).jobs[0].hash == before
    # and an explicit default is the same run as an implicit one (the hash is of the resolved config)
    set_dotted(changed.base, "model.init_args.optimizer.init_args.eps", 1e-8)
    assert _runner(tmp_path, changed, seed_everything=[0]).jobs[0].hash == before


def test_config_hash_of_plain_dicts():
    cfg = {"trainer": {"max_epochs": 3, "logger": False}, "model": {"a": 1}, "run": {"out_dir": "x"}}
    same = {"model": {"a": 1}, "trainer": {"max_epochs": 3}, "run": {"out_dir": "y"}}
    assert config_hash(cfg) == config_hash(same)
    assert config_hash(cfg) != config_hash({**cfg, "model": {"a": 2}})
    assert len(config_hash(cfg)) == 12


def test_bad_config_key_is_one_clear_error(tmp_path, quick_yaml):
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["model"]["init_args"]["widht"] = 8
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ReproError, match="widht"):
        _runner(tmp_path, Study.load(path))


def test_bad_grid_value_is_a_clear_error(tmp_path, quick_yaml):
    with pytest.raises(ReproError, match="width"):
        _runner(tmp_path, Study.load(quick_yaml), **{"model.init_args.backbone.init_args.width": [0]}).check()


def test_missing_study_file(tmp_path):
    with pytest.raises(ReproError, match="repro list"):
        Study.load(tmp_path / "nope.yaml")


def _cases_study(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"init_args": {"loss": "ce", "train_rule": "none"}},
        "data": {"init_args": {"sampler": None}},
        "grid": {
            "method": {"ERM": {"model.init_args.loss": "ce"},
                       "LDAM-DRW": {"model.init_args.loss": "ldam", "model.init_args.train_rule": "drw"},
                       "CB-RS": {"data.init_args.sampler": "class_balanced"}},
            "seed_everything": [0, 1],
        },
    }, sort_keys=False))
    return Study.load(path)


def test_named_cases_set_several_keys_and_record_the_case_name(tmp_path):
    runs = _cases_study(tmp_path).runs()
    assert [r.overrides for r in runs[:3]] == [{"method": "ERM", "seed": 0}, {"method": "ERM", "seed": 1},
                                               {"method": "LDAM-DRW", "seed": 0}]
    ldam = runs[2].config
    assert get_dotted(ldam, "model.init_args.loss") == "ldam"
    assert get_dotted(ldam, "model.init_args.train_rule") == "drw"
    cbrs = runs[4].config
    assert get_dotted(cbrs, "data.init_args.sampler") == "class_balanced"
    assert get_dotted(cbrs, "model.init_args.loss") == "ce"  # untouched keys keep the base value
    assert get_dotted(runs[0].config, "data.init_args.sampler") is None


def test_cases_can_be_selected_on_the_command_line(tmp_path):
    study = _cases_study(tmp_path)
    runs = study.runs({"method": ["CB-RS"], "seed_everything": [3]})
    assert [r.overrides for r in runs] == [{"method": "CB-RS", "seed": 3}]
    with pytest.raises(ReproError, match="no case 'Focal'.*ERM, LDAM-DRW, CB-RS"):
        study.runs({"method": ["Focal"]})


def test_a_grid_key_must_be_a_list_or_cases(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"grid": {"method": {"ERM": "ce"}}}))
    with pytest.raises(ReproError, match="named cases"):
        Study.load(path)


def test_a_stacked_run_becomes_one_row_per_member(tmp_path):
    from repro.studies.results import expand_members

    result = {"overrides": {"eps": 1e-8}, "seconds": 3.0, "members": [{"seed": 0}, {"seed": 1}],
              "metrics": {"member0/val/accuracy": 0.5, "member1/val/accuracy": 0.9, "member1/train/loss": 0.1,
                          "lr": 1e-3}}
    rows = expand_members(result, tmp_path)
    assert rows == [
        {"eps": 1e-8, "run_dir": str(tmp_path), "seconds": 3.0, "seed": 0, "member": 0, "val/accuracy": 0.5},
        {"eps": 1e-8, "run_dir": str(tmp_path), "seconds": 3.0, "seed": 1, "member": 1, "val/accuracy": 0.9,
         "train/loss": 0.1},
    ]
    plain = expand_members({"overrides": {"seed": 2}, "seconds": 1.0, "metrics": {"val/accuracy": 0.7}}, tmp_path)
    assert plain == [{"seed": 2, "run_dir": str(tmp_path), "seconds": 1.0, "val/accuracy": 0.7}]


def test_workers_spread_round_robin_over_gpus():
    from repro.studies.runner import worker_devices

    assert worker_devices(8, 4) == ["0", "1", "2", "3", "0", "1", "2", "3"]
    assert worker_devices(3, 1) == ["0", "0", "0"]  # several small runs share one GPU
    assert worker_devices(2, 0) == [None, None]
