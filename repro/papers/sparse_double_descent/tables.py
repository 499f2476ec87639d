"""The sparse-double-descent report's tables (``study.table: repro.papers.sparse_double_descent.tables.results_table``):

- the paper's layout: per method, test accuracy of the dense round, of the SDD dip and of the best round (with its
  sparsity), ours seed mean ± std beside the paper's figure value (``study.paper_values``);
- the stopping rules: per method and seed, where each rule stops, the round it keeps and what that loses against
  the best round (``rounds.early_stop`` and ``rounds.entropy_stop``).
"""

from __future__ import annotations

import numpy as np

from repro.papers.sparse_double_descent.rounds import early_stop, entropy_peak, entropy_stop, sdd_triple, seed_curves
from repro.studies.results import MissingRuns

__all__ = ["paper_layout", "results_table", "stopping_table"]


def _methods(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(str(r["method"]) for r in rows if "method" in r))


def _ms(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def paper_layout(study, rows: list[dict]) -> list[str]:
    paper = study.meta.get("paper_values") or {}
    cols = (("dense", "dense"), ("dip", "SDD dip"), ("best", "best round"), ("best_sparsity", "best sparsity %"),
            ("last", "last round"))
    lines = ["Test accuracy (%, clean labels) at the end of a round: ours mean ± std over seeds, the paper's figure "
             "value in brackets.", "", "| method | " + " | ".join(c for _, c in cols) + " | seeds |",
             "|" + "---|" * (len(cols) + 2)]
    for method in _methods(rows):
        per = seed_curves(rows, {"method": method}, "paper_layout")
        values: dict[str, list[float]] = {k: [] for k, _ in cols}
        for _, c in per:
            t, best = sdd_triple(c["test"]), int(np.argmax(c["test"]))
            values["dense"].append(c["test"][0])
            values["dip"].append(c["test"][t.j] if t.j >= 0 else np.nan)
            values["best"].append(c["test"][best])
            values["best_sparsity"].append(100 * c["sparsity"][best])
            values["last"].append(c["test"][-1])
        ref = paper.get(method, {})
        cells = [_ms(values[k]) + (f" ({ref[k]:g})" if k in ref else "") for k, _ in cols]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {len(per)} |")
    return lines


def stopping_table(study, rows: list[dict], tolerance: float = 1.0, entropy_tolerance: float = 0.01) -> list[str]:
    lines = [f"Stopping rules over the rounds (accuracy in points): **early stop** = stop at the first round more than "
             f"{tolerance:g} point below the running best and keep that best; **entropy stop** = wait for the ReLU "
             f"entropy's peak (first fall of more than {entropy_tolerance:g} bit below its running maximum), then the "
             "same rule from the peak. *loss* = best round's accuracy − the kept round's.", "",
             "| method | seed | best (round, sparsity) | early stop: stops, keeps | loss | entropy peak | "
             "entropy stop: stops, keeps | loss |", "|" + "---|" * 8]
    for method in _methods(rows):
        losses: dict[str, list[float]] = {"es": [], "en": []}
        for seed, c in seed_curves(rows, {"method": method}, "stopping_table"):
            acc, sp = c["test"], 100 * c["sparsity"]
            best = int(np.argmax(acc))
            es, en = early_stop(acc, tolerance), entropy_stop(acc, c["entropy"], tolerance, entropy_tolerance)
            losses["es"].append(acc[best] - acc[es.kept])
            losses["en"].append(acc[best] - acc[en.kept])
            lines.append(
                f"| {method} | {seed} | {acc[best]:.2f} (r{best}, {sp[best]:.1f}%) | r{es.stop}, r{es.kept} "
                f"({acc[es.kept]:.2f} at {sp[es.kept]:.1f}%) | {losses['es'][-1]:.2f} | "
                f"r{entropy_peak(c['entropy'], entropy_tolerance)} | r{en.stop}, r{en.kept} ({acc[en.kept]:.2f} at "
                f"{sp[en.kept]:.1f}%) | {losses['en'][-1]:.2f} |")
        lines.append(f"| {method} | mean | | | {np.mean(losses['es']):.2f} | | | {np.mean(losses['en']):.2f} |")
    return lines


def results_table(study, rows: list[dict]) -> list[str]:
    if not rows:
        raise MissingRuns("no finished runs to tabulate")
    return [*paper_layout(study, rows), "", *stopping_table(study, rows)]
