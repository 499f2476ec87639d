"""SNGP's results table in the paper's layout (Liu et al. 2020, Table 2), named by import path
(``study.table: repro.papers.sngp.tables.paper_table``): accuracy, ECE, NLL and OOD AUPR per method (seed
mean ± std), beside the paper's values given in the study's ``study.paper_values``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["paper_table"]


_COLUMNS = (("accuracy", "test/accuracy"), ("ECE", "test/ece"), ("NLL", "test/nll"))


def paper_table(study, rows: list[dict]) -> list[str]:
    """Markdown lines: one row per (source, method), ours (mean ± std over seeds) and the paper's value."""
    if not rows:
        return []
    ood = sorted({k.split("/")[0] for r in rows for k in r if k.startswith("ood_") and k.endswith("/aupr")})
    columns = [*_COLUMNS, *((f"AUPR {o.removeprefix('ood_')}", f"{o}/aupr") for o in ood)]
    paper = study.meta.get("paper_values") or {}
    keys = ["source"] if "source" in rows[0] else []
    lines = ["| " + " | ".join([*keys, "method", *(c for c, _ in columns), "runs"]) + " |",
             "|" + "---|" * (len(keys) + len(columns) + 2)]
    settings = sorted({tuple(str(r.get(k)) for k in [*keys, "method"]) for r in rows})
    for setting in settings:
        where = dict(zip([*keys, "method"], setting, strict=True))
        sel = [r for r in rows if all(str(r.get(k)) == v for k, v in where.items())]
        ref = paper.get(where.get("source", "_"), paper).get(where["method"], {}) if paper else {}
        cells = list(setting)
        for _, metric in columns:
            vals = [float(r[metric]) for r in sel if r.get(metric) is not None]
            ours = f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "–"
            key = metric.split("/")[-1] if metric.startswith("test/") else metric
            cells.append(f"{ours} (paper {ref[key]:g})" if key in ref else ours)
        lines.append("| " + " | ".join([*cells, str(len(sel))]) + " |")
    if paper:
        lines += ["", "Paper values (in parentheses): the study's `paper_values`, from the Uncertainty Baselines "
                  "README's SNGP results."]
    return lines
