"""Every paper config matches its original code value by value: each paper's ``original.py`` lists the values
(with their source), and each is read from the config as the run resolves it (defaults included)."""

from __future__ import annotations

import importlib

import pytest
from conftest import CONFIGS

from repro.papers import OriginalValue, papers
from repro.studies.plan import ParseOnly
from repro.studies.study import Study, get_dotted


def _tables():
    for name in papers():
        try:
            module = importlib.import_module(f"repro.papers.{name}.original")
        except ModuleNotFoundError:
            continue
        for study_file, values in module.ORIGINAL.items():
            for v in values:
                yield pytest.param(name, study_file, v, id=f"{name}/{study_file}:{v.key}{dict(v.where) or ''}")


_RESOLVED: dict[tuple, dict] = {}


def _resolved(paper: str, study_file: str, where: tuple) -> dict:
    key = (paper, study_file, where)
    if key not in _RESOLVED:
        study = Study.load(CONFIGS / paper / study_file)
        specs = [s for s in study.runs() if all(str(s.overrides.get(k)) == str(v) for k, v in where)]
        assert specs, f"{study_file} has no grid point {dict(where)}"
        cli = ParseOnly(args=specs[0].config, run=False)
        _RESOLVED[key] = cli.resolved_config()
    return _RESOLVED[key]


def _same(ours, theirs) -> bool:
    if isinstance(theirs, float) or isinstance(ours, float):
        try:
            return abs(float(ours) - float(theirs)) <= 1e-12 * max(1.0, abs(float(theirs)))
        except (TypeError, ValueError):
            return False
    if isinstance(theirs, list | tuple) and isinstance(ours, list | tuple):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs, strict=True))
    return ours == theirs


@pytest.mark.parametrize("paper, study_file, value", list(_tables()))
def test_the_config_matches_the_original_code(paper, study_file, value: OriginalValue):
    resolved = _resolved(paper, study_file, value.where)
    missing = object()
    ours = get_dotted(resolved, value.key, missing)
    assert ours is not missing, f"{study_file}: no key {value.key} in the resolved config"
    assert _same(ours, value.value), f"{study_file}: {value.key} = {ours!r}, the original has {value.value!r} " \
                                     f"({value.source})"


def test_every_original_value_is_in_the_papers_readme():
    from conftest import ROOT

    for name in papers():
        try:
            module = importlib.import_module(f"repro.papers.{name}.original")
        except ModuleNotFoundError:
            continue
        readme = (ROOT / "repro" / "papers" / name / "README.md").read_text()
        for values in module.ORIGINAL.values():
            for v in values:
                assert f"`{v.key}`" in readme, f"{name}/README.md does not show {v.key} (from original.py)"
