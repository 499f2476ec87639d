"""The prediction-depth figures, named in its study YAMLs by import path: held-out accuracy and confidence against
PD, PD against the epoch an example is learned, and the train-PD × held-out-PD histogram. Every point is a
per-example seed mean (``examples.py``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from repro.papers.prediction_depth.claims import depth_bins  # noqa: E402
from repro.papers.prediction_depth.examples import agreement, consistency, load_examples, seed_mean  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402

__all__ = ["depth_by_epoch_learned", "held_out_by_depth", "train_vs_held_out_depth"]


def _title(fig, study) -> None:
    fig.suptitle(study.meta.get("title", study.name), fontsize=9)


def held_out_by_depth(study, rows: list[dict], out: Path, *, min_count: int = 20, x: str | None = None) -> Path:
    """Consistency (held-out accuracy across seeds), softmax confidence and ensemble agreement per bin of
    held-out PD (seed mean, rounded), bins of ≥ ``min_count`` examples."""
    ex = load_examples(rows)
    depth = seed_mean(ex["val_pd"])
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for label, values in (("accuracy (consistency)", consistency(ex)), ("softmax confidence", seed_mean(
            ex["val_conf"])), ("ensemble agreement", agreement(ex))):
        bins = depth_bins(depth, values, min_count)
        ax.plot([b[0] for b in bins], [b[1] for b in bins], marker="o", label=label)
    ax.set_xlabel(f"held-out prediction depth (seed mean; bins of ≥ {min_count} examples)")
    ax.set_ylabel("held-out, per example")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _title(fig, study)
    return save_figure(fig, out, bbox_inches="tight")


def depth_by_epoch_learned(study, rows: list[dict], out: Path, *, x: str | None = None) -> Path:
    """Mean train-PD (± std over examples) per epoch learned, pooled over seeds."""
    ex = load_examples(rows)
    learned, depth = ex["train_learned"].ravel(), ex["train_pd"].ravel()
    ok = ~(np.isnan(learned) | np.isnan(depth))
    epochs = np.unique(learned[ok]).astype(int)
    means = [depth[ok][learned[ok] == e].mean() for e in epochs]
    stds = [depth[ok][learned[ok] == e].std() for e in epochs]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.errorbar(epochs, means, yerr=stds, marker="o", capsize=2)
    ax.set_xlabel("epoch learned (0 = at initialisation)")
    ax.set_ylabel("train prediction depth")
    ax.grid(alpha=0.3)
    _title(fig, study)
    return save_figure(fig, out, bbox_inches="tight")


def train_vs_held_out_depth(study, rows: list[dict], out: Path, *, x: str | None = None) -> Path:
    """2-D histogram of each example's seed-mean train-PD against its seed-mean held-out PD; flipped training
    labels marked on top."""
    ex = load_examples(rows)
    train, held = seed_mean(ex["train_pd"]), seed_mean(ex["val_pd"])
    flipped = seed_mean(ex["flipped"]) > 0.5
    ok = ~(np.isnan(train) | np.isnan(held))
    edges = np.arange(ex.num_probes + 2) - 0.5
    fig, ax = plt.subplots(figsize=(5.0, 4.2))
    _, _, _, image = ax.hist2d(held[ok], train[ok], bins=[edges, edges], norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax, label="examples")
    ax.scatter(held[ok & flipped], train[ok & flipped], s=3, c="red", alpha=0.4, label="flipped label (majority)")
    ax.set_xlabel("held-out prediction depth (seed mean)")
    ax.set_ylabel("train prediction depth (seed mean)")
    ax.legend(fontsize=7, loc="upper left")
    _title(fig, study)
    return save_figure(fig, out, bbox_inches="tight")
