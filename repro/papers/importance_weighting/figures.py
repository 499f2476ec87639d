"""Figures of the importance-weighting studies, drawn from the logged curves and the saved decision regions.

- :func:`fraction_curves` — the paper's headline figure: fraction of each pool predicted as the up-weighted class
  against epochs, one line per weight ratio (seed mean), one row of panels per setting;
- :func:`spread_curves` — the spread between the extreme ratios against epochs, one line per setting;
- :func:`boundaries` — the 2-D toy: decision boundaries of several ratios at several epochs (first seed);
- :func:`angle_curves` — the angle of each weighted logistic-regression solution to the unweighted one.

Each follows whatever seeds the study has (seed means; the boundaries show the smallest seed present) and raises
:class:`~repro.studies.results.MissingRuns` when the runs it needs are absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.papers.importance_weighting.history import by_seed, curve, pool_metric, spread_curve  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns, select  # noqa: E402

__all__ = ["angle_curves", "boundaries", "fraction_curves", "ratio_label", "spread_curves"]

POOL_TITLES = {"in": "in-domain test", "ood": "other classes (out-of-domain)", "noise": "uniform noise"}


def ratio_label(r: float) -> str:
    """4 → ``4:1``, 0.25 → ``1:4`` (up-weighted : other)."""
    return f"{r:g}:1" if r >= 1 else f"1:{1 / r:g}"


def _colours(ratios: list[float]):
    logs = np.log([r for r in ratios])
    span = max(abs(logs).max(), 1e-9)
    return {r: plt.cm.coolwarm(0.5 + 0.5 * lg / span) for r, lg in zip(ratios, logs, strict=True)}


def _mean_curve(rows: list[dict], metric: str, epoch_key: str = "pools/epoch") -> tuple[np.ndarray, np.ndarray]:
    curves = [curve(r, metric, epoch_key) for r in rows]
    n = min(len(c[0]) for c in curves)
    return curves[0][0][:n], np.mean([c[1][:n] for c in curves], axis=0)


def _selected(rows, where, what: str) -> list[dict]:
    chosen = select(rows, where)
    if not chosen:
        raise MissingRuns(f"{what}: no runs where {where}")
    return chosen


def fraction_curves(study, rows: list[dict], out: Path, *, groups: dict[str, dict], pools=("in", "ood", "noise"),
                    x=None, title: str | None = None) -> Path:
    """Rows of panels (one per setting in ``groups``: label → ``where``), one panel per pool; in each, the
    seed-mean fraction predicted as the up-weighted class against epochs, one line per ratio."""
    fig, axes = plt.subplots(len(groups), len(pools), figsize=(4.2 * len(pools), 2.9 * len(groups)),
                             squeeze=False, sharex=True, sharey=True)
    for gi, (label, where) in enumerate(groups.items()):
        chosen = _selected(rows, where, "fraction_curves")
        ratios = sorted({float(r["ratio"]) for r in chosen})
        colours = _colours(ratios)
        for pi, pool in enumerate(pools):
            ax = axes[gi, pi]
            for ratio in ratios:
                epochs, mean = _mean_curve([r for r in chosen if float(r["ratio"]) == ratio], pool_metric(pool))
                ax.plot(epochs, mean, color=colours[ratio], lw=1.2, label=ratio_label(ratio))
            ax.set_xscale("log")
            ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
            if gi == 0:
                ax.set_title(POOL_TITLES.get(pool, pool), fontsize=10)
            if pi == 0:
                ax.set_ylabel(f"{label}\nfraction predicted up-weighted", fontsize=9)
            if gi == len(groups) - 1:
                ax.set_xlabel("epoch")
    axes[0, -1].legend(fontsize=6, title="up:other", title_fontsize=6, loc="lower right", ncol=2)
    fig.suptitle(title or study.meta.get("title", study.name), fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out)


def spread_curves(study, rows: list[dict], out: Path, *, groups: dict[str, dict], pools=("in", "ood", "noise"),
                  x=None, title: str | None = None) -> Path:
    """One panel per pool: spread = frac(largest ratio) − frac(smallest ratio) against epochs, seed mean ± std, one
    line per setting."""
    fig, axes = plt.subplots(1, len(pools), figsize=(4.4 * len(pools), 3.4), squeeze=False, sharey=True)
    for label, where in groups.items():
        seeds = by_seed(_selected(rows, where, "spread_curves"))
        for pi, pool in enumerate(pools):
            curves = [spread_curve(g, pool_metric(pool)) for g in seeds.values()]
            n = min(len(c[0]) for c in curves)
            values = np.array([c[1][:n] for c in curves])
            line, = axes[0, pi].plot(curves[0][0][:n], values.mean(0), lw=1.3, label=label)
            axes[0, pi].fill_between(curves[0][0][:n], values.mean(0) - values.std(0), values.mean(0) + values.std(0),
                                     color=line.get_color(), alpha=0.15)
    for pi, pool in enumerate(pools):
        ax = axes[0, pi]
        ax.set_xscale("log")
        ax.set_title(POOL_TITLES.get(pool, pool), fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("spread: frac(256:1) − frac(1:256)")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle(title or f"{study.meta.get('title', study.name)}: spread between the extreme ratios", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out)


def _snapshots(run_dir: str) -> list[dict]:
    files = sorted(Path(run_dir, "boundaries").glob("epoch*.pt"), key=lambda p: int(p.stem[5:]))
    if not files:
        raise MissingRuns(f"{run_dir}: no saved decision regions (boundaries/epoch*.pt)")
    return [torch.load(f, weights_only=False) for f in files]


def boundaries(study, rows: list[dict], out: Path, *, groups: dict[str, dict],
               ratios=(1 / 256, 1 / 16, 1.0, 16.0, 256.0), x=None, title: str | None = None) -> Path:
    """Rows of panels (one per model in ``groups``), one panel per saved epoch: the training points and the
    decision boundary of each of ``ratios`` (the smallest seed present)."""
    snaps = {}
    for label, where in groups.items():
        chosen = _selected(rows, where, "boundaries")
        seed = min(r["seed"] for r in chosen)
        snaps[label] = _snapshots(next(r["run_dir"] for r in chosen if r["seed"] == seed))
    cols = max(len(s) for s in snaps.values())
    fig, axes = plt.subplots(len(groups), cols, figsize=(2.9 * cols, 2.9 * len(groups)), squeeze=False)
    colours = _colours(list(ratios))
    for gi, (label, shots) in enumerate(snaps.items()):
        for ci, shot in enumerate(shots):
            ax = axes[gi, ci]
            lo, hi, n = shot["grid"]
            axis = np.linspace(lo, hi, n)
            xy, y = shot["x"].numpy(), shot["y"].numpy()
            ax.scatter(xy[y == 0, 0], xy[y == 0, 1], s=7, c="0.3", marker="o")
            ax.scatter(xy[y == 1, 0], xy[y == 1, 1], s=12, c="k", marker="x")
            first = shot["members"][0]["seed"]
            index = {float(m["ratio"]): i for i, m in enumerate(shot["members"]) if m["seed"] == first}
            for ratio in ratios:
                if ratio in index:
                    region = shot["pred"][index[ratio]].numpy().reshape(n, n).astype(float)
                    if 0 < region.mean() < 1:
                        ax.contour(axis, axis, region, levels=[0.5], colors=[colours[ratio]], linewidths=1.3)
                    ax.plot([], [], color=colours[ratio], label=ratio_label(ratio))
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_title(f"{label}, epoch {shot['epoch']}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        for ci in range(len(shots), cols):
            axes[gi, ci].axis("off")
    axes[0, 0].legend(fontsize=6, title="up(x):other(o)", title_fontsize=6, loc="lower left")
    fig.suptitle(title or study.meta.get("title", study.name), fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out)


def angle_curves(study, rows: list[dict], out: Path, *, where: dict, x=None, title: str | None = None) -> Path:
    """Angle (degrees) between each weighted solution and the unweighted one against epochs, seed mean, one line
    per ratio."""
    chosen = [r for r in _selected(rows, where, "angle_curves") if float(r["ratio"]) != 1.0]
    ratios = sorted({float(r["ratio"]) for r in chosen})
    colours = _colours(ratios)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for ratio in ratios:
        epochs, mean = _mean_curve([r for r in chosen if float(r["ratio"]) == ratio], "angle/to_unweighted_deg",
                                   "angle/epoch")
        ax.plot(epochs, mean, color=colours[ratio], label=ratio_label(ratio))
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("angle to the unweighted solution (degrees)")
    ax.set_ylim(0, max(5.0, math.ceil(ax.get_ylim()[1])))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or f"{study.meta.get('title', study.name)}: logistic regression", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)
