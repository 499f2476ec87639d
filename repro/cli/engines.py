"""The ``repro`` commands that hand a study to engines users already have: W&B sweeps (``repro sweep``, whose agents
run ``repro train-point``), SLURM through submitit (``repro reproduce --launcher``), W&B Reports (``repro report
--wandb``) and results read back from W&B (``repro collect``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from repro.atomic import write_text
from repro.cli.args import finish, grid_overrides, parse_assignments, study_for, study_out_dir
from repro.errors import ReproError

__all__ = ["add_parsers", "add_reproduce_flags", "launch_or_none", "wandb_report"]


def add_reproduce_flags(p) -> None:
    p.add_argument("--launcher", choices=("local", "slurm"),
                   help="submit the pending runs as one submitit job array (slurm, or local processes) and return; "
                        "rerun to collect what finished and submit what is missing")
    p.add_argument("--gpus", type=int, help="GPUs per run (--launcher; default: study.resources.gpus or 0)")
    p.add_argument("--cpus", type=int, help="CPUs per run (--launcher)")
    p.add_argument("--mem-gb", type=int, dest="mem_gb", help="memory per run in GB (--launcher)")
    p.add_argument("--time-min", type=int, dest="time_min", help="time limit per run in minutes (--launcher)")
    p.add_argument("--partition", help="SLURM partition (--launcher slurm)")


def launch_or_none(args, study, runner, out_dir: Path) -> int | None:
    """With ``--launcher`` and runs to train: submit them and return the exit status; else None (go on locally)."""
    if not getattr(args, "launcher", None):
        return None
    from repro.studies.launcher import launch, pending_to_submit, resources

    pending = runner.pending()
    if not pending:
        return None
    runner.check()  # bad values and missing data stop here, before anything is queued
    flags = {k: getattr(args, k) for k in ("gpus", "cpus", "mem_gb", "time_min", "partition")}
    waiting = len(pending) - len(pending_to_submit(runner))
    jobs = launch(runner, args.launcher, resources(study, flags), out_dir / "submitit")
    ids = ", ".join(dict.fromkeys(job.job_id.split("_")[0] for job in jobs)) or "-"
    print(f"{study.paper} / {study.name}: {len(jobs)} run(s) submitted ({args.launcher}, job {ids})"
          + (f", {waiting} being trained now" if waiting else "")
          + f"; logs in {out_dir / 'submitit'}. Rerun the same command to collect what finished and submit what "
          "is missing.", file=sys.stderr)
    return 0


def wandb_report(study, rows, out_dir: Path) -> None:
    from repro.report.wandb_report import publish_or_save

    print(publish_or_save(study, rows, out_dir))


def cmd_sweep(args) -> int:
    from repro.studies.sweep import points, sweep_config

    study = study_for(args)
    study_arg = str(study.path) if args.study and args.study.endswith((".yaml", ".yml")) else study.path.stem
    sweep = sweep_config(study, study_arg=study_arg, out=args.out, grid_overrides=grid_overrides(args.grid),
                         settings=args.set or [])
    path = Path(args.file) if args.file else study_out_dir(args, study) / "sweep.yaml"
    write_text(path, yaml.safe_dump(sweep, sort_keys=False))
    print(f"sweep: {path} ({len(points(sweep))} grid points)\n"
          f"  wandb sweep {path}            # prints the sweep id\n"
          f"  wandb agent ENTITY/{sweep['project']}/SWEEP_ID   # on any number of machines\n"
          f"then `{study.command()} --out {args.out}` where the results are, or "
          f"`{study.command('collect')} --from wandb --project {sweep['project']}`")
    return 0


def cmd_train_point(args) -> int:
    from repro.studies.sweep import train_point

    study = study_for(args)
    try:
        point = json.loads(args.point)
    except ValueError as err:
        raise ReproError(f"--point takes the grid point as JSON ({{\"grid key\": value}}), got {args.point!r}") from err
    result = train_point(study, study_out_dir(args, study), point, threads=args.threads,
                         cli_overrides=parse_assignments(args.set, "--set"))
    print(f"{result['name']}: {json.dumps(result['metrics'])}")
    return 0


def cmd_collect(args) -> int:
    from repro.studies.collect import collect_offline, collect_online
    from repro.studies.runner import StudyRunner

    study = study_for(args)
    out_dir = study_out_dir(args, study)
    runner = StudyRunner(study, out_dir, grid_overrides=grid_overrides(args.grid),
                         cli_overrides=parse_assignments(args.set, "--set"))
    if args.source == "wandb":
        if not args.project:
            raise ReproError("--from wandb needs --project (and --entity unless it is your default)")
        written = collect_online(runner, project=args.project, entity=args.entity)
    else:
        written = collect_offline(runner, Path(args.source))
    print(f"collected {len(written)} run(s) into {out_dir / 'runs'}", file=sys.stderr)
    rows = runner.collect()
    if not rows:
        raise ReproError(f"no finished run of {study.paper} / {study.name} found in {args.source}")
    return finish(study, rows, out_dir)


def add_parsers(sub, common) -> None:
    """``repro sweep``, ``repro train-point`` and ``repro collect`` (``common(p)``: paper, --scale, --study, --out,
    --grid, --set)."""
    p = sub.add_parser("sweep", help="write a W&B sweep (grid) that runs the study through `wandb agent`")
    common(p)
    p.add_argument("--file", help="where to write the sweep YAML (default: <out>/<paper>/<study>/sweep.yaml)")
    p.set_defaults(fn=cmd_sweep)
    p = sub.add_parser("train-point", help="train one grid point into the study's cache (a sweep's program)")
    common(p)
    p.add_argument("--point", required=True, help='the grid point as JSON: {"grid key": value, ...}')
    p.add_argument("--threads", type=int, help="torch threads")
    p.set_defaults(fn=cmd_train_point)
    p = sub.add_parser("collect", help="read a study's runs back from W&B (or offline run folders) and judge them")
    common(p)
    p.add_argument("--from", dest="source", required=True, metavar="wandb|FOLDER",
                   help="wandb (online: --project, --entity) or a folder holding offline run folders "
                        "(**/wandb/offline-run-*)")
    p.add_argument("--project", help="W&B project (default for the study's runs: repro-<paper>)")
    p.add_argument("--entity", help="W&B entity (default: your default entity)")
    p.set_defaults(fn=cmd_collect)
