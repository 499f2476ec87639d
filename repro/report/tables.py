"""A results table in a paper's layout: one row per method, one column per dataset setting, each cell our
seed mean ± std beside the paper's number.

A study asks for it with ``study.table: repro.report.tables.paper_table`` and describes it under
``study.paper_table``::

    paper_table:
      rows: method                                   # the grid key whose values are the table's rows
      columns: [source, imbalance_kind, imbalance_ratio]   # grid keys; a column's label joins their values
      label: ours                                    # the one column's label when there are no columns
      metric: test/balanced_error
      scale: 100                                     # e.g. error rate → percent, as the paper prints it
      paper: {ERM: {cifar10 exp 100: 29.64}, ours: {cifar10 exp 100: 22.97}}

A paper value with no run of ours (a dataset this scale does not train) still shows, as ``(29.64)``.
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError


def column_label(row: dict, columns: list[str], default: str = "ours") -> str:
    return " ".join(str(row[c]) for c in columns) if columns else default


def paper_table(study, rows: list[dict]) -> list[str]:
    spec = study.meta.get("paper_table") or {}
    for key in ("rows", "metric"):
        if key not in spec:
            raise ReproError(f"{study.path}: study.paper_table needs {key!r} (see repro/report/tables.py)")
    row_key, metric = spec["rows"], spec["metric"]
    columns = list(spec.get("columns") or [])
    scale, digits = float(spec.get("scale", 1.0)), int(spec.get("digits", 2))
    paper = {str(r): {str(c): v for c, v in cells.items()} for r, cells in (spec.get("paper") or {}).items()}

    cells: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if metric in r and r[metric] == r[metric]:
            key = (str(r[row_key]), column_label(r, columns, spec.get("label", "ours")))
            cells.setdefault(key, []).append(float(r[metric]) * scale)
    ours_cols = list(dict.fromkeys(c for _, c in cells))
    paper_cols = [c for cells_ in paper.values() for c in cells_ if c not in ours_cols]
    cols = ours_cols + list(dict.fromkeys(paper_cols))
    methods = list(dict.fromkeys([str(r[row_key]) for r in rows if row_key in r] + list(paper)))

    def cell(method: str, col: str) -> str:
        values, ref = cells.get((method, col)), paper.get(method, {}).get(col)
        ref_text = f"({ref:.{digits}f})" if ref is not None else ""
        if not values:
            return ref_text or "—"
        ours = f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"
        return f"{ours} {ref_text}".strip()

    unit = f" ×{scale:g}" if scale != 1 else ""
    lines = [f"{metric}{unit}: ours, mean ± std over seeds, and the paper's value in brackets.", "",
             "| " + " | ".join([row_key, *cols]) + " |", "|" + "---|" * (len(cols) + 1)]
    for method in methods:
        lines.append("| " + " | ".join([method, *(cell(method, c) for c in cols)]) + " |")
    counts = sorted({len(v) for v in cells.values()})
    if counts:
        lines += ["", f"runs per cell: {', '.join(map(str, counts))}"]
    return lines
