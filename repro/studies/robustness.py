"""``repro reproduce PAPER --robustness``: does each claim hold beyond the study's own seeds and machine, and does
it fail where the paper predicts no effect?

A study is run in several conditions and every claim judged in each:

- **primary**: the study as written (its seeds, this machine's default thread count);
- **disjoint seeds**: the seed axis replaced by another set (``study.robustness.seeds``, default each seed +100);
  a seed varies every draw the run seed drives (``repro.data.seeds``), so this is a fresh set of runs;
- **perturbed**: the primary seeds as another machine would run them — by default under another ATen CPU
  capability (``perturbation: {cpu: other}``: ``ATEN_CPU_CAPABILITY`` in the runs' worker processes: ``default``,
  or ``avx2`` on a machine already running the default kernels; or name one: ``{cpu: avx2}``). Torch's
  random draws of 16 values or more and its vector kernels depend on the capability, so the same seed on another
  CPU starts from other initial weights: another CPU is partly another seed. Also available: another torch thread
  count (``{threads: N}``), relative noise of the last bits on the initial weights (``{jitter: 1e-7}``), or
  config changes such as float64 (``{name: float64, set: {trainer.precision: 64-true}}``);
- **controls**: each of ``study.controls`` (:class:`repro.studies.study.Control`), the primary seeds in a variant
  of the study where the paper predicts no effect; each claim in the control's ``must_fail`` must FAIL there.
  A claim that passes on its control would pass without the paper's effect: the check fails.

A perturbation that changes no number is no perturbation: the check says so and fails. Results go to
``<out>/robustness/<condition>/`` and ``<out>/controls/<control>/`` (the primary study keeps its usual folder and
cache), the table to ``<out>/robustness.md`` and ``robustness.json``. ``repro reproduce --control NAME`` runs
one control alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.atomic import write_text
from repro.errors import ReproError
from repro.studies.claims import ClaimResult, evaluate
from repro.studies.study import Control, Study, get_dotted

__all__ = ["CPU_KEY", "Condition", "condition_overrides", "condition_runner", "conditions", "control_condition",
           "control_verdicts", "cpu_capability", "judge_condition", "perturbation_effect", "robustness_table",
           "seed_axis"]

STACK_KEY = "model.init_args.stack_seeds"
SEED_KEY = "seed_everything"
CPU_KEY = "ATEN_CPU_CAPABILITY"  # torch reads it once, at import: set in the worker processes' environment
CPU_CAPABILITIES = ("default", "avx2", "avx512")
OTHER_CPU = "other"  # the default kernels, or AVX2 where this machine already runs the default ones


def cpu_capability() -> str:
    """The ATen CPU capability torch runs with in this process (``AVX2``, ``AVX512``, ``DEFAULT``, ...)."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


@dataclass
class Condition:
    """One way of running the study: grid and config overrides, workers × threads, where its results go."""

    name: str
    label: str
    out_dir: Path
    grid: dict[str, list] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None
    threads: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # for the runs' worker processes
    control: Control | None = None


def seed_axis(study: Study, grid: dict[str, list] | None = None) -> tuple[str, list[int]]:
    """Where the study's seeds live: ``("grid", seeds)`` for a ``seed_everything`` grid axis, ``("stack", seeds)``
    for seeds stacked into one model (``model.init_args.stack_seeds``)."""
    grid = {**study.grid, **(grid or {})}
    stacked = get_dotted(study.base, STACK_KEY)
    if stacked:
        return "stack", [int(s) for s in stacked]
    if SEED_KEY in grid and isinstance(grid[SEED_KEY], list):
        return "grid", [int(s) for s in grid[SEED_KEY]]
    raise ReproError(f"{study.path}: the study has no seed axis (a `seed_everything` grid list or "
                     f"{STACK_KEY}); a robustness check needs one")


def conditions(study: Study, out_dir: Path, *, threads: int, grid: dict[str, list] | None = None) -> list[Condition]:
    """The primary, disjoint-seed and perturbed runs of ``study`` (``threads``: the primary runs' thread count)."""
    spec = study.meta.get("robustness") or {}
    kind, seeds = seed_axis(study, grid)
    other = [int(s) for s in spec.get("seeds") or [s + 100 for s in seeds]]
    if set(other) & set(seeds):
        raise ReproError(f"{study.path}: study.robustness.seeds {other} overlap the study's seeds {seeds}; "
                         "the second set must be disjoint")
    disjoint = Condition("disjoint_seeds", f"seeds {other}", out_dir / "robustness" / "disjoint_seeds",
                         grid=dict(grid or {}))
    if kind == "grid":
        disjoint.grid[SEED_KEY] = other
    else:
        disjoint.settings = {STACK_KEY: other, SEED_KEY: other[0]}
    perturbation = dict(spec.get("perturbation") or {"cpu": OTHER_CPU})
    name = perturbation.pop("name", None)
    perturbed = Condition("perturbed", "", out_dir / "robustness" / "perturbed", grid=dict(grid or {}))
    if "cpu" in perturbation:
        wanted = str(perturbation.pop("cpu")).lower()
        if wanted not in (*CPU_CAPABILITIES, OTHER_CPU):
            raise ReproError(f"{study.path}: study.robustness.perturbation.cpu must be one of "
                             f"{(OTHER_CPU, *CPU_CAPABILITIES)}, got {wanted!r}")
        here = cpu_capability()
        if wanted == OTHER_CPU:
            wanted = "avx2" if here.lower() == "default" else "default"
        if here.lower() == wanted:
            raise ReproError(f"{study.path}: this machine already runs with CPU capability {here}; give "
                             "perturbation.cpu another value, or another perturbation (float64, threads)")
        perturbed.env = {CPU_KEY: wanted}
        name = name or f"another CPU (ATen {wanted.upper()} kernels, not {here})"
    if "jitter" in perturbation:  # relative last-bits noise on the initial weights (Classifier.init_jitter)
        jitter = float(perturbation.pop("jitter"))
        perturbed_set = {"model.init_args.init_jitter": jitter}
        name = name or f"initial weights × (1 + {jitter:g}·N(0,1))"
    else:
        perturbed_set = {}
    if "threads" in perturbation:
        perturbed.threads = int(perturbation.pop("threads"))
        perturbed.workers = 1
        if perturbed.threads == threads:
            raise ReproError(f"{study.path}: the perturbation's thread count equals the primary runs' ({threads})")
        name = name or f"{perturbed.threads} torch threads"
    perturbed.settings = {**perturbed_set, **dict(perturbation.pop("set", {}) or {})}
    if perturbation:
        raise ReproError(f"{study.path}: study.robustness.perturbation: unknown keys {sorted(perturbation)}; use "
                         "threads, jitter, set and name")
    if perturbed.threads is None and not perturbed.settings and not perturbed.env:
        raise ReproError(f"{study.path}: study.robustness.perturbation changes nothing; give threads or set")
    perturbed.label = name or ", ".join(f"{k}={v}" for k, v in perturbed.settings.items())
    primary = Condition("primary", f"seeds {seeds}", out_dir, grid=dict(grid or {}))
    return [primary, disjoint, perturbed, *(control_condition(study, c, out_dir, grid) for c in study.controls)]


def control_condition(study: Study, control: Control, out_dir: Path, grid: dict[str, list] | None = None) -> Condition:
    """The study's own seeds under a negative control's overrides, in ``<out>/controls/<name>/``."""
    return Condition(f"control:{control.name}", control.why, out_dir / "controls" / control.name,
                     grid={**(grid or {}), **control.grid}, settings=dict(control.settings), control=control)


def control_verdicts(control: Control, results: list[ClaimResult]) -> dict[str, str]:
    """For each claim the control lists: ``expected`` (it FAILED, as the paper predicts without its effect),
    ``passed`` (it PASSED where it must fail: the claim does not need the paper's effect) or ``not run``."""
    out = {}
    for r in results:
        if r.name in control.must_fail:
            out[r.name] = "not run" if r.not_run else "passed" if r.passed else "expected"
    return out


def _numbers(rows: list[dict]) -> dict[tuple, float]:
    out = {}
    for r in rows:
        key = tuple(sorted((k, str(v)) for k, v in r.items() if "/" not in k and k not in ("run_dir", "seconds")))
        for k, v in r.items():
            if "/" in k and isinstance(v, int | float) and math.isfinite(v):
                out[(*key, k)] = float(v)
    return out


def perturbation_effect(primary: list[dict], perturbed: list[dict]) -> dict[str, float]:
    """How many of the final metric values the perturbation changed, and by how much at most."""
    a, b = _numbers(primary), _numbers(perturbed)
    shared = sorted(set(a) & set(b), key=str)
    changed = [abs(a[k] - b[k]) for k in shared if a[k] != b[k]]
    return {"values": len(shared), "changed": len(changed), "max_abs_change": max(changed, default=0.0)}


def _held(row: dict, conds: list[Condition]) -> bool:
    for c in conds:
        cell = row[c.name]
        if c.control is None and cell["verdict"] != "PASS":
            return False
        if c.control is not None and cell.get("control") in ("passed", "not run"):
            return False
    return True


def _cell_text(cell: dict) -> str:
    control = cell.get("control")
    if control is None and "must_fail" in cell:
        return "not judged"
    if control == "expected":
        return f"FAIL (expected): {cell['measured']}"
    if control == "passed":
        return f"PASS — should fail: {cell['measured']}"
    return f"{cell['verdict']}: {cell['measured']}"


def robustness_table(study: Study, results: dict[str, list[ClaimResult]], conds: list[Condition],
                     effect: dict[str, float]) -> tuple[list[dict], str]:
    """Per claim: its verdict and measurement in each condition, and whether it held: PASS on the study's seeds,
    the disjoint seeds and the perturbation, and FAIL in every control that lists it."""
    names = [c.name for c in results["primary"]]
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {"claim": name}
        for cond in conds:
            r = results[cond.name][i]
            cell = {"verdict": r.verdict, "passed": r.passed, "measured": r.measured}
            if cond.control is not None:
                cell["must_fail"] = name in cond.control.must_fail
                if cell["must_fail"]:
                    cell["control"] = control_verdicts(cond.control, [r])[name]
            row[cond.name] = cell
        row["held"] = _held(row, conds)
        rows.append(row)
    vacuous = effect["changed"] == 0
    header = ["claim", *(f"{c.name} ({c.label})" for c in conds), "held"]
    controls = [c for c in conds if c.control is not None]
    lines = [f"# {study.paper} — {study.name}: robustness", "",
             "Each claim judged on the study's seeds, on a disjoint seed set, under a perturbation standing in for "
             "another machine" + (", and in each negative control (where the paper predicts no effect, the claims "
                                  "it lists must FAIL)" if controls else "") + ".", "",
             f"Perturbation ({conds[2].label}): changed {effect['changed']} of {effect['values']} final metric "
             f"values, by at most {effect['max_abs_change']:.3g}."
             + (" It changed nothing, so it stands in for no other machine: choose another perturbation."
                if vacuous else ""), ""]
    lines += [f"Control `{c.control.name}`: {c.label}" for c in controls] + ([""] if controls else [])
    lines += [f"Reproduce: `{study.command()} --robustness`" + (" (every condition with these overrides)"
                                                                 if study.overrides else ""), ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [_cell_text(row[c.name]) for c in conds]
        lines.append("| " + " | ".join(s.replace("|", "\\|") for s in [row["claim"], *cells,
                                                                          "yes" if row["held"] else "NO"]) + " |")
    return rows, "\n".join(lines) + "\n"


def condition_runner(study: Study, cond: Condition, *, workers, threads, settings):
    from repro.studies.runner import StudyRunner

    return StudyRunner(study, cond.out_dir, workers=cond.workers or workers, threads=cond.threads or threads,
                       grid_overrides=cond.grid, cli_overrides={**(settings or {}), **cond.settings},
                       processes=cond.threads is not None or bool(cond.env), env=cond.env)


def judge_condition(study: Study, cond: Condition, runner, progress: bool) -> tuple[list[dict], list[ClaimResult]]:
    """Train what the condition lacks, judge the claims, write its claims.json."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold]{cond.name}[/] ({cond.label}): {len(runner.pending())} of "
                               f"{len(runner.jobs)} runs to train, {runner.workers} worker(s) × "
                               f"{runner.threads} thread(s) → {cond.out_dir}")
    rows = runner.run(progress=progress)
    results = evaluate(study.claims, rows, x=study.x_key)
    ran_with = condition_overrides(study, cond)  # each verdict says what it was run with
    write_text(cond.out_dir / "claims.json", json.dumps([{**c.as_json(), "overrides": ran_with} for c in results],
                                                        indent=2, default=float))
    return rows, results


def condition_overrides(study: Study, cond: Condition) -> dict[str, Any]:
    """What a condition ran beyond the study file: the command line's --set/--grid, then the condition's own."""
    given = study.overrides
    out = {"set": {**given.get("set", {}), **cond.settings}, "grid": {**given.get("grid", {}), **cond.grid}}
    return {k: v for k, v in {**out, "env": dict(cond.env)}.items() if v}


SHORT = {"expected": "[green]FAIL ✓", "passed": "[red]PASS ✗", "not run": "[red]NOT RUN ✗"}


def _short(cell: dict) -> str:
    if "must_fail" in cell:
        return SHORT[cell["control"]] if cell["must_fail"] else "[dim]—"
    return {"PASS": "[green]PASS", "FAIL": "[red]FAIL", "NOT RUN": "[yellow]NOT RUN"}[cell["verdict"]]


def run(study: Study, out_dir: Path, *, workers: int | None, threads: int | None, grid: dict[str, list] | None,
        settings: dict[str, Any] | None, progress: bool) -> bool:
    """Run every condition, write robustness.md/.json, print the table; True when every claim held in all."""
    from rich.console import Console
    from rich.table import Table

    from repro.studies.runner import StudyRunner

    primary_runner = StudyRunner(study, out_dir, workers=workers, threads=threads, grid_overrides=grid,
                                 cli_overrides=settings)
    conds = conditions(study, out_dir, threads=primary_runner.threads, grid=grid)
    results, rows_of = {}, {}
    for cond in conds:
        runner = primary_runner if cond.name == "primary" else condition_runner(
            study, cond, workers=workers, threads=threads, settings=settings)
        rows_of[cond.name], results[cond.name] = judge_condition(study, cond, runner, progress)
    effect = perturbation_effect(rows_of["primary"], rows_of["perturbed"])
    rows, text = robustness_table(study, results, conds, effect)
    write_text(out_dir / "robustness.md", text)
    write_text(out_dir / "robustness.json", json.dumps({"command": f"{study.command()} --robustness", "conditions": [
        {"name": c.name, "label": c.label, "out_dir": str(c.out_dir), "env": c.env,
         "overrides": condition_overrides(study, c)} for c in conds],
        "perturbation_effect": effect, "claims": rows}, indent=2))
    table = Table(title=f"{study.paper} / {study.name}: robustness", show_lines=True)
    for col in ("claim", *(c.name for c in conds), "held"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["claim"], *(_short(row[c.name]) for c in conds), "[green]yes" if row["held"] else "[red]NO")
    console = Console()
    console.print(table)
    console.print(f"perturbation ({conds[2].label}) changed {effect['changed']} of {effect['values']} final metric "
                  f"values (max |Δ| {effect['max_abs_change']:.3g}); table: {out_dir / 'robustness.md'}")
    return all(r["held"] for r in rows) and effect["changed"] > 0
