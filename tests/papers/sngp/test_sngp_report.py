"""SNGP claim types and report pieces on hand-made rows (values chosen so every verdict is known by hand)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from repro.errors import ReproError
from repro.papers.sngp.claims import uncertainty_ratio
from repro.papers.sngp.figures import method_bars, uncertainty_surfaces
from repro.papers.sngp.tables import paper_table
from repro.studies.claims import at_least, at_most, close

ROWS = [
    {"method": "deterministic", "seed": 0, "test/accuracy": 0.90, "test/ece": 0.08, "test/nll": 0.40,
     "ood_svhn/aupr": 0.60, "probe_far/confidence": 0.999},
    {"method": "deterministic", "seed": 1, "test/accuracy": 0.92, "test/ece": 0.06, "test/nll": 0.30,
     "ood_svhn/aupr": 0.70, "probe_far/confidence": 0.997},
    {"method": "sngp", "seed": 0, "test/accuracy": 0.905, "test/ece": 0.02, "test/nll": 0.25,
     "ood_svhn/aupr": 0.90, "probe_far/confidence": 0.60},
    {"method": "sngp", "seed": 1, "test/accuracy": 0.895, "test/ece": 0.04, "test/nll": 0.35,
     "ood_svhn/aupr": 0.80, "probe_far/confidence": 0.70},
]


def test_at_least_mean_and_every_run() -> None:
    assert at_least(ROWS, metric="test/accuracy", value=0.9, where={"method": "sngp"}).passed  # mean 0.900
    assert not at_least(ROWS, metric="test/accuracy", value=0.9, where={"method": "sngp"}, every_run=True).passed
    assert at_most(ROWS, metric="test/ece", value=0.03, where={"method": "sngp"}).passed
    with pytest.raises(ReproError, match="no results"):
        at_least(ROWS, metric="test/missing", value=0)


def test_close_and_uncertainty_ratio() -> None:
    # deterministic − sngp per seed: 0.90 − 0.905 = −0.005 and 0.92 − 0.895 = +0.025 (mean +0.010); the interval
    # over the two seeds is [−0.005, +0.025], so equivalence needs a tolerance of 0.025, not only the means' 0.010
    res = close(ROWS, metric="test/accuracy", a={"method": "sngp"}, b={"method": "deterministic"}, tolerance=0.026)
    assert res.passed and res.values["a"] == pytest.approx(0.90) and res.values["b"] == pytest.approx(0.91)
    assert res.values["effect"] == pytest.approx(0.010) and res.values["ci"] == pytest.approx([-0.005, 0.025])
    assert not close(ROWS, metric="test/accuracy", a={"method": "sngp"}, b={"method": "deterministic"},
                     tolerance=0.024).passed
    # Far from the data: SNGP 1 − 0.65 = 0.35; deterministic 1 − 0.998 = 0.002 → ratio 175; per seed 400 and 100,
    # so the interval over the two seeds is [100, 400]
    res = uncertainty_ratio(ROWS, a={"method": "sngp"}, metric_a="probe_far/confidence",
                            b={"method": "deterministic"}, factor=90)
    assert res.passed and res.values["ratio"] == pytest.approx(175, rel=1e-6)
    assert res.values["ci"] == pytest.approx([100, 400], rel=1e-6)
    assert not uncertainty_ratio(ROWS, a={"method": "sngp"}, metric_a="probe_far/confidence",
                                 b={"method": "deterministic"}, factor=200).passed


def test_paper_table_has_ours_beside_the_paper() -> None:
    study = SimpleNamespace(meta={"paper_values": {"sngp": {"accuracy": 0.96, "ece": 0.007}}})
    lines = paper_table(study, ROWS)
    assert lines[0] == "| method | accuracy | ECE | NLL | AUPR svhn | runs |"
    assert lines[2] == "| deterministic | 0.910 ± 0.010 | 0.070 ± 0.010 | 0.350 ± 0.050 | 0.650 ± 0.050 | 2 |"
    assert lines[3] == ("| sngp | 0.900 ± 0.005 (paper 0.96) | 0.030 ± 0.010 (paper 0.007) | 0.300 ± 0.050 | "
                        "0.850 ± 0.050 | 2 |")


def test_figures_are_drawn(tmp_path: Path) -> None:
    grid = torch.stack(torch.meshgrid(torch.linspace(-3, 3, 10), torch.linspace(-2, 2, 10), indexing="xy"), -1)
    rows = []
    for method in ("deterministic", "sngp"):
        run = tmp_path / method
        run.mkdir()
        torch.save({"points": grid.reshape(-1, 2), "probs": torch.full((100, 2), 0.5)}, run / "surface.pt")
        rows.append({"method": method, "seed": 0, "run_dir": str(run)})
    study = SimpleNamespace(meta={}, name="moons")
    out = uncertainty_surfaces(study, rows, tmp_path / "s.png", methods=["deterministic", "sngp"])
    assert out.stat().st_size > 5_000
    with pytest.raises(ReproError, match="method=ensemble"):
        uncertainty_surfaces(study, rows, tmp_path / "t.png", methods=["ensemble"])
    assert method_bars(study, ROWS, tmp_path / "b.png", metrics=["test/accuracy", "test/ece"]).stat().st_size > 5_000


def test_claim_texts_keep_markdown_cells_whole() -> None:
    res = close(ROWS, metric="test/accuracy", a={"method": "sngp"}, b={"method": "deterministic"}, tolerance=0.02)
    assert "|" not in res.expected + res.measured + res.name


def test_surfaces_follow_the_studys_seeds(tmp_path: Path) -> None:
    """`--grid seed_everything=[7, 8]`: no seed 0 exists, so the panels use each method's first seed (issue 11)."""
    grid = torch.stack(torch.meshgrid(torch.linspace(-3, 3, 10), torch.linspace(-2, 2, 10), indexing="xy"), -1)
    rows = []
    for method in ("deterministic", "sngp"):
        for seed in (8, 7):
            run = tmp_path / f"{method}{seed}"
            run.mkdir()
            torch.save({"points": grid.reshape(-1, 2), "probs": torch.full((100, 2), 0.5)}, run / "surface.pt")
            rows.append({"method": method, "seed": seed, "run_dir": str(run)})
    study = SimpleNamespace(meta={}, name="moons")
    for seed in (None, 0, 8):
        out = uncertainty_surfaces(study, rows, tmp_path / f"s{seed}.png", methods=["deterministic", "sngp"],
                                   seed=seed)
        assert out.stat().st_size > 5_000
