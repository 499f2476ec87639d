"""Figures of the simplicity-bias studies, from the results and each run's ``scores.npz``:

- :func:`auc_bars` — standard, S-randomized and S^c-randomized test AUC per group of runs (mean ± std over
  models), the paper's Fig. 3b / App. Table 4 as bars;
- :func:`logit_histograms` — the scores logit₊ − logit₋ of the true positives on the original, S-randomized and
  S^c-randomized test sets (first model of each group), the paper's logit-distribution panels;
- :func:`decision_boundary` — the first model's predicted class over the plane of un-rotated coordinates 0 (S)
  and 1 (the first complex coordinate), the other coordinates from test rows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns, select  # noqa: E402

__all__ = ["auc_bars", "decision_boundary", "logit_histograms"]

AUCS = {"test/auc": "standard", "test/auc_s_rand": "S-randomized", "test/auc_sc_rand": "S^c-randomized"}


def _groups(rows: list[dict], by: str | None) -> dict[str, list[dict]]:
    if not rows:
        raise MissingRuns("no runs to draw")
    if by is None:
        return {"all models": rows}
    names = list(dict.fromkeys(str(r[by]) for r in rows if by in r))
    return {n: [r for r in rows if str(r.get(by)) == n] for n in names}


def auc_bars(study, rows: list[dict], out: Path, *, by: str | None = None, x=None, where=None) -> Path:
    groups = _groups(select(rows, where), by)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(groups), 3.2))
    width = 0.8 / len(AUCS)
    for j, (metric, label) in enumerate(AUCS.items()):
        vals = [np.array([r[metric] for r in g if metric in r]) for g in groups.values()]
        ax.bar(np.arange(len(groups)) + (j - 1) * width, [v.mean() for v in vals], width,
               yerr=[v.std() for v in vals], label=label, capsize=3)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(groups)), list(groups), fontsize=8)
    ax.set_ylim(0.4, 1.02)
    ax.set_ylabel("test ROC-AUC")
    ax.set_title(study.meta.get("title", ""), fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, out)


def _scores(row: dict) -> dict:
    path = Path(row["run_dir"]) / "scores.npz"
    if not path.is_file():
        raise MissingRuns(f"{path} is missing (the run predates saved scores)")
    return dict(np.load(path))


def logit_histograms(study, rows: list[dict], out: Path, *, by: str | None = None, x=None, where=None) -> Path:
    groups = _groups(select(rows, where), by)
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3), squeeze=False)
    for ax, (name, group) in zip(axes[0], groups.items(), strict=True):
        row = group[0]
        s = _scores(row)
        member, pos = row.get("member", 0), s["y"] == 1
        for key, label in (("original", "original"), ("s_rand", "S-randomized"), ("sc_rand", "S^c-randomized")):
            ax.hist(s[key][member][pos], bins=40, histtype="step", lw=1.5, density=True, label=label)
        ax.set_title(f"{name}: true positives", fontsize=8)
        ax.set_xlabel("logit₊ − logit₋")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out)


def decision_boundary(study, rows: list[dict], out: Path, *, by: str | None = None, x=None, where=None) -> Path:
    groups = _groups(select(rows, where), by)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups), 3.2), squeeze=False)
    for ax, (name, group) in zip(axes[0], groups.items(), strict=True):
        s = _scores(group[0])
        p, c = s["probes"], s["probe_class"]
        ax.scatter(p[:, 0], p[:, 1], c=c, cmap="coolwarm", s=2, alpha=0.5, rasterized=True)
        ax.set_xlabel("coordinate 0 (S)")
        ax.set_ylabel("coordinate 1 (first of S^c)")
        ax.set_title(f"{name}: predicted class", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)
