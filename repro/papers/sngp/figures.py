"""SNGP's figures, named in its study YAMLs by import path (Liu et al. 2020, Fig. 1).

``uncertainty_surfaces``: the two-moons maps of predictive uncertainty 1 − max p, one panel per method, from the
``surface.pt`` each run saves (``repro.training.ood``); ``method_bars``: one bar per method and metric.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns, select  # noqa: E402

__all__ = ["method_bars", "uncertainty_surfaces"]


def uncertainty_surfaces(study, rows: list[dict], out: Path, *, methods: list[str], seed: int | None = None,
                         x: str | None = None) -> Path:
    """One panel per method: 1 − max p over the grid, training data and OOD set on top. Each panel is the run with
    ``seed``, or (without one, or when the study has no such seed) the method's first seed."""
    from repro.data.sources import load_source
    from repro.data.synthetic import moons_ood_set

    train = load_source("two_moons", train=True)
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.4), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        sel = sorted(select(rows, {"method": method}), key=lambda r: (r.get("seed") is None, r.get("seed")))
        row = next((r for r in sel if seed is not None and r.get("seed") == seed), sel[0] if sel else None)
        path = Path(row["run_dir"]) / "surface.pt" if row else None
        if path is None or not path.is_file():
            raise MissingRuns(f"no surface.pt for method={method}: that run has not finished")
        saved = torch.load(path)
        points, uncertainty = saved["points"].numpy(), 1 - saved["probs"].amax(-1).numpy()
        side = int(round(len(points) ** 0.5))
        xs, ys = points[:, 0].reshape(side, side), points[:, 1].reshape(side, side)
        im = ax.contourf(xs, ys, uncertainty.reshape(side, side), levels=np.linspace(0, 0.5, 11), cmap="viridis",
                         extend="both")
        ax.scatter(*train.x.numpy().T, c=train.y.numpy(), cmap="coolwarm", s=2, alpha=0.6)
        ood = moons_ood_set(train.x).numpy()
        ax.scatter(ood[:, 0], ood[:, 1], c="orange", marker="x", s=4, alpha=0.6, label="OOD")
        ax.set_title(method)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), label="predictive uncertainty 1 − max p")
    fig.suptitle(study.meta.get("title", study.name), y=1.03)
    return save_figure(fig, out, dpi=120, bbox_inches="tight")


def method_bars(study, rows: list[dict], out: Path, *, metrics: list[str], x: str | None = None) -> Path:
    """One panel per metric: a bar per method (seed mean ± std), in the grid's method order."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics, strict=True):
        vals = [[float(r[metric]) for r in select(rows, {"method": m}) if r.get(metric) is not None] for m in methods]
        means = [np.mean(v) if v else np.nan for v in vals]
        ax.bar(range(len(methods)), means, yerr=[np.std(v) if v else 0 for v in vals], capsize=3,
               color=colors[: len(methods)])
        ax.set_xticks(range(len(methods)), methods, rotation=30, fontsize=8)
        ax.set_title(metric, fontsize=9)
        finite = [m for m in means if m == m]
        if finite and min(finite) > 0.5:  # accuracies and AUROCs: zoom on the differences
            ax.set_ylim(min(finite) - 0.05, min(1.0, max(finite) + 0.02))
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(study.meta.get("title", study.name), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, dpi=120)
