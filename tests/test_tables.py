"""The paper-layout results table against hand-computed cells."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from repro.errors import ReproError
from repro.report.tables import paper_table


def _study(**spec):
    return SimpleNamespace(path="s.yaml", meta={"paper_table": spec})


ROWS = [
    {"method": "ERM", "source": "cifar10", "ratio": 100, "seed": 0, "err": 0.30},
    {"method": "ERM", "source": "cifar10", "ratio": 100, "seed": 1, "err": 0.28},
    {"method": "LDAM-DRW", "source": "cifar10", "ratio": 100, "seed": 0, "err": 0.23},
    {"method": "LDAM-DRW", "source": "cifar10", "ratio": 100, "seed": 1, "err": float("nan")},  # a diverged run
]


def test_cells_are_seed_mean_and_std_beside_the_paper():
    lines = paper_table(_study(rows="method", columns=["source", "ratio"], metric="err", scale=100,
                               paper={"ERM": {"cifar10 100": 29.64, "cifar100 100": 61.68},
                                      "Focal": {"cifar10 100": 29.62}}), ROWS)
    table = [ln for ln in lines if ln.startswith("| ")]
    assert table[0] == "| method | cifar10 100 | cifar100 100 |"
    # ERM: mean(30, 28) = 29.00, population std = 1.00; the CIFAR-100 cell has only the paper's value
    assert table[1] == "| ERM | 29.00 ± 1.00 (29.64) | (61.68) |"
    assert table[2] == "| LDAM-DRW | 23.00 ± 0.00 | — |"  # the NaN run is left out, no paper value given
    assert table[3] == "| Focal | (29.62) | — |"


def test_a_table_without_its_keys_is_a_clear_error():
    with pytest.raises(ReproError, match="needs 'metric'"):
        paper_table(_study(rows="method"), ROWS)
