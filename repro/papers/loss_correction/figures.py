"""The loss-correction studies' figures (named in the YAML by import path):

- :func:`accuracy_vs_noise` — test accuracy against the noise rate, one line per method, the estimated-T̂ rows
  dotted beside their known-T rows (the layout of the paper's accuracy-vs-noise figure);
- :func:`transition_heatmaps` — per noise rate, the true T beside the stage-1 anchor estimate T̂ as heat-maps.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.papers.loss_correction.method import ESTIMATE_FILES  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns, curve, select  # noqa: E402

__all__ = ["accuracy_vs_noise", "transition_heatmaps"]


def accuracy_vs_noise(study, rows: list[dict], out: Path, *, x: str = "label_noise", by: str = "method",
                      metric: str = "test/accuracy", title: str | None = None) -> Path:
    """Seed-mean ± std of ``metric`` (in %) against ``x``, one line per ``by`` level; levels ending in ``_T_hat``
    dotted, in the colour of their known-T twin."""
    methods = list(dict.fromkeys(r[by] for r in rows if by in r))
    if not methods:
        raise MissingRuns(f"accuracy_vs_noise: no rows with {by!r}")
    known = [m for m in methods if not str(m).endswith("_T_hat")]
    colors = dict(zip(known, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3, strict=False))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in methods:
        xs, mean, std, _ = curve(rows, x, metric, {by: method})
        estimated = str(method).endswith("_T_hat")
        color = colors.get(str(method).removesuffix("_hat") if estimated else method)
        ax.errorbar(xs, 100 * mean, yerr=100 * std, ls=":" if estimated else "-", marker="o", ms=3, capsize=2,
                    color=color, label=str(method).replace("_T_hat", " T̂").replace("_T", " T"))
    ax.set_xlabel(f"{x} (N)")
    ax.set_ylabel("test accuracy (%), clean labels")
    ax.set_title(title or study.meta.get("title", study.name), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def transition_heatmaps(study, rows: list[dict], out: Path, *, x: str = "label_noise", where: dict | None = None,
                        file: str = ESTIMATE_FILES["percentile"], seed: int | None = None,
                        title: str | None = None) -> Path:
    """For each level of ``x``: the true T and the T̂ that the stage-1 run (``where``, default ``method: CE``) wrote
    to ``file``, of ``seed`` (default: the study's first seed), as two heat-maps side by side."""
    stage1 = select(rows, where or {"method": "CE"})
    levels = sorted({r[x] for r in stage1 if x in r})
    if not levels:
        raise MissingRuns(f"transition_heatmaps: no stage-1 runs where {where or {'method': 'CE'}}")
    fig, axes = plt.subplots(len(levels), 2, figsize=(6.4, 3.1 * len(levels)), squeeze=False)
    for row_axes, level in zip(axes, levels, strict=True):
        runs = sorted(select(stage1, {x: level}), key=lambda r: r.get("seed", 0))
        run = next((r for r in runs if seed is not None and r.get("seed") == seed), runs[0])
        path = Path(run["run_dir"]) / file
        if not path.is_file():
            raise MissingRuns(f"transition_heatmaps: {path} is missing")
        record = json.loads(path.read_text())
        for ax, (name, matrix) in zip(row_axes, (("T (true)", record["T_true"]), ("T̂ (anchor estimate)",
                                                                                    record["T_hat"])), strict=True):
            m = np.asarray(matrix)
            image = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
            ax.set_title(f"{name}, {x} = {level:g}" + ("" if name.startswith("T (") else
                                                       f", seed {run.get('seed')}"), fontsize=8)
            ax.set_xlabel("noisy label j", fontsize=7)
            ax.set_ylabel("true class i", fontsize=7)
            if len(m) <= 20:  # every class labelled; CIFAR-100's 100 would be a smear
                ax.set_xticks(range(len(m)))
                ax.set_yticks(range(len(m)))
            ax.tick_params(labelsize=6)
        err = record["error"]
        row_axes[1].text(0.0, -0.28, f"mean L1 {err['l1']:.3f}, cond {err['condition_number']:.1f}",
                         transform=row_axes[1].transAxes, fontsize=7)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6)
    fig.suptitle(title or "true T beside the anchor-point estimate T̂", fontsize=10)
    return save_figure(fig, out)
