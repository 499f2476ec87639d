"""The robustness check: its conditions (seeds, disjoint seeds, another CPU or another perturbation, negative
controls), the perturbation's measured effect, the table, and one real end-to-end run on a tiny study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from repro.errors import ReproError
from repro.studies.claims import ClaimResult
from repro.studies.robustness import conditions, perturbation_effect, robustness_table, seed_axis
from repro.studies.study import Study


def _study(tmp_path: Path, quick_yaml: Path, **study_meta) -> Study:
    raw = yaml.safe_load(quick_yaml.read_text())
    raw["study"].pop("controls", None)  # its controls name the quick study's own claims
    raw["study"].pop("robustness", None)  # the default perturbation unless a test names one
    raw["study"].update(study_meta)
    raw["trainer"].update(max_epochs=20, check_val_every_n_epoch=20)
    raw["grid"] = {"model.init_args.backbone.init_args.width": [4, 64], "seed_everything": [0, 1]}
    raw["claims"] = [{"type": "less_than", "name": "wide beats narrow", "metric": "train/error",
                      "a": {"width": 64}, "b": {"width": 4}, "margin": 0.01},
                     {"type": "at_most", "name": "narrow fits (cannot)", "metric": "train/error", "value": 0.01,
                      "where": {"width": 4}, "no_control": "meant to fail: the checks need a claim that does not hold"}]
    path = tmp_path / "configs" / "double_descent" / "tiny.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return Study.load(path)


def test_conditions_replace_the_seed_axis_and_perturb(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml, robustness={"perturbation": {"threads": 2}})
    primary, disjoint, perturbed = conditions(study, tmp_path / "out", threads=1)
    assert seed_axis(study) == ("grid", [0, 1])
    assert primary.out_dir == tmp_path / "out" and primary.grid == {}
    assert disjoint.grid == {"seed_everything": [100, 101]} and disjoint.out_dir.name == "disjoint_seeds"
    assert perturbed.threads == 2 and perturbed.workers == 1 and "2 torch threads" in perturbed.label


def test_the_default_perturbation_is_another_cpu_capability(tmp_path, quick_yaml, monkeypatch):
    import repro.studies.robustness as robustness

    study = _study(tmp_path, quick_yaml)
    monkeypatch.setattr(robustness, "cpu_capability", lambda: "AVX2")
    perturbed = conditions(study, tmp_path, threads=1)[2]
    assert perturbed.env == {"ATEN_CPU_CAPABILITY": "default"} and perturbed.settings == {}
    assert "another CPU" in perturbed.label and "AVX2" in perturbed.label
    monkeypatch.setattr(robustness, "cpu_capability", lambda: "DEFAULT")  # a machine already on the default kernels
    assert conditions(study, tmp_path, threads=1)[2].env == {"ATEN_CPU_CAPABILITY": "avx2"}
    study.meta["robustness"] = {"perturbation": {"cpu": "default"}}  # named, and the machine's own: refused
    with pytest.raises(ReproError, match="already runs with CPU capability DEFAULT"):
        conditions(study, tmp_path, threads=1)
    study.meta["robustness"] = {"perturbation": {"cpu": "avx2"}}
    assert conditions(study, tmp_path, threads=1)[2].env == {"ATEN_CPU_CAPABILITY": "avx2"}
    study.meta["robustness"] = {"perturbation": {"cpu": "sse9"}}
    with pytest.raises(ReproError, match="must be one of"):
        conditions(study, tmp_path, threads=1)


def test_stacked_seeds_float64_and_jitter(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml, robustness={"seeds": [7, 8], "perturbation": {
        "name": "float64", "set": {"trainer.precision": "64-true"}}})
    study.base["model"]["init_args"]["stack_seeds"] = [0, 1]
    _, disjoint, perturbed = conditions(study, tmp_path, threads=1)
    assert disjoint.settings == {"model.init_args.stack_seeds": [7, 8], "seed_everything": 7}
    assert perturbed.threads is None and perturbed.settings == {"trainer.precision": "64-true"}
    assert perturbed.label == "float64"
    study.meta["robustness"] = {"perturbation": {"jitter": 1e-7}}
    assert conditions(study, tmp_path, threads=1)[2].settings == {"model.init_args.init_jitter": 1e-7}


@pytest.mark.parametrize("spec, match", [({"seeds": [1, 5]}, "overlap"), ({"perturbation": {"colour": 1}}, "unknown"),
                                         ({"perturbation": {"threads": 1}}, "equals")])
def test_bad_robustness_specs_are_clear_errors(tmp_path, quick_yaml, spec, match):
    with pytest.raises(ReproError, match=match):
        conditions(_study(tmp_path, quick_yaml, robustness=spec), tmp_path, threads=1)


def test_a_study_without_a_seed_axis_is_refused(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    del study.grid["seed_everything"]
    with pytest.raises(ReproError, match="no seed axis"):
        seed_axis(study)


def test_the_perturbation_effect_counts_changed_values():
    a = [{"width": 4, "seed": 0, "test/error": 0.5, "train/error": 0.1, "run_dir": "x"}]
    b = [{"width": 4, "seed": 0, "test/error": 0.5, "train/error": 0.125, "run_dir": "y"}]
    effect = perturbation_effect(a, b)
    assert (effect["values"], effect["changed"]) == (2, 1) and effect["max_abs_change"] == pytest.approx(0.025)
    assert perturbation_effect(a, a)["changed"] == 0


def test_the_table_holds_only_when_every_condition_passes(tmp_path, quick_yaml):
    study = _study(tmp_path, quick_yaml)
    conds = conditions(study, tmp_path, threads=1)

    def results(*passed):
        return [ClaimResult(f"c{i}", "", f"m{i}", p, {}) for i, p in enumerate(passed)]

    rows, text = robustness_table(study, {"primary": results(True, True), "disjoint_seeds": results(True, False),
                                          "perturbed": results(True, True)}, conds,
                                  {"values": 4, "changed": 0, "max_abs_change": 0.0})
    assert [r["held"] for r in rows] == [True, False]
    assert "| c1 | PASS: m1 | FAIL: m1 | PASS: m1 | NO |" in text
    assert "changed nothing" in text  # a vacuous perturbation is said


# The tiny study's control: both arms at width 4, so "wide beats narrow" has no effect to find.
SAME_WIDTH = {"why": "both arms the same width: no capacity gap",
              "set": {"model.init_args.backbone.init_args.width": 4}, "must_fail": ["wide beats narrow"]}


def test_end_to_end_every_condition_and_a_control(tmp_path, quick_yaml, monkeypatch, capsys):
    from repro.cli import main

    study = _study(tmp_path, quick_yaml, controls={"same_width": SAME_WIDTH})
    monkeypatch.setenv("REPRO_CONFIGS", str(tmp_path / "configs"))
    code = main(["reproduce", "double_descent", "--study", "tiny", "--out", str(tmp_path / "out"), "--robustness",
                 "--workers", "1", "--threads", "1", "--no-progress"])
    out = tmp_path / "out" / "double_descent" / "tiny"
    report = json.loads((out / "robustness.json").read_text())
    assert [c["name"] for c in report["conditions"]] == ["primary", "disjoint_seeds", "perturbed",
                                                         "control:same_width"]
    ran_with = {c["name"]: c["overrides"] for c in report["conditions"]}  # what each condition ran with
    assert ran_with["primary"] == {} and ran_with["disjoint_seeds"] == {"grid": {"seed_everything": [100, 101]}}
    assert list(ran_with["perturbed"]) == ["env"]
    assert ran_with["control:same_width"] == {"set": SAME_WIDTH["set"]}
    control_claims = json.loads((out / "controls" / "same_width" / "claims.json").read_text())
    assert all(c["overrides"] == {"set": SAME_WIDTH["set"]} for c in control_claims)
    assert report["command"].endswith("--robustness")
    held = {c["claim"]: c["held"] for c in report["claims"]}
    assert held == {"wide beats narrow": True, "narrow fits (cannot)": False}
    wide = next(c for c in report["claims"] if c["claim"] == "wide beats narrow")
    assert wide["control:same_width"]["control"] == "expected" and wide["control:same_width"]["verdict"] == "FAIL"
    assert report["perturbation_effect"]["changed"] > 0  # another CPU's kernels do move the numbers
    manifests = [json.loads(p.read_text()) for p in (out / "robustness" / "perturbed").rglob("manifest.json")]
    primary = {json.loads(p.read_text())["cpu_capability"] for p in (out / "runs").rglob("manifest.json")}
    assert len(primary) == 1 and manifests
    assert {m["cpu_capability"] for m in manifests} == ({"AVX2"} if primary == {"DEFAULT"} else {"DEFAULT"})
    assert "FAIL (expected)" in (out / "robustness.md").read_text()
    assert code == 1  # a claim failed
    disjoint = [json.loads(p.read_text()) for p in (out / "robustness" / "disjoint_seeds").rglob("result.json")]
    assert sorted(r["overrides"]["seed"] for r in disjoint) == [100, 100, 101, 101]
    assert len(list((out / "runs").glob("*"))) == 4  # the primary's own cache, untouched by the others
    assert study.name in (out / "robustness.md").read_text()
