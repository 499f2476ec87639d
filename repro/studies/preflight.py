"""A study file checked against what its runs will log, before any run trains.

The study's axis (``study.x``), its figures, its report table and its claims name grid keys and metrics; a typo in
any of them used to surface after all the training (a traceback, or a claim that FAILs for a metric no run logs).
:func:`check_study` trains one step of each distinct run configuration on one batch (and validates on one batch) to
learn the metric names the module and data module log, then checks every name the study uses, each mistake one
:class:`ReproError` ``<file>:<line>: ...`` naming the fix.
"""

from __future__ import annotations

import copy
import csv
import difflib
import inspect
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from repro.errors import ReproError, import_object

__all__ = ["STUDY_META_KEYS", "check_study", "logged_names"]

STUDY_META_KEYS = ("paper", "name", "scale", "title", "description", "x", "workers", "figures", "table",
                   "table_metrics", "table_by", "paper_table", "spread_table", "paper_values", "reported", "detector",
                   "robustness", "controls", "seeds")
METRIC_PARAMS = ("metric", "metrics", "metric_a", "metric_b", "threshold_metric", "train_metric")
SELECTION_PARAMS = ("where", "a", "b")
ROW_FIELDS = ("member", "run_dir", "seconds")


def _lines(path: Path) -> dict[tuple, int]:
    """The line (1-based) of every key and list item of a YAML file, by its path (``("claims", 2, "metric")``)."""
    out: dict[tuple, int] = {}

    def walk(node: yaml.Node, at: tuple) -> None:
        out.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out[(*at, key.value)] = key.start_mark.line + 1
                walk(value, (*at, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*at, i))

    root = yaml.compose(path.read_text())
    if root is not None:
        walk(root, ())
    return out


class _Where:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = _lines(path) if path.is_file() else {}

    def error(self, at: tuple, message: str) -> ReproError:
        line = next((self.lines[at[:n]] for n in range(len(at), 0, -1) if at[:n] in self.lines), "?")
        return ReproError(f"{self.path}:{line}: {message}")


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def logged_names(config: dict, workdir: Path) -> tuple[set[str], list[dict]]:
    """The metric names one run of ``config`` logs (its result's metrics and its history's columns, a stacked
    member's without the ``member<i>/`` prefix) and its stacked members, from one training step on one batch and a
    validation on one batch."""
    from repro.lightning_cli import ReproCLI

    cfg = copy.deepcopy(config)
    cfg["trainer"] = {**(cfg.get("trainer") or {}), "max_steps": 1, "limit_train_batches": 1,
                      "limit_val_batches": 1, "check_val_every_n_epoch": 1, "val_check_interval": None,
                      "num_sanity_val_steps": 0, "enable_checkpointing": False, "enable_progress_bar": False,
                      "enable_model_summary": False, "log_every_n_steps": 1,
                      "logger": {"class_path": "repro.tracking.HistoryCSVLogger",
                                 "init_args": {"save_dir": str(workdir), "name": "", "version": ""}}}
    model_args = (cfg.get("model") or {}).get("init_args") or {}
    if model_args.get("compile"):
        model_args["compile"] = False  # the names do not depend on it; compiling would take minutes
    cfg["run"] = {**(cfg.get("run") or {}), "out_dir": str(workdir)}
    cli = ReproCLI(args=cfg, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.validate(cli.model, datamodule=cli.datamodule, verbose=False)
    cli.trainer.loggers[0].save()
    names = {k for k, v in cli.trainer.callback_metrics.items() if v.numel() == 1}
    history = workdir / "metrics.csv"
    if history.is_file():
        with open(history, newline="") as f:
            names |= set(next(csv.reader(f), []))
    members = list(getattr(cli.model, "members", None) or [])
    for i in range(len(members)):
        names |= {n[len(f"member{i}/"):] for n in names if n.startswith(f"member{i}/")}
    return names, members


def _structure(config: dict) -> str:
    """A run config with its numbers blanked: runs that differ only in numbers log the same names."""
    def blank(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: blank(v) for k, v in obj.items() if k != "run"}
        if isinstance(obj, list):
            return [blank(v) for v in obj]
        return "#" if isinstance(obj, int | float) and not isinstance(obj, bool) else obj
    return json.dumps(blank(config), sort_keys=True, default=str)


def _names_of(spec: dict, fn, params: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
    """``(param, value)`` of each of ``params`` the call would get: given in ``spec`` or the function's default."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    out = []
    for name, param in signature.parameters.items():
        if name in params:
            value = spec.get(name, param.default)
            if value is not inspect.Parameter.empty and value is not None:
                out.append((name, value))
    return out


def _check_call(where: _Where, at: tuple, what: str, fn, spec: dict, skip: tuple[str, ...]) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for key in spec:
        if key not in params and key not in skip:
            raise where.error((*at, key), f"{what} takes no {key!r}; {_hint(key, params)}it takes "
                                          f"{', '.join(p for p in params if p not in ('rows', 'study', 'out'))}")


def check_study(study, configs: list[dict], names: list[str] | None = None) -> None:
    """Check ``study`` (a :class:`repro.studies.study.Study`) against what ``configs`` (its runs' configs, called
    ``names`` in messages) log. A run config whose one step crashes is one :class:`ReproError` naming it."""
    from repro.report.markdown import FIGURES
    from repro.studies.claims import STUDY_KEYS, resolve_claim
    from repro.studies.study import short_name

    where = _Where(study.path)
    meta = study.meta
    for key in meta:
        if key not in STUDY_META_KEYS:
            raise where.error(("study", key), f"unknown key study.{key}; {_hint(key, STUDY_META_KEYS)}a study "
                                              f"section has {', '.join(STUDY_META_KEYS)}")
    grid_keys = [short_name(k) for k in study.grid]
    named_cases = {short_name(k) for k, v in study.grid.items() if isinstance(v, dict)}
    metrics: set[str] = set()
    row_keys: set[str] = {*grid_keys, *ROW_FIELDS}
    seen: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="repro-preflight-") as tmp:
        for i, config in enumerate(configs):
            key = _structure(config)
            if key in seen:
                continue
            seen.add(key)
            try:
                logged, members = logged_names(config, Path(tmp) / str(i))
            except ReproError:
                raise
            except Exception as err:  # a config that builds but cannot train: say which run, before any trains
                run = names[i] if names else f"run {i}"
                raise ReproError(
                    f"{study.path}: the one-step check of {run} failed before any run trained: "
                    f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}; fix "
                    f"that run's config (`repro fit --config` on it shows the whole traceback)") from err
            metrics |= logged
            row_keys |= {k for m in members for k in m}
    row_keys |= metrics

    def check_metric(at: tuple, value: Any, what: str) -> None:
        for name in [value] if isinstance(value, str) else list(value or []):
            if isinstance(name, str) and name not in metrics:
                raise where.error(at, f"{what}: no run logs the metric {name!r}; {_hint(name, metrics)}the runs log "
                                      f"{', '.join(sorted(m for m in metrics if '/' in m))}")

    x = meta.get("x")
    figures = meta.get("figures")
    if x is not None and x not in row_keys:
        raise where.error(("study", "x"), f"study.x is {x!r}, not a grid key; {_hint(x, grid_keys)}the grid's keys: "
                                          f"{', '.join(grid_keys)}")
    if x is None:
        raise where.error(("study",), "study.x is missing: name the grid key the report's figure, table and claims "
                                      f"run along (one of {', '.join(grid_keys)})")
    if not figures:
        if x in named_cases:
            raise where.error(("study", "x"), f"study.x is {x!r}, a grid of named cases: the default figure is a "
                                              "curve over numbers; list study.figures (e.g. kind: class_bars), or "
                                              "use a numeric grid key as x")
    for i, spec in enumerate(figures or []):
        at = ("study", "figures", i)
        spec = dict(spec)
        kind = spec.pop("kind", "curve")
        spec.pop("file", None)
        fn = FIGURES.get(kind) or import_object(kind, what="figure kind")
        _check_call(where, at, f"figure kind {kind!r}", fn, spec, ())
        fx = spec.get("x", x)
        if fx is not None and fx not in row_keys:
            raise where.error((*at, "x"), f"figure x {fx!r} is not a grid key; the grid's keys: {', '.join(grid_keys)}")
        for param, value in _names_of(spec, fn, METRIC_PARAMS):
            check_metric((*at, param), value, f"figure {i + 1} ({kind}) {param}")
    if not meta.get("table"):
        for name in meta.get("table_metrics") or []:
            check_metric(("study", "table_metrics"), name, "study.table_metrics")
    paper_table = meta.get("paper_table") or {}
    if paper_table.get("metric"):
        check_metric(("study", "paper_table", "metric"), paper_table["metric"], "study.paper_table.metric")
    for i, claim in enumerate(study.claims):
        at = ("claims", i)
        spec = {k: v for k, v in claim.items() if k not in STUDY_KEYS}
        fn = resolve_claim(claim.get("type"))
        name = claim.get("name") or claim.get("type")
        _check_call(where, at, f"claim {name!r} ({claim.get('type')})", fn, spec, ("name",))
        for param, value in _names_of(spec, fn, METRIC_PARAMS):
            check_metric((*at, param), value, f"claim {name!r} {param}")
        for param in SELECTION_PARAMS:
            selection = spec.get(param)
            for key in selection if isinstance(selection, dict) else []:
                if key not in row_keys:
                    hint = _hint(key, row_keys)
                    raise where.error((*at, param, key), f"claim {name!r} selects runs by {key!r}, which no row has; "
                                                         f"{hint}the grid's keys: {', '.join(grid_keys)}")
