"""The paper's results layout (Tables 1a, 1b, 2): per dataset and network, one row per method with test error and
test NLL, ours (mean ± std over seeds) beside the paper's (mean ± std over 5 runs).

Named in a study YAML as ``study.table: repro.papers.manifold_mixup.tables.error_nll_table`` and described under
``study.paper_table``::

    paper_table:
      rows: method                       # the grid key of the rows
      columns: [dataset, net]            # grid keys whose values name a block (none: ``label``)
      label: ours                        # the block's name when there are no columns
      paper:                             # block → method → metric → [mean, std] (error in %)
        "CIFAR-10 PreActResNet-18": {none: {test/error: [4.83, 0.066], test/loss: [0.190, 0.003]}}
"""

from __future__ import annotations

import numpy as np

from repro.errors import ReproError
from repro.report.tables import column_label

__all__ = ["METRICS", "error_nll_table"]

# metric → (column title, scale to the paper's units, digits)
METRICS = {"test/error": ("test error %", 100.0, 2), "test/loss": ("test NLL", 1.0, 3)}


def _cell(values: list[float] | None, scale: float, digits: int) -> str:
    if not values:
        return "—"
    v = np.array(values) * scale
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def _paper_cell(ref, digits: int) -> str:
    if ref is None:
        return "—"
    mean, std = (ref, None) if isinstance(ref, int | float) else ref
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def error_nll_table(study, rows: list[dict]) -> list[str]:
    spec = study.meta.get("paper_table") or {}
    if "rows" not in spec:
        raise ReproError(f"{study.path}: study.paper_table needs 'rows' (see repro/papers/manifold_mixup/tables.py)")
    row_key, columns = spec["rows"], list(spec.get("columns") or [])
    paper = {str(block): methods for block, methods in (spec.get("paper") or {}).items()}
    ours: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in rows:
        if row_key not in r:
            continue
        cell = ours.setdefault((column_label(r, columns, spec.get("label", "ours")), str(r[row_key])), {})
        for metric in METRICS:
            if r.get(metric) is not None and r[metric] == r[metric]:
                cell.setdefault(metric, []).append(float(r[metric]))
    keys = list(dict.fromkeys([*ours, *((b, str(m)) for b, methods in paper.items() for m in methods)]))
    header = [" / ".join(columns) or "setting", row_key]
    for title, _, _ in METRICS.values():
        header += [f"{title} (ours)", f"{title} (paper)"]
    lines = ["Ours: mean ± std over seeds; paper: mean ± std over 5 runs (Tables 1-2 of the paper).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for block, method in keys:
        cells = [block, method]
        for metric, (_, scale, digits) in METRICS.items():
            cells += [_cell(ours.get((block, method), {}).get(metric), scale, digits),
                      _paper_cell((paper.get(block, {}).get(method) or {}).get(metric), digits)]
        lines.append("| " + " | ".join(cells) + " |")
    counts = sorted({len(v) for cell in ours.values() for v in cell.values()})
    if counts:
        lines += ["", f"runs per cell: {', '.join(map(str, counts))}"]
    return lines
