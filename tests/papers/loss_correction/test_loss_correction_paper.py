"""The paper-scale studies without their datasets: one clear error naming the files, before anything trains; and
the per-dataset choices of the released code that the value-by-value check cannot read from a resolved run."""

from __future__ import annotations

import pytest
from conftest import CONFIGS

from repro.cli import main
from repro.studies.study import Study

STUDIES = ("paper", "paper_cifar10", "paper_cifar100", "paper_imdb", "paper_imdb_lstm")
MISSING = {  # the file names each study's error must show
    "paper": ("train-images-idx3-ubyte",),
    "paper_cifar10": ("cifar-10-batches-py", "data_batch_1..5", "test_batch"),
    "paper_cifar100": ("cifar-100-python", "train, test, meta"),
    "paper_imdb": ("imdb/imdb.npz",),
    "paper_imdb_lstm": ("imdb/imdb.npz",),
}


def test_paper_scale_without_mnist_stops_at_once_naming_the_files(tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "loss_correction", "--scale", "paper", "--out", str(tmp_path), "--no-progress",
                 "--grid", "data.init_args.label_noise=[0.4]", "--grid", "seed_everything=[0]",  # plan 9 runs, not 180
                 "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "REPRO_DATA" in err and "train-images-idx3-ubyte" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"


@pytest.mark.parametrize("name", [s for s in STUDIES if s != "paper"])
def test_each_further_paper_study_without_its_data_stops_at_once_naming_the_files(name, tmp_path, capsys,
                                                                                    monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "loss_correction", "--study", name, "--out", str(tmp_path), "--no-progress",
                 "--grid", "data.init_args.label_noise=[0.4]", "--grid", "seed_everything=[0]",
                 "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "REPRO_DATA" in err and "Traceback" not in err
    assert all(part in err for part in MISSING[name]), err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"


def _study(name: str) -> Study:
    return Study.load(CONFIGS / "loss_correction" / f"{name}.yaml")


@pytest.mark.parametrize("name", STUDIES)
def test_every_paper_study_has_the_nine_rows_and_stage_two_reads_its_own_stage_one(name):
    study = _study(name)
    assert study.scale == "paper"
    methods = {s.overrides["method"] for s in study.runs()}
    assert methods == {"CE", "backward_T_hat", "forward_T_hat", "backward_T", "forward_T", "unhinged", "sigmoid",
                       "savage", "boot_soft"}
    for spec in study.runs():
        transition = spec.config["model"]["init_args"].get("transition")
        if spec.overrides["method"].endswith("_T_hat"):
            assert transition["from_run"] == {"method": "CE"}


@pytest.mark.parametrize(("name", "estimate_file", "error_metric"), [
    ("paper", "T_hat_percentile.json", "noise/T_hat_l1"),
    ("paper_cifar10", "T_hat_percentile.json", "noise/T_hat_l1"),
    ("paper_cifar100", "T_hat_argmax.json", "noise/T_hat_argmax_l1"),  # the code: filter_outlier=False for CIFAR-100
    ("paper_imdb", "T_hat_percentile.json", None),
    ("paper_imdb_lstm", "T_hat_percentile.json", None),
])
def test_the_estimate_variant_follows_the_released_code_per_dataset(name, estimate_file, error_metric):
    study = _study(name)
    files = {s.config["model"]["init_args"]["transition"]["file"] for s in study.runs()
             if s.overrides["method"].endswith("_T_hat")}
    assert files == {estimate_file}
    error_claims = [c["metric"] for c in study.claims if c["metric"].startswith("noise/")]
    assert error_claims == ([error_metric] if error_metric else [])


@pytest.mark.parametrize("name", ["paper_imdb", "paper_imdb_lstm"])
def test_imdb_noise_rates_stay_below_one_half_as_the_released_code_requires(name):
    rates = {s.config["data"]["init_args"]["label_noise"] for s in _study(name).runs()}
    assert rates and max(rates) < 0.5


def _rows(study: Study, backward_bonus: float = 0.0) -> list[dict]:
    """One row per planned run, shaped like the paper's qualitative story: forward-T best and flat-ish, T̂ costing
    more as N grows, CE degrading fastest, T̂'s error jumping past N = 0.5 (accuracies in [0, 1])."""
    rows = []
    for spec in study.runs():
        o = dict(spec.overrides)
        n, forward_t = float(o["label_noise"]), 0.95 - 0.05 * float(o["label_noise"])
        acc = {"forward_T": forward_t, "forward_T_hat": forward_t - 0.05 * n, "backward_T": forward_t - 0.02,
               "backward_T_hat": forward_t - 0.04, "CE": 0.95 - 0.3 * n}.get(o["method"], 0.8 - 0.2 * n)
        if o["method"] == "backward_T":
            acc += backward_bonus
        row = {**o, "test/accuracy": acc + 0.001 * int(o["seed"])}
        if o["method"] == "CE":
            err = 0.1 + (0.3 if n > 0.5 else 0.0)
            row.update({"noise/T_hat_l1": err, "noise/T_hat_l1_noisy_rows": 2 * err, "noise/T_hat_argmax_l1": err,
                        "noise/T_hat_condition": 1.5})
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", STUDIES)
def test_every_paper_claim_is_wired_to_its_grid_and_can_fail(name):
    from repro.studies.claims import evaluate

    study = _study(name)
    held = evaluate(study.claims, _rows(study), x=study.x_key)
    assert held and all(c.passed for c in held), [(c.name, c.measured) for c in held if not c.passed]
    broken = evaluate(study.claims, _rows(study, backward_bonus=0.05), x=study.x_key)  # backward-T beats forward-T
    failed = [c.name for c in broken if not c.passed]
    assert failed == ["forward >= backward - 0.5 points with the true T, at every N"]


@pytest.mark.parametrize("name", STUDIES)
def test_the_paper_layout_table_has_every_row_and_rate_and_no_unverified_paper_value(name):
    from repro.papers.loss_correction.tables import paper_layout

    study = _study(name)
    lines = paper_layout(study, _rows(study))
    rates = sorted({float(s.overrides["label_noise"]) for s in study.runs()})
    header = lines[2]
    assert header == "| method | " + " | ".join(f"{r:g}" for r in rates) + " |"
    body = lines[4:4 + 9]
    assert sorted(line.split(" | ")[0].lstrip("| ") for line in body) == sorted(
        ["CE", "backward_T_hat", "forward_T_hat", "backward_T", "forward_T", "unhinged", "sigmoid", "savage",
         "boot_soft"])
    assert not any("(" in line for line in body), "a paper value in brackets: none of the main table is verified"
    estimator = lines[lines.index(next(line for line in lines if line.startswith("Anchor-point"))) + 4:]
    assert [line.split(" | ")[0].lstrip("| ") for line in estimator] == [f"{r:g}" for r in rates]
