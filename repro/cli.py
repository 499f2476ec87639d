"""The ``repro`` command.

    repro list                                   papers, studies, scales and claims
    repro reproduce PAPER --scale quick          run a study, print the verdict, write the report
    repro report PAPER --scale quick             redraw the report from cached results (--wandb: a W&B Report)
    repro sweep PAPER --study S                  a W&B sweep that runs the study (`wandb agent`)
    repro collect PAPER --from wandb|FOLDER      read a study's runs back from W&B and judge them
    repro fit --config configs/PAPER/quick.yaml  one run (LightningCLI: fit/validate/test)
    repro bench                                  device-resident vs classic data pipeline
    repro data fashion_mnist                     install Fashion-MNIST (Debian's package, no root needed)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from repro.errors import DISK_FULL_HINT, ReproError, is_disk_full

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _study_for(args):
    from repro.papers import normalize, study_path
    from repro.studies.study import Study

    paper = normalize(args.paper)
    if args.study and args.study.endswith((".yaml", ".yml")):  # a study file of the user's own
        return Study.load(args.study)
    return Study.load(study_path(paper, args.study or args.scale))


def _parse_assignments(items: list[str], flag: str) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ReproError(f"{flag} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def _grid_overrides(items: list[str]) -> dict:
    grid = _parse_assignments(items, "--grid")
    return {k: v if isinstance(v, list) else [v] for k, v in grid.items()}


def _out_dir(args, study) -> Path:
    return Path(args.out) / study.paper / study.path.stem


def _finish(study, rows, out_dir: Path) -> int:
    from repro.report.markdown import draw_figures, print_verdict, write_report
    from repro.studies.claims import evaluate, exit_status

    claims = evaluate(study.claims, rows, x=study.x_key)
    figures = draw_figures(study, rows, out_dir)
    report = write_report(study, rows, claims, out_dir, figures)
    print_verdict(claims, f"{study.paper} / {study.name} ({study.scale})")
    print(f"report: {report}")
    for fig in figures:
        print(f"figure: {fig}")
    return exit_status(claims)


def cmd_reproduce(args) -> int:
    from repro.cli_engines import launch_or_none
    from repro.studies.runner import StudyRunner

    study = _study_for(args)
    out_dir = _out_dir(args, study)
    if args.control:  # the negative controls alone: each listed claim must FAIL there
        from repro.studies import robustness

        for name in args.control:
            study.control(name)  # an unknown control: one clear error before any training
        ok = robustness.run_controls(study, out_dir, args.control, workers=args.workers, threads=args.threads,
                                     grid=_grid_overrides(args.grid), settings=_parse_assignments(args.set, "--set"),
                                     progress=not args.no_progress)
        return 0 if ok else 1
    runner = StudyRunner(study, out_dir, workers=args.workers, threads=args.threads,
                         grid_overrides=_grid_overrides(args.grid), cli_overrides=_parse_assignments(args.set, "--set"))
    submitted = launch_or_none(args, study, runner, out_dir)
    if submitted is not None:
        return submitted
    todo = len(runner.pending())
    print(f"{study.paper} / {study.name}: {len(runner.jobs)} runs ({len(runner.jobs) - todo} cached), "
          f"{runner.workers} worker(s) × {runner.threads} thread(s) → {out_dir}", file=sys.stderr)
    rows = runner.run(progress=not args.no_progress)
    if not rows:
        runner.raise_failures()
    try:
        status = _finish(study, rows, out_dir)
    except OSError as err:
        if not is_disk_full(err):
            raise
        runner.failures["the report"] = f"{err} — {DISK_FULL_HINT}"
        runner.raise_failures()
    runner.raise_failures()  # after the verdict on what did finish
    if args.robustness:  # the primary runs are cached now; the other two conditions train their own
        from repro.studies import robustness

        held = robustness.run(study, out_dir, workers=args.workers, threads=args.threads,
                              grid=_grid_overrides(args.grid), settings=_parse_assignments(args.set, "--set"),
                              progress=not args.no_progress)
        status = max(status, 0 if held else 1)
    return status


def cmd_report(args) -> int:
    from repro.studies.runner import StudyRunner

    study = _study_for(args)
    out_dir = _out_dir(args, study)
    runner = StudyRunner(study, out_dir, grid_overrides=_grid_overrides(args.grid))
    rows = runner.collect()
    missing = len(runner.pending())
    if not rows:
        raise ReproError(f"no finished runs under {out_dir}; run `repro reproduce {study.paper} "
                         f"--study {study.path.stem}` first")
    if missing:
        print(f"note: {missing} of {len(runner.jobs)} runs have not finished; the report covers the rest",
              file=sys.stderr)
    status = _finish(study, rows, out_dir)
    if args.wandb:
        from repro.cli_engines import wandb_report

        wandb_report(study, rows, out_dir)
    return status


def cmd_list(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from repro.papers import papers, study_paths
    from repro.studies.study import Study

    table = Table(title="repro: papers and studies", show_lines=True)
    for col in ("paper", "study", "scale", "runs", "claims"):  # a paper's name is never folded (it is a command)
        table.add_column(col, overflow="fold", min_width=max(map(len, papers()), default=0) if col == "paper" else None)
    for paper, info in papers().items():
        paths = study_paths(paper)
        if not paths:
            table.add_row(f"{paper}\n[dim]{info.title}", "[dim]no study configs yet", "", "", "")
        for path in paths:
            study = Study.load(path)
            claims = "\n".join(f"• {c.get('name') or c['type']}" for c in study.claims) or "-"
            table.add_row(f"{paper}\n[dim]{info.title}", f"{study.path.stem}\n[dim]{study.name}", study.scale,
                          str(len(study.runs())), claims)
    Console().print(table)
    return 0


def _study_args(p) -> None:
    p.add_argument("paper", help="paper name (see `repro list`)")
    p.add_argument("--scale", choices=("quick", "paper", "gpu"), default="paper",
                   help="paper: the paper's setup (GPU, real data); quick: minutes on a CPU; gpu: the "
                   "phenomenon on offline data in <= 15 min on one GPU")
    p.add_argument("--study", help="a study in configs/<paper>/ by name, or a path to your own study .yaml "
                   "(overrides --scale)")
    p.add_argument("--out", default="results", help="results root (default: results)")
    p.add_argument("--grid", action="append", metavar="KEY=[V1,V2]", help="replace a grid axis")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (("reproduce", cmd_reproduce, "run a study and judge its claims"),
                            ("report", cmd_report, "redraw a study's report from its cached results")):
        p = sub.add_parser(name, help=help_)
        _study_args(p)
        p.set_defaults(fn=fn)
        if name == "report":
            p.add_argument("--wandb", action="store_true", help="also build a W&B Report (saved when online, else "
                           "its spec written to <out>/<paper>/<study>/wandb_report.json)")
        if name == "reproduce":
            p.add_argument("--workers", type=int, help="runs in parallel (default: the study's `workers`)")
            p.add_argument("--threads", type=int, help="torch threads per run (default: cores / workers)")
            p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key in every run")
            p.add_argument("--no-progress", action="store_true", help="no progress bars")
            p.add_argument("--robustness", action="store_true",
                           help="also run a disjoint seed set, a perturbation standing in for another CPU and every "
                                "negative control, and report per claim whether it held (study.robustness, "
                                "study.controls in the YAML)")
            p.add_argument("--control", action="append", metavar="NAME",
                           help="run only this negative control of the study (repeatable): exit 0 when every claim "
                                "it lists FAILS there, as the paper predicts")
            from repro.cli_engines import add_reproduce_flags

            add_reproduce_flags(p)
    from repro.cli_engines import add_parsers

    add_parsers(sub, _study_args)
    p = sub.add_parser("list", help="papers, studies, scales and claims")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("data", help="install Fashion-MNIST from Debian's package (no root needed)", add_help=False)
    p.set_defaults(fn=None)
    p = sub.add_parser("bench", help="time the data pipelines on this device", add_help=False)
    p.set_defaults(fn=None)
    for name in LIGHTNING_COMMANDS:
        sub.add_parser(name, help=f"LightningCLI {name} (see `repro {name} --help`)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a `repro` process: start its own W&B service rather than join the one its parent's
        # environment names (WANDB_SERVICE, set by any process that used wandb: a notebook, a test runner). A run
        # killed mid-way stays registered in such a long-lived service, and its resume under the same run id
        # would be refused ("run ID ... is in use").
        os.environ.pop("WANDB_SERVICE", None)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            from repro.studies.study import read_yaml

            for flag, value in zip(argv, argv[1:], strict=False):  # a broken YAML: one clear line, not a traceback
                if flag == "--config" and Path(value).is_file():
                    read_yaml(Path(value))
            from repro.lightning_cli import ReproCLI

            # From the shell, let LightningCLI read sys.argv itself (its help and errors name `repro`).
            ReproCLI(args=None if argv == sys.argv[1:] else argv)
            return 0
        if argv and argv[0] == "data":
            from repro.data.install import main as data_main

            return data_main(argv[1:])
        if argv and argv[0] == "bench":
            from repro.bench import main as bench_main

            return bench_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except ReproError as err:  # a missing dataset, a bad key or value, an unknown paper: the message names the fix
        print(f"repro: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
