"""The results table of the importance-weighting studies: per setting, the spreads between the extreme ratios early
and at the end of training (seed mean ± std), beside what the paper reports for that setting.

A study asks for it with ``study.table: repro.papers.importance_weighting.tables.spread_table`` and describes it
under ``study.spread_table``::

    spread_table:
      groups: {none: {setting: none, weight_decay: 0.0}, "wd 2e-3": {setting: none, weight_decay: 0.002}}
      early_epoch: 5
      tail: 20
      paper: {none: "effect vanishes", "wd 2e-3": "effect persists"}
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.papers.importance_weighting.history import by_seed, curve, end_value, pool_metric, spread_curve, value_at
from repro.studies.results import MissingRuns, select

__all__ = ["spread_table"]

POOLS = ("in", "ood", "noise")


def _cell(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "—"


def spread_table(study, rows: list[dict]) -> list[str]:
    spec = study.meta.get("spread_table") or {}
    if "groups" not in spec:
        raise ReproError(f"{study.path}: study.spread_table needs 'groups' (label → where)")
    early, tail = int(spec.get("early_epoch", 5)), int(spec.get("tail", 20))
    pools = list(spec.get("pools", POOLS))
    paper = spec.get("paper") or {}
    header = ["setting", f"spread ood e{early}", *(f"spread {p} end" for p in pools), "ood shrink",
              "min train acc end", "seeds", "paper"]
    lines = [f"Spread = fraction predicted as the up-weighted class at the largest ratio minus at the smallest; "
             f"end = mean of the last {tail} evaluated epochs; mean ± std over seeds.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, where in spec["groups"].items():
        chosen = select(rows, where)
        if not chosen:
            lines.append("| " + " | ".join([label, *(["—"] * (len(header) - 3)), "0", str(paper.get(label, ""))])
                         + " |")
            continue
        seeds = by_seed(chosen)
        cols: dict[str, list[float]] = {h: [] for h in header[1:-2]}
        for groups in seeds.values():
            try:
                e_ood, s_ood = spread_curve(groups, pool_metric("ood"))
                start = value_at(e_ood, s_ood, early)
                cols[header[1]].append(start)
                if start > 0:  # with equal weights there is no early spread, hence no shrink to show
                    cols["ood shrink"].append(1 - end_value(s_ood, tail) / start)
            except MissingRuns:
                pass
            for p in pools:
                cols[f"spread {p} end"].append(end_value(spread_curve(groups, pool_metric(p))[1], tail))
            cols["min train acc end"].append(min(float(curve(r, "pools/train_accuracy")[1][-1])
                                                 for r in groups.values()))
        cells = [label, *(_cell(v) for v in cols.values()), str(len(seeds)), str(paper.get(label, ""))]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines
