"""Figures and the results table of the Slingshot studies, drawn from each run's per-step history.

Named in a study YAML by import path (``kind: repro.papers.slingshot.figures.dynamics``;
``table: repro.papers.slingshot.figures.summary_table``). Every panel is against training steps on a
log axis, with the detected slingshots (``detector.py``: cycles, dashed) and loss spikes that are no cycle
(dotted) marked. A figure shows the seed its spec names when the study has it, else the study's first seed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from repro.papers.slingshot.detector import generalization_times, spikes_of  # noqa: E402
from repro.report.figures import save_figure  # noqa: E402
from repro.studies.results import MissingRuns, load_history, metric_of, select  # noqa: E402


def _one(rows: list[dict], where: dict | None, seed: int | None) -> dict:
    """The run of ``where`` with ``seed``; without ``seed``, or when the study has no such seed, its first seed (so
    a figure follows whatever seeds the study ran)."""
    chosen = sorted(select(rows, where), key=lambda r: (r.get("seed") is None, r.get("seed")))
    if not chosen:
        raise MissingRuns(f"slingshot figure: no run where {where}")
    return next((r for r in chosen if seed is not None and r.get("seed") == seed), chosen[0])


def _steps(s: np.ndarray) -> np.ndarray:
    return np.maximum(s, 0) + 1  # steps from 1, for the log axis


def _mark(ax, spikes, color="tab:red") -> None:
    cycles = [s for s in spikes if s.cycle]
    others = [s for s in spikes if not s.cycle]
    for i, s in enumerate(cycles):
        ax.axvline(s.step + 1, color=color, lw=0.8, ls="--", alpha=0.7, label="slingshot" if i == 0 else None)
    for i, s in enumerate(others):
        ax.axvline(s.step + 1, color="gray", lw=0.8, ls=":", alpha=0.7, label="spike, no cycle" if i == 0 else None)


def _has(row: dict, metric: str) -> bool:
    name = f"member{row['member']}/{metric}" if row.get("member") is not None else metric
    return name in load_history(row["run_dir"])


def dynamics(study, rows: list[dict], out: Path, *, where: dict | None = None, seed: int | None = None,
             detector: dict | None = None, x: str | None = None, title: str | None = None) -> Path:
    """Thilak et al. Fig. 2 for one run: accuracy, loss, last-layer norm and feature change vs steps."""
    row = _one(rows, where, seed)
    spikes = spikes_of(row, **(detector or {}))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    s, err = metric_of(row, "fit/error")
    vs, va = metric_of(row, "val/accuracy")
    ax = axes[0, 0]
    ax.plot(_steps(s), 1 - err, lw=0.7, label="train (batch)")
    ax.plot(_steps(vs), va, lw=1.2, label="validation")
    ax.set_ylabel("accuracy")
    s, loss = metric_of(row, "fit/loss")
    vs, vl = metric_of(row, "val/loss")
    ax = axes[0, 1]
    ax.plot(_steps(s), np.maximum(loss, 1e-12), lw=0.7, label="train (batch)")
    ax.plot(_steps(vs), vl, lw=1.2, label="validation")
    ax.set_yscale("log")
    ax.set_ylabel("loss")
    ns, norm = metric_of(row, "weights/last_layer_norm")
    ax = axes[1, 0]
    ax.plot(_steps(ns), norm, lw=1.0, color="tab:purple", label="‖W_out‖_F")
    ax.set_ylabel("last-layer norm")
    ax = axes[1, 1]
    for layer in (1, 2, 3):
        if _has(row, f"features/change_l{layer}"):
            fs, change = metric_of(row, f"features/change_l{layer}")
            ax.plot(_steps(fs), np.maximum(change, 1e-12), lw=0.7, label=f"layer {layer}")
    ax.set_yscale("log")
    ax.set_ylabel("relative feature change")
    for ax in axes.flat:
        ax.set_xscale("log")
        _mark(ax, spikes)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("training step")
    label = ", ".join(f"{k}={v}" for k, v in {**(where or {}), "seed": row.get("seed")}.items() if v is not None)
    cycles = sum(s.cycle for s in spikes)
    fig.suptitle(title or f"{study.meta.get('title', study.name)} — {label} ({cycles} slingshots, {len(spikes)} "
                 "loss spikes)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)


def comparison(study, rows: list[dict], out: Path, *, groups: dict[str, dict], seed: int | None = None,
               detector: dict | None = None, x: str | None = None, title: str | None = None) -> Path:
    """Training loss and last-layer norm vs steps for several settings (e.g. Adam ε), one seed each."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for (label, where), color in zip(groups.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"],
                                     strict=False):
        row = _one(rows, where, seed)
        spikes = spikes_of(row, **(detector or {}))
        s, loss = metric_of(row, "fit/loss")
        ns, norm = metric_of(row, "weights/last_layer_norm")
        name = f"{label}, seed {row.get('seed')} ({sum(sp.cycle for sp in spikes)} slingshots)"
        axes[0].plot(_steps(s), np.maximum(loss, 1e-12), lw=0.7, color=color, label=name)
        axes[1].plot(_steps(ns), norm, lw=1.0, color=color, label=name)
        for ax in axes:
            for sp in spikes:
                ax.axvline(sp.step + 1, color=color, lw=0.6, ls="--" if sp.cycle else ":", alpha=0.6)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss (per step)")
    axes[1].set_ylabel("last-layer norm ‖W_out‖_F")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or study.meta.get("title", study.name), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)


def summary_table(study, rows: list[dict]) -> list[str]:
    """Per setting (mean over seeds): slingshots (cycles) and loss spikes, t_tr, t_val, final validation accuracy,
    final norm."""
    x = study.x_key
    detector = study.meta.get("detector") or {}
    lines = [f"| {x} | runs | slingshots (cycles) | loss spikes | t_tr (train acc ≥ 0.99) | t_val (val acc ≥ 0.95) | "
             "final val acc | final ‖W_out‖ |", "|---|---|---|---|---|---|---|---|"]

    def fmt(values):
        got = [v for v in values if v is not None]
        text = f"{np.mean(got):.0f}" if got else "never"
        return text + (f" ({len(got)}/{len(values)} runs)" if got and len(got) < len(values) else "")

    for level in dict.fromkeys(r[x] for r in rows):
        sel = [r for r in rows if r[x] == level]
        found = [spikes_of(r, **detector) for r in sel]
        cycles = [sum(s.cycle for s in run) for run in found]
        spikes = [len(run) for run in found]
        times = [generalization_times(r) for r in sel]
        final_val = [float(metric_of(r, "val/accuracy")[1][-1]) for r in sel]
        final_norm = [float(metric_of(r, "weights/last_layer_norm")[1][-1]) for r in sel]
        lines.append(f"| {level} | {len(sel)} | {np.mean(cycles):.1f} ({', '.join(map(str, cycles))}) | "
                     f"{np.mean(spikes):.1f} ({', '.join(map(str, spikes))}) | "
                     f"{fmt([t[0] for t in times])} | {fmt([t[1] for t in times])} | "
                     f"{np.mean(final_val):.3f} ± {np.std(final_val):.3f} | {np.mean(final_norm):.1f} |")
    return lines
