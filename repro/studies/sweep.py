"""A study as a W&B sweep: ``repro sweep`` writes a grid sweep whose parameters are the study's grid keys, and whose
program trains one grid point (``repro train-point``) into the study's own run folder (``runs/<point>__<config
hash>/``), so ``wandb agent`` on any number of machines runs the study and ``repro reproduce`` anywhere that sees the
results folder collects and judges it (or ``repro collect --from wandb`` reads it back from W&B).

The point reaches the program as ``${args_json}`` (one JSON argument: a float like 1e-5 or a list keeps its type,
which ``key=value`` text would not). Named cases (``method: {ERM: {...}, ...}``) are swept by name.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.studies.study import RunSpec, Study

__all__ = ["points", "runs_of_sweep", "select_point", "sweep_config", "train_point"]


def sweep_config(study: Study, *, study_arg: str, out: str, grid_overrides: dict[str, list] | None = None,
                 settings: list[str] = ()) -> dict:
    """The W&B sweep config (method ``grid``) equivalent to the study's grid (with ``--grid`` replacements)."""
    grid = dict(study.grid)
    for key, values in (grid_overrides or {}).items():
        grid[key] = values
    parameters = {key: {"values": list(values)} for key, values in grid.items()}
    command = ["${env}", "repro", "train-point", study.paper, "--study", study_arg, "--out", out]
    for item in settings:
        command += ["--set", item]
    return {
        "name": f"{study.paper}/{study.name}",
        "project": f"repro-{study.paper}",
        "description": f"repro study {study.paper}/{study.name} ({study.scale}): one run per grid point",
        "method": "grid",
        "program": "repro",
        "command": [*command, "--point", "${args_json}"],
        "parameters": parameters,
    }


def points(sweep: dict) -> list[dict[str, Any]]:
    """The grid points a grid sweep visits, each ``{grid key: value}``."""
    params = sweep["parameters"]
    keys = list(params)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(params[k]["values"] for k in keys))]


def _as_overrides(study: Study, point: dict[str, Any]) -> dict[str, list]:
    unknown = [k for k in point if k not in study.grid]
    if unknown:
        raise ReproError(f"{study.path}: the point names {unknown[0]!r}, which is not a grid key; the grid keys are "
                         f"{', '.join(study.grid)}")
    missing = [k for k in study.grid if k not in point]
    if missing:
        raise ReproError(f"{study.path}: the point gives no value for the grid key {missing[0]!r}")
    return {k: [v] for k, v in point.items()}


def runs_of_sweep(study: Study, sweep: dict) -> list[RunSpec]:
    """The study runs a sweep trains: one per point, each as the study itself builds it."""
    return [study.runs(_as_overrides(study, p))[0] for p in points(sweep)]


def select_point(runner, point: dict[str, Any]) -> tuple[list, Any]:
    """The runner's jobs needed for one grid point: the point's job after the jobs it takes inputs from."""
    [spec] = runner.study.runs(_as_overrides(runner.study, point))
    if spec.name not in runner.by_name:
        raise ReproError(f"{runner.study.path}: no grid point {spec.name}")
    needed: set[str] = set()

    def add(name: str) -> None:
        if name not in needed:
            needed.add(name)
            for dep in runner.by_name[name].depends:
                add(dep)

    add(spec.name)
    return [job for job in runner.jobs if job.name in needed], runner.by_name[spec.name]


def train_point(study: Study, out_dir: Path, point: dict[str, Any], *, threads: int | None = None,
                cli_overrides: dict[str, Any] | None = None) -> dict:
    """Train one grid point (and the runs it takes inputs from) into the study's run folders; its result. Under a
    W&B agent (``WANDB_SWEEP_ID`` set) the point's W&B run is the agent's run (its id), so the sweep sees it."""
    from repro.studies.runner import StudyRunner

    runner = StudyRunner(study, out_dir, workers=1, threads=threads, cli_overrides=cli_overrides)
    jobs, job = select_point(runner, point)
    if os.environ.get("WANDB_SWEEP_ID") and os.environ.get("WANDB_RUN_ID"):
        job.config["run"]["run_id"] = os.environ["WANDB_RUN_ID"]
    runner.jobs = jobs
    runner.run(progress=False)
    runner.raise_failures()
    return json.loads((job.run_dir / "result.json").read_text())
