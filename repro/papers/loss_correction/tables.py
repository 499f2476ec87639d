"""The loss-correction report table (``study.table: repro.papers.loss_correction.tables.paper_layout``): test
accuracy per method and noise rate in the paper's layout (the shared ``paper_table``, set up under
``study.paper_table``), then the stage-1 estimator's quality per noise rate — the mean row-wise L1 error of T̂
against the true T over all rows and over the rows the noise flips, the argmax variant's error, and cond(T̂)."""

from __future__ import annotations

import numpy as np

from repro.report.tables import paper_table

__all__ = ["paper_layout"]

_ESTIMATOR = (("L1, all rows", "noise/T_hat_l1"), ("L1, flipped rows", "noise/T_hat_l1_noisy_rows"),
              ("L1, argmax variant", "noise/T_hat_argmax_l1"), ("cond(T̂)", "noise/T_hat_condition"))


def paper_layout(study, rows: list[dict]) -> list[str]:
    lines = paper_table(study, rows)
    x = study.x_key or "label_noise"
    stage1 = [r for r in rows if "noise/T_hat_l1" in r]
    if not stage1:
        return lines
    lines += ["", "Anchor-point estimate T̂ of the stage-1 runs, mean ± std over seeds:", "",
              "| " + " | ".join([x, *(name for name, _ in _ESTIMATOR), "runs"]) + " |",
              "|" + "---|" * (len(_ESTIMATOR) + 2)]
    for level in sorted({r.get(x) for r in stage1}, key=str):
        sel = [r for r in stage1 if r.get(x) == level]
        cells = []
        for _, metric in _ESTIMATOR:
            vals = [float(r[metric]) for r in sel if r.get(metric) is not None]
            cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "–")
        lines.append("| " + " | ".join([str(level), *cells, str(len(sel))]) + " |")
    return lines
