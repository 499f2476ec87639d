"""The quick Slingshot study really trained (configs/slingshot/quick.yaml): every claim must PASS."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import reproduce_quick

from repro.studies.study import Study

pytestmark = pytest.mark.slow
QUICK = Path(__file__).resolve().parents[1] / "configs" / "slingshot" / "quick.yaml"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the whole study once (2 workers × 1 thread, seeds stacked in each run) and read its report."""
    out = tmp_path_factory.mktemp("slingshot_quick")
    reproduce_quick(out, "slingshot", "--scale", "quick")
    return out / "slingshot" / "quick"


def test_every_quick_claim_passes(report):
    text = (report / "report.md").read_text()
    n = len(Study.load(QUICK).claims)
    assert text.count("| PASS |") == n and "| FAIL |" not in text, text


def test_one_row_per_seed_and_the_figures(report):
    import csv

    with open(report / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["setting"], r["seed"]) for r in rows) == sorted(
        (s, str(i)) for s in ("adam_eps1e-8", "adam_eps1e-5", "adamw_wd1", "sgd") for i in range(3))
    assert (report / "dynamics_adam_eps1e-8.png").stat().st_size > 10_000
    assert (report / "optimizers.png").stat().st_size > 10_000
