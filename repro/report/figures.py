"""Figures drawn from a study's collected results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.studies.claims import curve, interpolation_threshold, mean_history, select  # noqa: E402


def _title(study, rows: list[dict], by: str | None) -> str:
    noise = {r.get("label_noise") for r in rows if r.get("label_noise") is not None}
    base_noise = study.base.get("data", {}).get("init_args", {}).get("label_noise")
    if by != "label_noise":
        level = noise.pop() if len(noise) == 1 else base_noise
        if level is not None:
            return f"{study.meta.get('title', study.name)} — label noise {100 * float(level):g}%"
    return study.meta.get("title", study.name)


def _save(fig, ax, out: Path) -> Path:
    """Grid, legend, tight layout, PNG: how every figure ends."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def curve_figure(study, rows: list[dict], out: Path, *, x: str, by: str | None = None,
                 metrics: tuple[str, ...] = ("test/error", "train/error"), logx: bool = True,
                 threshold: float | None = 0.05) -> Path:
    """Metrics (seed mean ± std) against ``x``; one colour per level of ``by``; k* and peak marked."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    levels = sorted({r[by] for r in rows}) if by else [None]
    styles = {"test/error": "-", "train/error": "--"}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, level in enumerate(levels):
        where = {by: level} if by else None
        color = colors[i % len(colors)]
        for metric in metrics:
            xs, mean, std, _ = curve(rows, x, metric, where)
            label = metric + (f" ({by}={level:g})" if by else "")
            ax.plot(xs, mean, styles.get(metric, ":"), marker="o", ms=3, color=color, label=label)
            ax.fill_between(xs, mean - std, mean + std, color=color, alpha=0.15)
        if threshold is not None and "train/error" in metrics:
            k_star = interpolation_threshold(rows, x=x, threshold=threshold, where=where)
            if k_star is not None:
                ax.axvline(k_star, color=color, lw=0.8, ls=":")
                ax.annotate(f"k*={k_star:g}", (k_star, ax.get_ylim()[1]), xytext=(3, -12),
                            textcoords="offset points", fontsize=8, color=color)
    if logx:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel(x)
    ax.set_ylabel("error (test: clean labels; train: noisy labels)")
    ax.set_title(_title(study, rows, by))
    return _save(fig, ax, out)


def history_figure(study, rows: list[dict], out: Path, *, x: str, metric: str = "test/error",
                   train_metric: str | None = "train/error") -> Path:
    """Epoch-wise curves: ``metric`` against training epochs, one line per ``x`` (seed mean)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, level in enumerate(sorted({r[x] for r in rows})):
        color = colors[i % len(colors)]
        for m, style in ((metric, "-"), (train_metric, "--")):
            if m is None:
                continue
            epochs, mean = mean_history([r for r in rows if r[x] == level], m)
            ax.plot(epochs + 1, mean, style, color=color, label=f"{m} ({x}={level:g})")
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error")
    ax.set_title(_title(study, rows, None) + " — epoch-wise")
    return _save(fig, ax, out)


def class_bars_figure(study, rows: list[dict], out: Path, *, x: str, groups: dict[str, dict],
                      prefix: str = "test/acc_class") -> Path:
    """Per-class accuracy as grouped bars (seed mean ± std), one bar colour per named row selection
    (e.g. ERM vs LDAM-DRW, Cao et al. 2019, Fig. 3-style). ``x`` is unused: classes are the x axis."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(groups), 1)
    for i, (label, where) in enumerate(groups.items()):
        sel = select(rows, where)
        classes = sorted(int(k[len(prefix):]) for k in sel[0] if k.startswith(prefix)) if sel else []
        vals = np.array([[float(r[f"{prefix}{c}"]) for c in classes] for r in sel])
        ax.bar(np.array(classes) + (i - (len(groups) - 1) / 2) * width, vals.mean(0), width,
               yerr=vals.std(0), label=label, capsize=2)
    ax.set_xlabel("class (0 = head, most training examples)")
    ax.set_ylabel("test accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
