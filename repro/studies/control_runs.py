"""``repro reproduce PAPER --control NAME``: a study's negative controls alone (``study.controls``), each judged as
:mod:`repro.studies.robustness` judges its control conditions: every claim the control lists must FAIL there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.studies.robustness import condition_runner, control_condition, control_verdicts, judge_condition
from repro.studies.study import Study

__all__ = ["run_controls"]


def run_controls(study: Study, out_dir: Path, names: list[str], *, workers: int | None, threads: int | None,
                 grid: dict[str, list] | None, settings: dict[str, Any] | None, progress: bool) -> bool:
    """``repro reproduce --control NAME``: train and judge the named controls only; True when every claim each
    lists FAILED there (a claim that passes without the paper's effect, or was not run, is a defect)."""
    from rich.console import Console
    from rich.table import Table

    from repro.report.markdown import write_report

    ok = True
    for name in names:
        control = study.control(name)
        cond = control_condition(study, control, out_dir, grid)
        runner = condition_runner(study, cond, workers=workers, threads=threads, settings=settings)
        rows, results = judge_condition(study, cond, runner, progress)
        verdicts = control_verdicts(control, results)
        ok = ok and all(v == "expected" for v in verdicts.values())
        write_report(study, rows, results, cond.out_dir, [], control=control)
        table = Table(title=f"{study.paper} / {study.name} — control {name}: {control.why}", show_lines=True)
        for col in ("claim", "measured", "verdict", "under this control"):
            table.add_column(col, overflow="fold")
        for r in results:
            want = {"expected": "[green]must fail: failed ✓", "passed": "[red]must fail: PASSED ✗",
                    "not run": "[red]must fail: not run ✗"}.get(verdicts.get(r.name, ""), "[dim]not judged")
            table.add_row(r.name, r.measured, r.verdict, want)
        Console().print(table)
        print(f"report: {cond.out_dir / 'report.md'}")
    return ok
