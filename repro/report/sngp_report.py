"""SNGP report pieces, named in the study YAMLs by import path (Liu et al. 2020, Fig. 1 and Table 2).

``uncertainty_surfaces``: the two-moons maps of predictive uncertainty 1 − max p, one panel per method, from the
``surface.pt`` each run saves (``repro.methods.ood_eval``). ``paper_table``: accuracy, ECE, NLL and OOD AUPR per
method (seed mean ± std), beside the paper's values given in the study's ``study.paper_values``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.errors import ReproError  # noqa: E402
from repro.studies.claims import select  # noqa: E402

__all__ = ["uncertainty_surfaces", "method_bars", "paper_table"]


def uncertainty_surfaces(study, rows: list[dict], out: Path, *, methods: list[str], seed: int = 0,
                         x: str | None = None) -> Path:
    """One panel per method (the run with ``seed``): 1 − max p over the grid, training data and OOD set on top."""
    from repro.data.sources import load_source
    from repro.data.synthetic import moons_ood_set

    train = load_source("two_moons", train=True)
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.4), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        sel = select(rows, {"method": method, "seed": seed})
        path = Path(sel[0]["run_dir"]) / "surface.pt" if sel else None
        if path is None or not path.is_file():
            raise ReproError(f"no surface.pt for method={method}, seed={seed}; rerun the study")
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
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


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
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


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
        lines += ["", "Paper values (in parentheses): the verified ones on the paper card (Uncertainty Baselines "
                  "README), listed in the study's `paper_values`."]
    return lines
