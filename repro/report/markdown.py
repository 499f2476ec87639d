"""report.md and the terminal verdict table for one study.

What a study's report shows comes from its YAML, never from here: ``study.figures`` (a list of figure specs,
each ``kind`` a name in :data:`FIGURES` or an import path ``f(study, rows, out, **spec) -> Path``),
``study.table`` (an import path ``f(study, rows) -> markdown lines``) or, without one, a table of
``study.table_metrics`` along ``study.x`` (split by ``study.table_by``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from repro.atomic import write_text
from repro.errors import import_object
from repro.report.figures import class_bars_figure, curve_figure, history_figure
from repro.studies.claims import ClaimResult, summary
from repro.studies.results import MissingRuns, curve

__all__ = ["FIGURES", "draw_figures", "print_verdict", "verdict_table", "write_report"]

FIGURES = {"curve": curve_figure, "history": history_figure, "class_bars": class_bars_figure}
DEFAULT_TABLE_METRICS = ("test/error", "train/error")


def draw_figures(study, rows: list[dict], out_dir: Path) -> list[Path]:
    """The figures a study asks for in ``study.figures`` (default: a curve along ``study.x``). A figure whose
    runs are missing (a ``--grid`` subset) is left out with a note, never stopping the report."""
    specs = study.meta.get("figures") or [{"kind": "curve"}]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, spec in enumerate(specs):
        spec = dict(spec)
        kind = spec.pop("kind", "curve")
        spec.setdefault("x", study.x_key)
        out = out_dir / spec.pop("file", f"{study.name}{'' if i == 0 else f'_{i}'}.png")
        draw = FIGURES.get(kind) or import_object(kind, what="figure kind")
        try:
            paths.append(draw(study, rows, out, **spec))
        except MissingRuns as err:
            print(f"note: figure {out.name} not drawn: {err}", file=sys.stderr)
    return paths


VERDICT_STYLE = {"PASS": "[green]PASS", "FAIL": "[red]FAIL", "NOT RUN": "[yellow]NOT RUN"}


def verdict_table(claims: list[ClaimResult], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for col in ("claim", "expected", "measured", "verdict"):
        table.add_column(col, overflow="fold")
    for c in claims:
        table.add_row(c.name, c.expected, c.measured, VERDICT_STYLE[c.verdict])
    return table


def print_verdict(claims: list[ClaimResult], title: str) -> None:
    Console().print(verdict_table(claims, title))


def _fmt_mean(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def _method_table(study, rows: list[dict], metrics: list[str]) -> list[str]:
    """One row per setting of the non-seed grid keys, seed mean ± std of each metric (categorical grids)."""
    keys = [k for k in rows[0].get("overrides", {}) if k != "seed"] or [study.x_key]
    lines = ["| " + " | ".join([*keys, *metrics, "runs"]) + " |", "|" + "---|" * (len(keys) + len(metrics) + 1)]
    for setting in dict.fromkeys(tuple(str(r.get(k)) for k in keys) for r in rows):
        sel = [r for r in rows if tuple(str(r.get(k)) for k in keys) == setting]
        cells = [*setting] + [_fmt_mean([r[m] for r in sel if m in r]) if any(m in r for r in sel) else "–"
                              for m in metrics]
        lines.append("| " + " | ".join([*cells, str(len(sel))]) + " |")
    return lines


def _results_table(study, rows: list[dict]) -> list[str]:
    """``study.table`` when the study names one (e.g. a paper-layout table with the paper's numbers beside
    ours); else ``study.table_metrics`` along ``study.x``."""
    if study.meta.get("table"):
        return import_object(study.meta["table"], what="report table")(study, rows)
    x = study.x_key
    if x is None or not rows or x not in rows[0]:
        return []
    metrics = [m for m in study.meta.get("table_metrics", DEFAULT_TABLE_METRICS) if any(m in r for r in rows)]
    if not metrics:
        return []
    if isinstance(rows[0][x], str):
        return _method_table(study, rows, metrics)
    by = study.meta.get("table_by")
    lines = ["| " + " | ".join(([by] if by else []) + [x, *metrics, "runs"]) + " |",
             "|" + "---|" * (len(metrics) + 2 + (1 if by else 0))]
    for level in sorted({r[by] for r in rows}) if by else [None]:
        where = {by: level} if by else None
        stats = {m: curve(rows, x, m, where) for m in metrics}
        xs = stats[metrics[0]][0]
        for i, xv in enumerate(xs):
            cells = [f"{level:g}" if isinstance(level, int | float) else str(level)] if by else []
            cells += [f"{xv:g}"] + [f"{stats[m][1][i]:.3f} ± {stats[m][2][i]:.3f}" for m in metrics]
            cells.append(str(int(stats[metrics[0]][3][i])))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(text: str) -> str:
    """Text for a markdown table cell: a ``|`` (e.g. ``|k_peak − k*|``) would end the cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(study, rows: list[dict], claims: list[ClaimResult], out_dir: Path,
                 figures: list[Path], control=None) -> Path:
    """report.md and claims.json of a study's results (``control``: the negative control they ran under)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {study.paper} — {study.name} ({study.scale} scale)" + (f", control `{control.name}`" if control else ""),
        "", study.description, "",
        f"Reproduce: `{study.command()}" + (f" --control {control.name}" if control else "") + f"` (study file "
        f"`{study.path.name}`).",
        "",
    ]
    if study.overrides:
        lines += [f"**Overrides: {' '.join(f'`{flag}`' for flag in study.flags(study.overrides))}** — these results "
                  "are not the study as its file configures it.", ""]
    if control is not None:
        lines += [f"**Negative control** ({control.why}): {', '.join(f'{k}={v}' for k, v in control.settings.items())}"
                  f"{' ' if control.settings and control.grid else ''}"
                  f"{', '.join(f'{k}={v}' for k, v in control.grid.items())}. The paper predicts no effect here: "
                  f"these claims must FAIL: {'; '.join(control.must_fail)}.", ""]
    if claims:
        lines += [f"**Verdict: {summary(claims)}.**", "",
                  "| claim | expected | measured | verdict |", "|---|---|---|---|"]
    else:  # a study that shows what happens and asserts nothing (study.reported: true)
        lines += ["**Reported, not asserted: this study has no claims.**"]
    lines += ["| " + " | ".join(_cell(v) for v in (c.name, c.expected, c.measured, c.verdict)) + " |" for c in claims]
    lines += [""] + [f"![{p.stem}]({p.name})" for p in figures] + [""]
    try:
        table = _results_table(study, rows)
    except MissingRuns as err:
        table = [f"(table not drawn: {err})"]
    if table:
        lines += ["## Results (mean ± std over seeds)", "", *table, ""]
    manifests = sorted(Path(r["run_dir"]) / "manifest.json" for r in rows)
    if manifests and manifests[0].exists():
        m = json.loads(manifests[0].read_text())
        lines += ["## Provenance", "",
                  f"git {m['git'].get('sha')} (dirty: {m['git'].get('dirty')}), device {m['device']} "
                  f"(CPU capability {m.get('cpu_capability', '?')}), "
                  f"torch {m['packages'].get('torch')}, lightning {m['packages'].get('pytorch-lightning')}. "
                  f"{len(rows)} runs; per-run configs, logs and W&B files under `runs/`.", ""]
    path = out_dir / "report.md"
    write_text(path, "\n".join(lines))
    overrides = {"overrides": study.overrides} if study.overrides else {}  # each verdict says what it was run with
    write_text(out_dir / "claims.json", json.dumps([{**c.as_json(), **overrides} for c in claims], indent=2,
                                                   default=float))
    return path
