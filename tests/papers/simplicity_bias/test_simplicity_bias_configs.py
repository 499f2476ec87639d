"""Every claim of the simplicity-bias studies selects rows that exist: each ``where`` names a grid axis and one of
its values or named cases (a flow mapping such as ``{data: MS-(5,7)}`` unquoted splits at the comma)."""

from __future__ import annotations

import pytest
from conftest import CONFIGS

from repro.studies.study import Study

STUDIES = sorted((CONFIGS / "simplicity_bias").glob("*.yaml"))


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_claim_selects_grid_cases_that_exist(path):
    study = Study.load(path)
    for claim in study.claims:
        for key, value in (claim.get("where") or {}).items():
            assert key in study.grid, f"{claim['name']}: {key!r} is not a grid axis of {path.name}"
            assert value in study.grid[key], f"{claim['name']}: {value!r} is not a case of {key}"
