"""From a study's grid to jobs: parse and check every run's config, hash it, fix its run folder, and resolve the
runs one run takes as input.

A run may take another grid point's output as input: anywhere in a run's config, the value
``{from_run: {method: stage1}, file: transition.pt}`` names the run with the same grid values except those
given under ``from_run`` (here the grid point whose ``method`` is ``stage1``), and a file it writes in its run
folder. The runner trains that run first and passes the file's path. A dependent run's config hash covers its
dependency's hash and the file name (never the folder, so a study moved elsewhere keeps its cache).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentError

from repro.errors import ReproError
from repro.lightning_cli import ReproCLI
from repro.studies.study import RunSpec, Study, config_hash, short_name

__all__ = ["Job", "OutputRef", "config_error", "plan"]

PARSE_ERRORS = (ArgumentError, SystemExit, ValueError, TypeError)


class ParseOnly(ReproCLI):
    """Parses and checks a config without building anything (for hashing and early errors)."""

    def _set_seed(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass


def _root_cause(err: BaseException) -> str:
    """The user's mistake inside jsonargparse's wrapping ("Does not validate against any of the Union
    subtypes ... Errors: - <our message> - Expected a NoneType ...")."""
    seen = err
    while seen is not None:
        if isinstance(seen, ReproError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    noise = ("Does not validate", "Subtypes:", "Errors:", "Expected a", "Given value", "Problem with given")
    keys, reasons = [], []
    for line in str(err).strip().splitlines():
        line = line.strip().removeprefix("- ")
        if line.startswith("Parser key"):
            keys.append(line.split('"')[1])
        elif line and not line.startswith(noise):
            reasons.append(line.split(" Got value:")[0])
    where = ".init_args.".join(keys)
    reason = reasons[0] if reasons else str(err).strip().splitlines()[0]
    reason = reason.split("callable class: ")[-1]  # jsonargparse's type preamble before the real reason
    return f"{where}: {reason}" if where else reason


def config_error(path: Path, err: Exception, run: str | None = None) -> ReproError:
    where = f"{path}" + (f" ({run})" if run else "")
    return ReproError(f"{where}: {_root_cause(err)}\n"
                      "Fix it in the YAML or on the command line; `repro fit --config FILE --print_config` "
                      "shows every valid key and its value.")


@dataclass
class OutputRef:
    """A config value that is another run's output file: where it sits in the config, which run, which file."""

    key: tuple[str, ...]
    run: str
    file: str


@dataclass
class Job:
    name: str
    config: dict
    run_dir: Path
    hash: str
    overrides: dict
    threads: int
    inputs: list[OutputRef] = field(default_factory=list)

    @property
    def depends(self) -> list[str]:
        return list(dict.fromkeys(ref.run for ref in self.inputs))


def _find_refs(node: Any, key: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    if isinstance(node, dict):
        if "from_run" in node:
            return [(key, node)]
        return [ref for k, v in node.items() for ref in _find_refs(v, (*key, k))]
    return []


def _set_key(cfg: dict, key: tuple[str, ...], value: Any) -> None:
    node = cfg
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value


def _dependency(spec: RunSpec, ref: dict, by_overrides: dict[tuple, RunSpec], study: Study) -> RunSpec:
    if set(ref) - {"from_run", "file"} or not isinstance(ref.get("from_run"), dict) or not ref.get("file"):
        raise ReproError(f"{study.path} ({spec.name}): a run's input is {{from_run: {{grid key: value}}, file: "
                         f"name}}, got {ref}")
    wanted = {**spec.overrides, **{short_name(k): v for k, v in ref["from_run"].items()}}
    dep = by_overrides.get(tuple(sorted((k, str(v)) for k, v in wanted.items())))
    if dep is None:
        raise ReproError(f"{study.path} ({spec.name}): it takes {ref['file']} from the run {wanted}, which the grid "
                         "does not have; name a grid point of this study under from_run")
    if dep is spec:
        raise ReproError(f"{study.path} ({spec.name}): a run cannot take its own output as input")
    return dep


def plan(study: Study, specs: list[RunSpec], out_dir: Path, threads: int, with_settings) -> list[Job]:
    """Parse every run's config (one parser for all), hash it, fix its run folder, and order the runs so that
    each comes after the runs whose outputs it takes (``with_settings(spec, run_dir) -> config``)."""
    if not specs:
        raise ReproError(f"{study.path}: the grid expands to no runs")
    by_overrides = {tuple(sorted((k, str(v)) for k, v in s.overrides.items())): s for s in specs}
    refs = {id(s): [(key, ref, _dependency(s, ref, by_overrides, study)) for key, ref in _find_refs(s.config)]
            for s in specs}
    parser_cli = None
    jobs: dict[int, Job] = {}

    def visit(spec: RunSpec, stack: tuple[str, ...]) -> Job:
        nonlocal parser_cli
        if id(spec) in jobs:
            return jobs[id(spec)]
        if spec.name in stack:
            raise ReproError(f"{study.path}: runs take each other's outputs in a cycle: {' → '.join(stack)}")
        hashed = copy.deepcopy(spec.config)
        inputs = []
        for key, ref, dep_spec in refs[id(spec)]:
            dep = visit(dep_spec, (*stack, spec.name))
            inputs.append(OutputRef(key, dep.name, ref["file"]))
            _set_key(hashed, key, f"run:{dep.hash}/{ref['file']}")  # what the hash sees; the path comes at run time
        try:
            if parser_cli is None:
                parser_cli = ParseOnly(args=hashed, run=False)
            parser_cli.config = parser_cli.parser.parse_object(hashed)
        except PARSE_ERRORS as err:
            raise config_error(study.path, err) from err
        digest = config_hash(parser_cli.resolved_config())
        run_dir = out_dir / "runs" / f"{spec.name}__{digest}"
        jobs[id(spec)] = Job(spec.name, with_settings(RunSpec(spec.overrides, hashed), run_dir), run_dir, digest,
                             spec.overrides, threads, inputs)
        return jobs[id(spec)]

    ordered = [visit(spec, ()) for spec in specs]
    by_name = {job.name: job for job in ordered}
    seen: set[str] = set()
    out: list[Job] = []

    def place(job: Job) -> None:  # grid order, each run after the runs it takes inputs from
        if job.name not in seen:
            for name in job.depends:
                place(by_name[name])
            seen.add(job.name)
            out.append(job)

    for job in ordered:
        place(job)
    return out


def resolve_inputs(job: Job, jobs_by_name: dict[str, Job]) -> dict:
    """The job's config with each input replaced by the path of the file its run wrote."""
    cfg = copy.deepcopy(job.config)
    for ref in job.inputs:
        path = jobs_by_name[ref.run].run_dir / ref.file
        if not path.is_file():
            raise ReproError(f"{job.name}: its input {ref.file} from {ref.run} is missing at {path}; rerun the study "
                             f"to train {ref.run} again")
        _set_key(cfg, ref.key, str(path))
    return cfg
