"""report.md and the terminal verdict table for one study."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from repro.errors import import_object
from repro.report.figures import class_bars_figure, curve_figure, history_figure
from repro.studies.claims import ClaimResult, curve

# Figure kinds by name; a study may also name any function ``f(study, rows, out, **spec) -> Path`` by its
# import path (``kind: repro.report.slingshot_figures.dynamics``).
FIGURES = {"curve": curve_figure, "history": history_figure, "class_bars": class_bars_figure}


def draw_figures(study, rows: list[dict], out_dir: Path) -> list[Path]:
    """The figures a study asks for in ``study.figures`` (default: a curve along ``study.x``)."""
    specs = study.meta.get("figures") or [{"kind": "curve"}]
    paths = []
    for i, spec in enumerate(specs):
        spec = dict(spec)
        kind = spec.pop("kind", "curve")
        spec.setdefault("x", study.x_key)
        out = out_dir / spec.pop("file", f"{study.name}{'' if i == 0 else f'_{i}'}.png")
        draw = FIGURES.get(kind) or import_object(kind, what="figure kind")
        paths.append(draw(study, rows, out, **spec))
    return paths


def verdict_table(claims: list[ClaimResult], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    for col in ("claim", "expected", "measured", "verdict"):
        table.add_column(col, overflow="fold")
    for c in claims:
        table.add_row(c.name, c.expected, c.measured, "[green]PASS" if c.passed else "[red]FAIL")
    return table


def print_verdict(claims: list[ClaimResult], title: str) -> None:
    Console().print(verdict_table(claims, title))


def _method_table(study, rows: list[dict]) -> list[str]:
    """One row per method (every non-seed grid setting), seed mean ± std of each test metric: the
    paper-table layout for studies whose grid is categorical (e.g. loss × train rule, LDAM-DRW)."""
    keys = [k for k in rows[0].get("overrides", {}) if k != "seed"] or [study.x_key]
    metrics = [m for m in ("test/balanced_error", "test/error", "test/acc_head", "test/acc_medium", "test/acc_tail")
               if m in rows[0]]
    lines = ["| " + " | ".join([*keys, *metrics, "runs"]) + " |", "|" + "---|" * (len(keys) + len(metrics) + 1)]
    for setting in sorted({tuple(str(r[k]) for k in keys) for r in rows}):
        sel = [r for r in rows if tuple(str(r[k]) for k in keys) == setting]
        cells = [*setting] + [f"{np.mean([r[m] for r in sel]):.3f} ± {np.std([r[m] for r in sel]):.3f}"
                              for m in metrics]
        lines.append("| " + " | ".join([*cells, str(len(sel))]) + " |")
    return lines


def _results_table(study, rows: list[dict]) -> list[str]:
    """``study.table`` (an import path to ``f(study, rows) -> markdown lines``) when the study names one,
    e.g. a paper-layout table with the paper's numbers beside ours; else a table along ``study.x``."""
    if study.meta.get("table"):
        return import_object(study.meta["table"], what="report table")(study, rows)
    x = study.x_key
    if x is None or not rows or x not in rows[0]:
        return []
    if isinstance(rows[0][x], str):
        return _method_table(study, rows)
    metrics = [m for m in ("test/error", "test/error_noisy_scale", "train/error", "train/error_clean")
               if m in rows[0]]
    by = "label_noise" if "label_noise" in rows[0] else None
    lines = ["| " + " | ".join(([by] if by else []) + [x, *metrics, "runs"]) + " |",
             "|" + "---|" * (len(metrics) + 2 + (1 if by else 0))]
    for level in sorted({r[by] for r in rows}) if by else [None]:
        where = {by: level} if by else None
        stats = {m: curve(rows, x, m, where) for m in metrics}
        xs = stats[metrics[0]][0]
        for i, xv in enumerate(xs):
            cells = [f"{level:g}"] if by else []
            cells += [f"{xv:g}"] + [f"{stats[m][1][i]:.3f} ± {stats[m][2][i]:.3f}" for m in metrics]
            cells.append(str(int(stats[metrics[0]][3][i])))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cell(text: str) -> str:
    """Text for a markdown table cell: a ``|`` (e.g. ``|k_peak − k*|``) would end the cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(study, rows: list[dict], claims: list[ClaimResult], out_dir: Path,
                 figures: list[Path]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    passed = sum(c.passed for c in claims)
    lines = [
        f"# {study.paper} — {study.name} ({study.scale} scale)", "",
        study.description, "",
        f"Reproduce: `repro reproduce {study.paper} --study {study.path.stem}` "
        f"(config `configs/{study.paper}/{study.path.name}`).", "",
        f"**Verdict: {passed}/{len(claims)} claims passed.**", "",
        "| claim | expected | measured | verdict |", "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in (c.name, c.expected, c.measured, c.verdict)) + " |" for c in claims]
    lines += [""] + [f"![{p.stem}]({p.name})" for p in figures] + [""]
    table = _results_table(study, rows)
    if table:
        lines += ["## Results (mean ± std over seeds)", "", *table, ""]
    manifests = sorted(Path(r["run_dir"]) / "manifest.json" for r in rows)
    if manifests and manifests[0].exists():
        m = json.loads(manifests[0].read_text())
        lines += ["## Provenance", "",
                  f"git {m['git'].get('sha')} (dirty: {m['git'].get('dirty')}), device {m['device']}, "
                  f"torch {m['packages'].get('torch')}, lightning {m['packages'].get('pytorch-lightning')}. "
                  f"{len(rows)} runs; per-run configs, logs and W&B files under `runs/`.", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    (out_dir / "claims.json").write_text(json.dumps(
        [{"name": c.name, "expected": c.expected, "measured": c.measured, "passed": c.passed, "values": c.values}
         for c in claims], indent=2, default=float))
    return path
