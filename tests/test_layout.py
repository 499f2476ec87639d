"""The package-per-paper layout: shared code names no paper and never imports one; every paper package is
discovered, listed, and its YAMLs' claims, tables and figures resolve by import path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS, ROOT

from repro.errors import import_object
from repro.papers import papers
from repro.studies.claims import resolve_claim
from repro.studies.study import Study

SHARED = sorted(p for p in (ROOT / "repro").rglob("*.py") if "papers" not in p.relative_to(ROOT / "repro").parts)
PAPER_PACKAGES = sorted(p.name for p in (ROOT / "repro" / "papers").iterdir() if (p / "__init__.py").is_file())
# A paper's package name, its name in prose, or its authors' citation; and references to notes outside the repo.
PAPER_WORDS = re.compile(
    r"double[ _-]descent|ldam|\bdrw\b|slingshot|grokking|sngp|manifold[ _-]mixup|loss[ _-]correction|"
    r"importance[ _-]weighting|simplicity[ _-]bias|shah et al|prediction[ _-]depth|baldock|"
    r"nakkiran|thilak|patrini|quétu|quetu|byrd|verma et al|liu et al|cao et al|"
    r"power et al|he et al\.? 2022|baldock|\bcard\b|design\.md", re.IGNORECASE)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_code_never_imports_a_paper(path):
    tree = ast.parse(path.read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    offending = [m for m in imported if m.startswith("repro.papers.")]
    if path.name == "__init__.py" and path.parent.name == "papers":
        offending = []
    assert not offending, f"{path} imports {offending}: shared code reaches a paper only through a YAML import path"


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_code_names_no_paper(path):
    found = sorted({m.group(0) for m in PAPER_WORDS.finditer(path.read_text())})
    assert not found, f"{path} names {found}; a paper's facts belong in its package"


def _imported_by_shared_only() -> set[str]:
    """Paper modules (beyond the packages' light ``__init__``) a fresh interpreter loads when it imports every
    shared module."""
    import subprocess
    import sys

    code = ("import importlib, sys\n"
            f"for m in {[_module(p) for p in SHARED if p.stem != '__main__']!r}: importlib.import_module(m)\n"
            "print('\\n'.join(m for m in sys.modules if m.startswith('repro.papers.') and m.count('.') > 2))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return set(out.split())


def test_importing_the_shared_library_loads_no_paper_module():
    assert _imported_by_shared_only() == set()


def test_every_paper_package_is_discovered_and_listed(capsys, monkeypatch):
    from repro.cli import main

    monkeypatch.setenv("COLUMNS", "250")  # rich folds long names (sparse_double_descent) at the default 80 columns

    assert sorted(papers()) == PAPER_PACKAGES
    for name, info in papers().items():
        assert info.name == name and info.title and info.citation
        assert (ROOT / "repro" / "papers" / name / "README.md").is_file(), f"{name} has no README.md"
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    for name in PAPER_PACKAGES:
        assert name in listed


STUDIES = sorted(CONFIGS.glob("*/*.yaml"))


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_studys_claims_tables_and_figures_resolve_by_import_path(path):
    study = Study.load(path)
    assert study.paper == path.parent.name and study.paper in papers()
    for claim in study.claims:
        assert callable(resolve_claim(claim["type"]))
    for fig in study.meta.get("figures") or []:
        kind = fig.get("kind", "curve")
        if "." in kind:
            assert callable(import_object(kind, what="figure kind"))
    if study.meta.get("table"):
        assert callable(import_object(study.meta["table"], what="report table"))
    raw = yaml.safe_load(path.read_text())
    model_path = raw["model"]["class_path"]
    assert model_path.startswith(f"repro.papers.{study.paper}."), f"{path}: the model is not the paper's own module"
    assert import_object(model_path).paper == study.paper


def test_no_paper_package_imports_another_paper():
    for name in PAPER_PACKAGES:
        for path in (ROOT / "repro" / "papers" / name).rglob("*.py"):
            tree = ast.parse(path.read_text())
            mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
            others = [m for m in mods if m.startswith("repro.papers.") and m.split(".")[2] != name]
            assert not others, f"{path} imports {others}: share the piece through a shared folder instead"


def test_no_file_is_much_over_300_lines_without_a_reason():
    for path in [*(ROOT / "repro").rglob("*.py")]:
        lines = path.read_text().splitlines()
        if len(lines) > 330:
            assert any("longer than 300 lines because" in line for line in lines[:40]), \
                f"{path} has {len(lines)} lines and states no reason"


NOTES_OUTSIDE = re.compile(r"\bcard\b|design\.md|\.\./shared", re.IGNORECASE)


def test_the_project_cites_no_notes_outside_it():
    """Configs, code and READMEs speak of the project only: no reference to notes kept outside the repository."""
    files = [*(ROOT / "configs").rglob("*.yaml"), *(ROOT / "repro").rglob("*.py"), *(ROOT / "repro").rglob("*.md"),
             ROOT / "README.md", ROOT / "Makefile"]
    offending = [f"{p.relative_to(ROOT)}:{i}" for p in files
                 for i, line in enumerate(p.read_text().splitlines(), 1) if NOTES_OUTSIDE.search(line)]
    assert not offending, f"references to notes outside the repository: {offending}"


@pytest.mark.parametrize("path", [p for p in STUDIES if Study.load(p).scale == "quick"],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_quick_claim_can_fail_on_a_negative_control(path):
    """A quick study with claims names its negative controls (Study.load has checked that each claim is a control's
    must_fail or says why none can exist); a study that asserts nothing says so (study.reported)."""
    study = Study.load(path)
    if study.meta.get("reported"):
        assert not study.claims
        return
    assert study.claims and study.controls, f"{path}: a quick study with claims needs study.controls"
    covered = {name for c in study.controls for name in c.must_fail}
    without = [c["name"] for c in study.claims if c["name"] not in covered]
    assert all(str(c.get("no_control", "")).strip() for c in study.claims if c["name"] in without)
