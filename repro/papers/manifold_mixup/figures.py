"""Manifold Mixup's figures, named in its study YAMLs by import path.

``toy_surfaces`` (the paper's Fig. 1): for each method, the input plane coloured by the confidence max_k p_k with
the decision boundary and the training points, and below it the 2-D bottleneck plane — the training points'
representations over the confidence the network above the bottleneck gives there — from the ``surface.pt`` each run
saves. ``spectrum_bars``: the class-conditional singular-value summaries per method (seed mean ± std).
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

__all__ = ["spectrum_bars", "toy_surfaces"]

LABELS = {"train/sv_top": "σ₁ (mean over classes)", "train/sv_rest": "Σ_{i≥2} σ_i (mean over classes)",
          "train/sv_rest_ratio": "Σ_{i≥2} σ_i / σ₁ (mean over classes)"}


def spectrum_bars(study, rows: list[dict], out: Path, *, metrics: list[str], x: str = "method") -> Path:
    """One panel per metric, one bar per method (seed mean ± std, the seeds as dots), in the grid's order."""
    methods = list(dict.fromkeys(r[x] for r in rows if x in r))
    if not methods:
        raise MissingRuns(f"spectrum bars: no runs with {x}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics, strict=True):
        vals = [[float(r[metric]) for r in select(rows, {x: m}) if r.get(metric) is not None] for m in methods]
        if not any(vals):
            plt.close(fig)
            raise MissingRuns(f"spectrum bars: no run logged {metric}")
        ax.bar(range(len(methods)), [np.mean(v) if v else np.nan for v in vals],
               yerr=[np.std(v) if v else 0 for v in vals], capsize=3, color=colors[: len(methods)], alpha=0.8)
        for i, v in enumerate(vals):
            ax.scatter([i] * len(v), v, color="k", s=8, zorder=3)
        ax.set_xticks(range(len(methods)), methods)
        ax.set_title(LABELS.get(metric, metric), fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(study.meta.get("title", study.name), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out, dpi=120)


def _grid(points: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    side = int(round(len(points) ** 0.5))
    return points[:, 0].reshape(side, side), points[:, 1].reshape(side, side), values.reshape(side, side)


def _training_points(study) -> tuple[np.ndarray, np.ndarray]:
    from repro.data.sources import load_source

    train = load_source(study.base["data"]["init_args"]["source"], train=True)
    return train.x.numpy(), train.y.numpy()


def toy_surfaces(study, rows: list[dict], out: Path, *, methods: list[str], seed: int | None = None,
                 x: str = "method") -> Path:
    """Row 1: input plane; row 2: bottleneck plane (when the runs saved it). One column per method, each the run with
    ``seed`` (or, without one or when the study lacks it, the method's first seed)."""
    saved = []
    for method in methods:
        sel = sorted(select(rows, {x: method}), key=lambda r: (r.get("seed") is None, r.get("seed")))
        row = next((r for r in sel if seed is not None and r.get("seed") == seed), sel[0] if sel else None)
        path = Path(row["run_dir"]) / "surface.pt" if row else None
        if path is None or not path.is_file():
            raise MissingRuns(f"no surface.pt for {x}={method}: that run has not finished")
        saved.append(torch.load(path))
    hidden = all("hidden" in s for s in saved)
    fig, axes = plt.subplots(2 if hidden else 1, len(methods), figsize=(3.8 * len(methods), 7 if hidden else 3.5),
                             squeeze=False)
    levels = np.linspace(0.5, 1.0, 11)
    im = None
    for col, (method, s) in enumerate(zip(methods, saved, strict=True)):
        panels = [("points", "probs", None, None)]
        if hidden:
            panels.append(("hidden_points", "hidden_probs", s["hidden"].numpy(), s["hidden_y"].numpy()))
        for row_i, (pkey, prob_key, feats, labels) in enumerate(panels):
            ax = axes[row_i][col]
            probs = s[prob_key].numpy()
            gx, gy, conf = _grid(s[pkey].numpy(), probs.max(-1))
            im = ax.contourf(gx, gy, conf, levels=levels, cmap="viridis")
            ax.contour(gx, gy, probs[:, 1].reshape(gx.shape) if probs.shape[1] == 2 else probs.argmax(-1).reshape(
                gx.shape), levels=[0.5], colors="w", linewidths=1.2)
            if feats is None:
                feats, labels = _training_points(study)
            ax.scatter(feats[:, 0], feats[:, 1], c=labels, cmap="coolwarm", s=3, alpha=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{method}: " + ("input space" if row_i == 0 else "2-D bottleneck"), fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), label="confidence max p")
    fig.suptitle(study.meta.get("title", study.name), y=0.99, fontsize=10)
    return save_figure(fig, out, dpi=120, bbox_inches="tight")
