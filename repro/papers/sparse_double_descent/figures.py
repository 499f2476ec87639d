"""The headline figure of both papers: test accuracy, train accuracy (noisy labels) and ReLU-state entropy against
sparsity, one colour per method (seed mean ± std), the x axis the remaining fraction 1 − sparsity on a log scale
(sparsity grows to the right), with each stopping rule's kept round marked on the seed-mean test curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.papers.sparse_double_descent.rounds import early_stop, entropy_stop, mean_curves, seed_curves  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns  # noqa: E402

__all__ = ["sparsity_curves"]

PANELS = (("test", "test accuracy (%, clean labels)"), ("train", "train accuracy (%, noisy labels)"),
          ("entropy", "ReLU-state entropy (bits)"))


def sparsity_curves(study, rows: list[dict], out: Path, *, methods: dict[str, str] | None = None,
                    tolerance: float = 1.0, entropy_tolerance: float = 0.01, x=None, title: str | None = None) -> Path:
    """``methods``: grid value of ``method`` → legend label (default: every method in the rows)."""
    methods = methods or {str(r["method"]): str(r["method"]) for r in rows if "method" in r}
    curves = {}
    for method in methods:
        try:
            curves[method] = [c for _, c in seed_curves(rows, {"method": method}, "sparsity_curves")]
        except MissingRuns:
            continue
    if not curves:
        raise MissingRuns(f"sparsity curves: no runs of {list(methods)}")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (method, per_seed) in enumerate(curves.items()):
        color, mean = colors[n % len(colors)], mean_curves(per_seed)
        remaining = np.maximum(1 - mean["sparsity"], 1e-6)
        for ax, (key, label) in zip(axes, PANELS, strict=True):
            std = np.std([c[key][:len(remaining)] for c in per_seed], axis=0)
            ax.plot(remaining, mean[key], "-o", ms=3, color=color, label=f"{methods[method]} ({len(per_seed)} seeds)")
            ax.fill_between(remaining, mean[key] - std, mean[key] + std, color=color, alpha=0.15)
            ax.set_ylabel(label)
        es, en = early_stop(mean["test"], tolerance), entropy_stop(mean["test"], mean["entropy"], tolerance,
                                                                   entropy_tolerance)
        axes[0].plot(remaining[es.kept], mean["test"][es.kept], "v", ms=11, mfc="none", mew=2, color=color,
                     label=f"early stop keeps r{es.kept} ({methods[method]})")
        axes[0].plot(remaining[en.kept], mean["test"][en.kept], "*", ms=13, mfc="none", mew=1.5, color=color,
                     label=f"entropy stop keeps r{en.kept} ({methods[method]})")
    for ax in axes:
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("remaining weights 1 − sparsity (log)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title or study.meta.get("title", study.name))
    fig.tight_layout()
    return save_figure(fig, out)
