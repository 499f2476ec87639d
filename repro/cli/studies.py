"""``repro reproduce``, ``repro report`` and ``repro list``."""

from __future__ import annotations

import sys

from repro.cli.args import finish, grid_overrides, parse_assignments, study_for, study_out_dir
from repro.cli.engines import launch_or_none, wandb_report
from repro.errors import DISK_FULL_HINT, ReproError, is_disk_full

__all__ = ["cmd_list", "cmd_report", "cmd_reproduce", "studies_epilog"]


def cmd_reproduce(args) -> int:
    study = study_for(args)  # an unknown paper or study: the error before torch and Lightning are imported
    from repro.studies.runner import StudyRunner

    out_dir = study_out_dir(args, study)
    if args.control:  # the negative controls alone: each listed claim must FAIL there
        from repro.studies.control_runs import run_controls

        for name in args.control:
            study.control(name)  # an unknown control: one clear error before any training
        ok = run_controls(study, out_dir, args.control, workers=args.workers, threads=args.threads,
                                     grid=grid_overrides(args.grid), settings=parse_assignments(args.set, "--set"),
                                     progress=not args.no_progress)
        return 0 if ok else 1
    runner = StudyRunner(study, out_dir, workers=args.workers, threads=args.threads,
                         grid_overrides=grid_overrides(args.grid), cli_overrides=parse_assignments(args.set, "--set"))
    if args.check:  # what a run would meet first, and nothing else
        runner.check()
        print(f"{study.paper} / {study.name}: checked ({len(runner.jobs)} runs, {len(runner.pending())} to train); "
              f"`{study.command()}` runs it", file=sys.stderr)
        return 0
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
        status = finish(study, rows, out_dir)
    except OSError as err:
        if not is_disk_full(err):
            raise
        runner.failures["the report"] = f"{err} — {DISK_FULL_HINT}"
        runner.raise_failures()
    runner.raise_failures()  # after the verdict on what did finish
    if args.robustness:  # the primary runs are cached now; the other two conditions train their own
        from repro.studies import robustness

        held = robustness.run(study, out_dir, workers=args.workers, threads=args.threads,
                              grid=grid_overrides(args.grid), settings=parse_assignments(args.set, "--set"),
                              progress=not args.no_progress)
        status = max(status, 0 if held else 1)
    return status


def cmd_report(args) -> int:
    study = study_for(args)
    from repro.studies.runner import StudyRunner

    out_dir = study_out_dir(args, study)
    runner = StudyRunner(study, out_dir, grid_overrides=grid_overrides(args.grid),
                         cli_overrides=parse_assignments(args.set, "--set"))
    rows = runner.collect()
    missing = len(runner.pending())
    if not rows:
        raise ReproError(f"no finished runs under {out_dir} for this study with these overrides; run "
                         f"`{study.command()}` first (`repro report` takes the same --set and --grid)")
    if missing:
        print(f"note: {missing} of {len(runner.jobs)} runs have not finished; the report covers the rest",
              file=sys.stderr)
    status = finish(study, rows, out_dir)
    if args.wandb:
        wandb_report(study, rows, out_dir)
    return status


def cmd_list(args) -> int:
    """Every paper's studies, one line each (fits 80 columns); ``repro list PAPER``: that paper's studies with
    their claims in full."""
    import shutil
    import textwrap

    from repro.papers import normalize, papers, study_paths
    from repro.studies.study import Study

    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    chosen = {normalize(args.paper): papers()[normalize(args.paper)]} if args.paper else papers()
    if not args.paper:
        rows = [("paper", "study", "scale", "runs", "claims")]
        for paper in chosen:
            rows += [(paper, path.stem, (s := Study.load(path)).scale, str(len(s.runs())), str(len(s.claims)))
                     for path in study_paths(paper)] or [(paper, "(no study configs yet)", "", "", "")]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
        print("\nrepro list PAPER                      a paper's studies and claims\n"
              "repro reproduce PAPER --study STUDY   run a study")
        return 0
    for paper, info in chosen.items():
        print(textwrap.fill(f"{paper}: {info.title}", width))
        for path in study_paths(paper):
            study = Study.load(path)
            print("\n" + textwrap.fill(f"{path.stem} ({study.scale}, {len(study.runs())} runs): "
                                       f"{study.meta.get('title', study.name)}", width, initial_indent="  ",
                                       subsequent_indent="    "))
            for claim in study.claims:
                print(textwrap.fill(claim.get("name") or claim["type"], width, initial_indent="    • ",
                                    subsequent_indent="      "))
    return 0


def studies_epilog(paper: str | None) -> str | None:
    """For ``repro reproduce PAPER --help``: the paper's studies (``--study NAME``) with their scale and title."""
    from repro.papers import normalize, study_paths
    from repro.studies.study import Study

    try:
        paths = study_paths(normalize(paper)) if paper else []
    except ReproError:
        return None
    if not paths:
        return None
    lines = [f"studies of {normalize(paper)} (--study NAME; --scale S runs the study named S):"]
    for path in paths:
        study = Study.load(path)
        lines.append(f"  {path.stem:<20} {study.scale:<6} {study.meta.get('title', study.name)}")
    return "\n".join(lines)
