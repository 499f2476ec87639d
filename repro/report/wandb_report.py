"""A study as a W&B Report (``repro report PAPER --wandb``), built with ``wandb_workspaces.reports.v2``.

The report holds: a header with the verdict table (claim, expected, measured, PASS/FAIL); the study's results
table (the same rows as ``report.md``); one panel grid per figure of the local report; and every panel grid's
runset is the study's W&B runs (project ``repro-<paper>``, filtered to the group = the study), grouped by the
grid keys other than the seed so seeds draw as mean ± std bands.

Panels per figure kind: a ``history`` figure is a line plot of its metric against ``epoch``; a ``curve`` (a metric
across runs against a grid key, e.g. width) is a scatter plot of the runs' final (summary) value against that key
from ``wandb.config`` (W&B line plots draw one run's history, not a value across runs); any other figure (a
paper's own) is a line plot against the step of each metric its spec names, beside a note naming the local PNG.

Saving needs an API key and network; without them the spec is written to ``<out>/wandb_report.json`` and the
message says to run the same command again once ``wandb login`` works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from repro.atomic import write_text
from repro.report.markdown import _cell, _results_table
from repro.studies.claims import summary
from repro.studies.results import MissingRuns
from repro.tracking import wandb_mode

__all__ = ["build_report", "panels_for", "publish_or_save"]


def _groupby(study) -> list[str]:
    return [f"run.grid.{k.split('.')[-1]}" for k in study.grid if not k.endswith("seed_everything")]


def _metrics_of(spec: dict) -> list[str]:
    if spec.get("metrics"):
        return list(spec["metrics"])
    return [spec["metric"]] if spec.get("metric") else ["test/error"]


def panels_for(study, spec: dict) -> list:
    """The panels that stand for one figure spec of ``study.figures``."""
    import wandb_workspaces.reports.v2 as wr

    kind = spec.get("kind", "curve")
    group = _groupby(study)
    x = spec.get("x") or study.x_key
    if kind == "history":
        return [wr.LinePlot(title=f"{m} against epoch", x="epoch", y=[m], groupby=f"config.{group[0]}" if group
                            else None, groupby_aggfunc="mean", groupby_rangefunc="stddev")
                for m in [spec.get("metric", "test/error"), *([spec["train_metric"]] if spec.get("train_metric")
                                                            else [])]]
    if kind == "curve" and x:
        return [wr.ScatterPlot(title=f"{m} against {x}", x=wr.Config(f"run.grid.{x}"), y=wr.SummaryMetric(m),
                               log_x=bool(spec.get("logx", True)))
                for m in _metrics_of(spec)]
    return [wr.LinePlot(title=m, x="trainer/global_step", y=[m], groupby=f"config.{group[0]}" if group else None,
                        groupby_aggfunc="mean", groupby_rangefunc="stddev") for m in _metrics_of(spec)]


def build_report(study, rows: list[dict], claims, *, entity: str = "", project: str | None = None):
    """The Report object (built, not saved)."""
    import wandb_workspaces.reports.v2 as wr

    project = project or f"repro-{study.paper}"
    verdict = ["| claim | expected | measured | verdict |", "|---|---|---|---|"]
    verdict += ["| " + " | ".join(_cell(v) for v in (c.name, c.expected, c.measured, c.verdict)) + " |"
                for c in claims]
    try:
        table = _results_table(study, rows)
    except MissingRuns as err:
        table = [f"(table not drawn: {err})"]
    blocks = [
        wr.H1(f"{study.paper} — {study.name} ({study.scale} scale)"),
        wr.P(study.description or " "),
        wr.H2(f"Verdict: {summary(claims)}"),
        wr.MarkdownBlock("\n".join(verdict)),
        wr.H2("Results (mean ± std over seeds)"),
        wr.MarkdownBlock("\n".join(table) or "(no results table for this study)"),
    ]
    specs = study.meta.get("figures") or [{"kind": "curve"}]
    for i, spec in enumerate(specs):
        runset = wr.Runset(entity=entity, project=project, name=study.name, filters=f"Group = '{study.name}'",
                           groupby=_groupby(study))
        title = spec.get("title") or spec.get("file") or f"{study.name}{'' if i == 0 else f'_{i}'}.png"
        blocks += [wr.H2(f"Figure: {title}"),
                   wr.P(f"The local figure: {spec.get('file') or f'{study.name}' + ('' if i == 0 else f'_{i}')}.png "
                        f"beside report.md (kind {spec.get('kind', 'curve')})."),
                   wr.PanelGrid(runsets=[runset], panels=panels_for(study, spec))]
    blocks += [wr.H2("Runs"), wr.PanelGrid(runsets=[wr.Runset(entity=entity, project=project, name=study.name,
                                                               filters=f"Group = '{study.name}'")])]
    return wr.Report(project=project, entity=entity, title=f"repro: {study.paper} / {study.name}"[:128],
                     description=f"Reproduce: {study.command()}",
                     blocks=blocks)


def publish_or_save(study, rows: list[dict], out_dir: Path, *, entity: str | None = None) -> str:
    """Save the report to W&B when online; else write its spec JSON locally. The message to print."""
    from repro.studies.claims import evaluate

    claims = evaluate(study.claims, rows, x=study.x_key)
    online = wandb_mode() == "online"
    entity = entity or os.environ.get("WANDB_ENTITY", "")
    if online and not entity:
        import wandb

        entity = wandb.Api().default_entity or ""
    report = build_report(study, rows, claims, entity=entity)
    path = out_dir / "wandb_report.json"
    write_text(path, json.dumps(json.loads(report._to_model().model_dump_json(by_alias=True)), indent=2))
    if online:
        report.save()
        return f"W&B report: {report.url} (spec: {path})"
    return (f"W&B report spec: {path} (not published: no W&B API key or WANDB_MODE={wandb_mode()}). To publish it: "
            f"`wandb login`, then `{study.command('report')} --wandb` "
            "(and `wandb sync` the offline runs first so its panels have data).")
