"""Generic figures drawn from a study's collected results (matplotlib, headless).

Each is ``f(study, rows, out, **spec) -> Path`` and is named in a study YAML under ``study.figures``; a paper
adds its own figure kinds in its package, named there by import path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.atomic import atomic_path  # noqa: E402
from repro.studies.results import MissingRuns, curve, first_x_at_most, mean_history, select  # noqa: E402

__all__ = ["class_bars_figure", "curve_figure", "history_figure", "save_figure"]


def save_figure(fig, out: Path, *, dpi: int = 130, **kwargs) -> Path:
    """Write a figure atomically and close it."""
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, **kwargs)
    plt.close(fig)
    return out


def _finish(fig, ax, out: Path) -> Path:
    """Grid, legend, tight layout, PNG: how the line figures end."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def _level(v) -> str:
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def curve_figure(study, rows: list[dict], out: Path, *, x: str, by: str | None = None,
                 metrics: tuple[str, ...] = ("test/error", "train/error"), logx: bool = True,
                 threshold: float | None = 0.05, threshold_metric: str = "train/error",
                 threshold_label: str = "k*", ylabel: str = "error (test: clean labels; train: training labels)",
                 title: str | None = None) -> Path:
    """Metrics (seed mean ± std) against ``x``, one colour per level of ``by``; with ``threshold``, the first x
    whose ``threshold_metric`` is ≤ it is marked (e.g. the smallest model that fits its training set)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    levels = sorted({r[by] for r in rows}) if by else [None]
    styles = {0: "-", 1: "--"}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, level in enumerate(levels):
        where = {by: level} if by else None
        color = colors[i % len(colors)]
        for j, metric in enumerate(metrics):
            xs, mean, std, _ = curve(rows, x, metric, where)
            label = metric + (f" ({by}={_level(level)})" if by else "")
            ax.plot(xs, mean, styles.get(j, ":"), marker="o", ms=3, color=color, label=label)
            ax.fill_between(xs, mean - std, mean + std, color=color, alpha=0.15)
        if threshold is not None and any(threshold_metric in r for r in rows):
            x_fit = first_x_at_most(rows, x=x, metric=threshold_metric, threshold=threshold, where=where)
            if x_fit is not None:
                ax.axvline(x_fit, color=color, lw=0.8, ls=":")
                ax.annotate(f"{threshold_label}={x_fit:g}", (x_fit, ax.get_ylim()[1]), xytext=(3, -12),
                            textcoords="offset points", fontsize=8, color=color)
    if logx:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title or study.meta.get("title", study.name))
    return _finish(fig, ax, out)


def history_figure(study, rows: list[dict], out: Path, *, x: str, metric: str = "test/error",
                   train_metric: str | None = "train/error", title: str | None = None) -> Path:
    """Epoch-wise curves: ``metric`` against training epochs, one line per ``x`` (seed mean)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, level in enumerate(sorted({r[x] for r in rows})):
        color = colors[i % len(colors)]
        for m, style in ((metric, "-"), (train_metric, "--")):
            if m is None:
                continue
            epochs, mean = mean_history([r for r in rows if r[x] == level], m)
            ax.plot(epochs + 1, mean, style, color=color, label=f"{m} ({x}={_level(level)})")
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error")
    ax.set_title(title or f"{study.meta.get('title', study.name)} — epoch-wise")
    return _finish(fig, ax, out)


def class_bars_figure(study, rows: list[dict], out: Path, *, x: str, groups: dict[str, dict],
                      prefix: str = "test/accuracy_class", title: str | None = None) -> Path:
    """Per-class accuracy as grouped bars (seed mean ± std), one bar colour per named row selection (e.g. two
    methods). ``x`` is unused: classes are the x axis."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(groups), 1)
    drawn = 0
    for i, (label, where) in enumerate(groups.items()):
        sel = select(rows, where)
        if not sel:
            continue
        classes = sorted(int(k[len(prefix):]) for k in sel[0] if k.startswith(prefix))
        vals = np.array([[float(r[f"{prefix}{c}"]) for c in classes] for r in sel])
        ax.bar(np.array(classes) + (i - (len(groups) - 1) / 2) * width, vals.mean(0), width,
               yerr=vals.std(0), label=label, capsize=2)
        drawn += 1
    if not drawn:
        plt.close(fig)
        raise MissingRuns(f"class bars: no runs for any of {list(groups)}")
    ax.set_xlabel("class (0 = head, most training examples)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or study.meta.get("title", study.name))
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, out, dpi=120)
