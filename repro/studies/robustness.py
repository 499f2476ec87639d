"""``repro reproduce PAPER --robustness``: does each claim hold beyond the study's own seeds and machine?

A study is run three times and every claim judged in each:

- **primary**: the study as written (its seeds, this machine's default thread count);
- **disjoint seeds**: the seed axis replaced by another set (``study.robustness.seeds``, default each seed +100);
  a seed varies every draw the run seed drives (``repro.data.seeds``), so this is a fresh set of runs;
- **perturbed**: the primary seeds under a floating-point perturbation that stands in for another CPU —
  another torch thread count (``perturbation: {threads: N}``, the default: a different reduction order in the
  kernels), relative noise of the last bits on the initial weights (``{jitter: 1e-7}``), or config changes such as
  float64 (``perturbation: {name: float64, set: {trainer.precision: 64-true}}``). Small models' kernels often do
  not split across threads, so the thread count can leave every number unchanged; the check then says so.

A perturbation that changes no number is no perturbation: the check says so and fails. Results go to
``<out>/robustness/<condition>/`` (the primary study keeps its usual folder and cache), the three-way table to
``<out>/robustness.md`` and ``robustness.json``.
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
from repro.studies.study import Study, get_dotted

__all__ = ["Condition", "conditions", "perturbation_effect", "robustness_table", "seed_axis"]

STACK_KEY = "model.init_args.stack_seeds"
SEED_KEY = "seed_everything"


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
    perturbation = dict(spec.get("perturbation") or {"threads": 2 if threads == 1 else 1})
    name = perturbation.pop("name", None)
    perturbed = Condition("perturbed", "", out_dir / "robustness" / "perturbed", grid=dict(grid or {}))
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
    if perturbed.threads is None and not perturbed.settings:
        raise ReproError(f"{study.path}: study.robustness.perturbation changes nothing; give threads or set")
    perturbed.label = name or ", ".join(f"{k}={v}" for k, v in perturbed.settings.items())
    primary = Condition("primary", f"seeds {seeds}", out_dir, grid=dict(grid or {}))
    return [primary, disjoint, perturbed]


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


def robustness_table(study: Study, results: dict[str, list[ClaimResult]], conds: list[Condition],
                     effect: dict[str, float]) -> tuple[list[dict], str]:
    """Per claim: its verdict and measurement in each condition, and whether it held in all of them."""
    names = [c.name for c in results["primary"]]
    rows = []
    for i, name in enumerate(names):
        cells = {c.name: results[c.name][i] for c in conds}
        rows.append({"claim": name, "held": all(r.passed for r in cells.values()),
                     **{k: {"passed": r.passed, "measured": r.measured} for k, r in cells.items()}})
    vacuous = effect["changed"] == 0
    header = ["claim", *(f"{c.name} ({c.label})" for c in conds), "held in all three"]
    lines = [f"# {study.paper} — {study.name}: robustness", "",
             "Each claim judged on the study's seeds, on a disjoint seed set, and under a floating-point "
             "perturbation.", "",
             f"Perturbation ({conds[2].label}): changed {effect['changed']} of {effect['values']} final metric "
             f"values, by at most {effect['max_abs_change']:.3g}."
             + (" It changed nothing, so it stands in for no other machine: choose another perturbation."
                if vacuous else ""), "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{'PASS' if row[c.name]['passed'] else 'FAIL'}: {row[c.name]['measured']}" for c in conds]
        lines.append("| " + " | ".join(s.replace("|", "\\|") for s in [row["claim"], *cells,
                                                                         "yes" if row["held"] else "NO"]) + " |")
    return rows, "\n".join(lines) + "\n"


def run(study: Study, out_dir: Path, *, workers: int | None, threads: int | None, grid: dict[str, list] | None,
        settings: dict[str, Any] | None, progress: bool) -> bool:
    """Run the three conditions, write robustness.md/.json, print the table; True when every claim held in all."""
    from rich.console import Console
    from rich.table import Table

    from repro.studies.runner import StudyRunner

    primary_runner = StudyRunner(study, out_dir, workers=workers, threads=threads, grid_overrides=grid,
                                 cli_overrides=settings)
    conds = conditions(study, out_dir, threads=primary_runner.threads, grid=grid)
    results, rows_of = {}, {}
    for cond in conds:
        runner = primary_runner if cond.name == "primary" else StudyRunner(
            study, cond.out_dir, workers=cond.workers or workers, threads=cond.threads or threads,
            grid_overrides=cond.grid, cli_overrides={**(settings or {}), **cond.settings},
            processes=cond.threads is not None)
        Console(stderr=True).print(f"[bold]{cond.name}[/] ({cond.label}): {len(runner.pending())} of "
                                   f"{len(runner.jobs)} runs to train, {runner.workers} worker(s) × "
                                   f"{runner.threads} thread(s) → {cond.out_dir}")
        rows = runner.run(progress=progress)
        rows_of[cond.name] = rows
        results[cond.name] = evaluate(study.claims, rows, x=study.x_key)
        write_text(cond.out_dir / "claims.json", json.dumps(
            [{"name": c.name, "measured": c.measured, "passed": c.passed, "values": c.values}
             for c in results[cond.name]], indent=2, default=float))
    effect = perturbation_effect(rows_of["primary"], rows_of["perturbed"])
    rows, text = robustness_table(study, results, conds, effect)
    write_text(out_dir / "robustness.md", text)
    write_text(out_dir / "robustness.json", json.dumps({"conditions": [
        {"name": c.name, "label": c.label, "out_dir": str(c.out_dir)} for c in conds], "perturbation_effect": effect,
        "claims": rows}, indent=2))
    table = Table(title=f"{study.paper} / {study.name}: robustness", show_lines=True)
    for col in ("claim", *(f"{c.name}\n{c.label}" for c in conds), "all three"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["claim"], *("[green]PASS" if row[c.name]["passed"] else "[red]FAIL" for c in conds),
                      "[green]yes" if row["held"] else "[red]NO")
    console = Console()
    console.print(table)
    console.print(f"perturbation changed {effect['changed']} of {effect['values']} final metric values "
                  f"(max |Δ| {effect['max_abs_change']:.3g}); table: {out_dir / 'robustness.md'}")
    return all(r["held"] for r in rows) and effect["changed"] > 0
