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

from repro.cli.args import study_args
from repro.cli.engines import add_parsers, add_reproduce_flags
from repro.cli.studies import cmd_list, cmd_report, cmd_reproduce, studies_epilog
from repro.errors import INTERRUPTED_HINT, Interrupted, ReproError, raise_interrupted

__all__ = ["LIGHTNING_COMMANDS", "build_parser", "main"]

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def build_parser(paper: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (("reproduce", cmd_reproduce, "run a study and judge its claims"),
                            ("report", cmd_report, "redraw a study's report from its cached results")):
        p = sub.add_parser(name, help=help_, epilog=studies_epilog(paper),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        study_args(p)
        p.set_defaults(fn=fn)
        if name == "report":
            p.add_argument("--wandb", action="store_true", help="also build a W&B Report (saved when online, else "
                           "its spec written to <out>/<paper>/<study>/wandb_report.json)")
        if name == "reproduce":
            p.add_argument("--workers", type=int, help="runs in parallel (default: the study's `workers`)")
            p.add_argument("--threads", type=int, help="torch threads per run (default: cores / workers)")
            p.add_argument("--no-progress", action="store_true", help="no progress bars")
            p.add_argument("--robustness", action="store_true",
                           help="also run a disjoint seed set, a perturbation standing in for another CPU and every "
                                "negative control, and report per claim whether it held (study.robustness, "
                                "study.controls in the YAML)")
            p.add_argument("--check", action="store_true",
                           help="only check the study: build each distinct run, prepare its data and train one step "
                                "on one batch, then check the study's axis, figures, table and claims against what "
                                "the runs log; trains no run (exit 0: ready to run)")
            p.add_argument("--control", action="append", metavar="NAME",
                           help="run only this negative control of the study (repeatable): exit 0 when every claim "
                                "it lists FAILS there, as the paper predicts")
            add_reproduce_flags(p)
    add_parsers(sub, study_args)
    p = sub.add_parser("list", help="papers and their studies; `repro list PAPER`: a paper's claims")
    p.add_argument("paper", nargs="?", help="list this paper's studies and claims")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("data", help="install Fashion-MNIST from Debian's package (no root needed)", add_help=False)
    p.set_defaults(fn=None)
    p = sub.add_parser("bench", help="time the data pipelines on this device", add_help=False)
    p.set_defaults(fn=None)
    for name in LIGHTNING_COMMANDS:
        sub.add_parser(name, help=f"LightningCLI {name} (see `repro {name} --help`)", add_help=False)
    return parser


def _repro_cause(err: BaseException) -> ReproError | None:
    """The ReproError (one of our config checks) somewhere in ``err``'s chain, else None."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ReproError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a `repro` process: start its own W&B service rather than join the one its parent's
        # environment names (WANDB_SERVICE, set by any process that used wandb: a notebook, a test runner). A run
        # killed mid-way stays registered in such a long-lived service, and its resume under the same run id
        # would be refused ("run ID ... is in use").
        os.environ.pop("WANDB_SERVICE", None)
    argv = list(sys.argv[1:] if argv is None else argv)
    import signal
    import threading

    handler = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, raise_interrupted) if handler else None
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            from repro.studies.study import read_yaml

            for flag, value in zip(argv, argv[1:], strict=False):  # a broken YAML: one clear line, not a traceback
                if flag == "--config" and Path(value).is_file():
                    read_yaml(Path(value))
            from repro.lightning_cli import ReproCLI

            # From the shell, let LightningCLI read sys.argv itself (its help and errors name `repro`).
            cli = ReproCLI(args=None if argv == sys.argv[1:] else argv)
            if getattr(cli, "trainer", None) is not None:
                print(cli.summary())
            return 0
        if argv and argv[0] == "data":
            from repro.data.install import main as data_main

            return data_main(argv[1:])
        if argv and argv[0] == "bench":
            from repro.bench import main as bench_main

            return bench_main(argv[1:])
        helped = argv[:1] in (["reproduce"], ["report"]) and ("-h" in argv or "--help" in argv)
        paper = next((a for a in argv[1:] if not a.startswith("-")), None) if helped else None
        args = build_parser(paper).parse_args(argv)
        return args.fn(args)
    except ReproError as err:  # a missing dataset, a bad key or value, an unknown paper: the message names the fix
        print(f"repro: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as err:  # `repro fit`: jsonargparse wraps our own check of a value in its own
        cause = _repro_cause(err)
        if cause is None:
            raise
        print(f"repro: error: {cause}", file=sys.stderr)
        return 2
    except Interrupted:  # every run keeps its last checkpoint; the same command resumes each where it stopped
        print(f"repro: {INTERRUPTED_HINT}", file=sys.stderr)
        return 130
    finally:
        if handler:
            signal.signal(signal.SIGINT, previous)

