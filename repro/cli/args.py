"""What the study commands share: the study a command line names (with its --set/--grid), its output folder, the
common flags, and the verdict printed at the end."""

from __future__ import annotations

from pathlib import Path

import yaml

from repro.errors import ReproError

__all__ = ["finish", "grid_overrides", "parse_assignments", "study_args", "study_for", "study_out_dir"]


def study_for(args):
    from repro.papers import normalize, study_path
    from repro.studies.study import Study

    paper = normalize(args.paper)
    if args.study and args.study.endswith((".yaml", ".yml")):  # a study file of the user's own
        study = Study.load(args.study)
    else:
        study = Study.load(study_path(paper, args.study or args.scale))
    return study.with_overrides(parse_assignments(getattr(args, "set", None), "--set"), grid_overrides(args.grid))


def parse_assignments(items: list[str], flag: str) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ReproError(f"{flag} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def grid_overrides(items: list[str]) -> dict:
    grid = parse_assignments(items, "--grid")
    return {k: v if isinstance(v, list) else [v] for k, v in grid.items()}


def study_out_dir(args, study) -> Path:
    return Path(args.out) / study.paper / study.path.stem


def finish(study, rows, out_dir: Path) -> int:
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


def study_args(p) -> None:
    p.add_argument("paper", help="paper name (see `repro list`)")
    p.add_argument("--scale", choices=("quick", "paper", "gpu"), default="paper",
                   help="paper (the default): the paper's setup (GPU, real data); quick: minutes on a CPU; gpu: the "
                   "phenomenon on offline data in <= 15 min on one GPU")
    p.add_argument("--study", help="a study in configs/<paper>/ by name, or a path to your own study .yaml "
                   "(overrides --scale)")
    p.add_argument("--out", default="results", help="results root (default: results)")
    p.add_argument("--grid", action="append", metavar="KEY=[V1,V2]", help="replace a grid axis")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key in every run (`repro "
                   "report` takes the ones `repro reproduce` ran with)")
