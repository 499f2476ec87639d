"""One study's per-example quantities, joined over its runs: one row per seed, one column per example of the pool.

Each run (one half of the pool, every stacked seed) saves ``examples.npz`` (``method.py``); a study's rows are one
per (run, member). :func:`load_examples` places each row's arrays at the examples' pool positions, so a seed's row
holds the train-side quantities of the examples it trained on and the held-out quantities of the others, and
across the two halves every example has both. Missing entries are NaN.

Per-example summaries over seeds (the paper's ensemble view): :func:`consistency` (held-out accuracy across
models, Jiang et al.'s consistency score), :func:`agreement` (the fraction of models that agree with the
ensemble's most common prediction), and the seed-mean of any quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.studies.results import MissingRuns

__all__ = ["Examples", "agreement", "consistency", "load_examples", "seed_mean"]

TRAIN_KEYS = ("train_pd", "train_learned", "train_pred")
VAL_KEYS = ("val_pd", "val_pred", "val_conf", "val_margin")


@dataclass
class Examples:
    """Arrays of shape (seeds, pool): float, NaN where a seed has no value for an example."""

    seeds: list
    arrays: dict[str, np.ndarray]
    label: np.ndarray  # (pool,) true label, -1 where no run saw the example
    num_probes: int
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    @property
    def val_correct(self) -> np.ndarray:
        pred = self.arrays["val_pred"]
        return np.where(np.isnan(pred), np.nan, (pred == self.label[None]).astype(float))


_CACHE: dict[tuple[str, float], dict[str, np.ndarray]] = {}


def _npz(run_dir: str) -> dict[str, np.ndarray]:
    path = Path(run_dir) / "examples.npz"
    if not path.is_file():
        raise MissingRuns(f"{run_dir}: no examples.npz (the run did not finish its probes)")
    key = (str(path), path.stat().st_mtime)
    if key not in _CACHE:
        with np.load(path) as data:
            _CACHE[key] = {k: data[k] for k in data.files}
    return _CACHE[key]


def load_examples(rows: list[dict]) -> Examples:
    """The per-example arrays of every row (a member of a run), joined by seed and pool position."""
    if not rows:
        raise MissingRuns("no runs with per-example results")
    saved = [(r, _npz(r["run_dir"])) for r in rows]
    pool = 1 + max(int(max(d["train_index"].max(), d["val_index"].max())) for _, d in saved)
    seeds = sorted({r.get("seed") for r, _ in saved}, key=lambda s: (s is None, s))
    arrays = {k: np.full((len(seeds), pool), np.nan) for k in (*TRAIN_KEYS, *VAL_KEYS, "flipped")}
    label = np.full(pool, -1)
    for row, d in saved:
        s, m = seeds.index(row.get("seed")), int(row.get("member") or 0)
        ti, vi = d["train_index"], d["val_index"]
        for key in TRAIN_KEYS:
            arrays[key][s, ti] = d[key][m]
        for key in VAL_KEYS:
            arrays[key][s, vi] = d[key][m]
        arrays["flipped"][s, ti] = d["train_label"] != d["train_clean"]
        label[ti], label[vi] = d["train_clean"], d["val_label"]
    return Examples(seeds, arrays, label, int(saved[0][1]["num_probes"]))


def seed_mean(values: np.ndarray) -> np.ndarray:
    """(pool,) mean over the seeds that have a value; NaN where none has."""
    counts = (~np.isnan(values)).sum(0)
    total = np.nansum(values, axis=0)
    return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def consistency(ex: Examples) -> np.ndarray:
    """(pool,) held-out accuracy across seeds: the consistency score of each example."""
    return seed_mean(ex.val_correct)


def agreement(ex: Examples) -> np.ndarray:
    """(pool,) the fraction of seeds whose held-out prediction is the seeds' most common one."""
    pred = ex["val_pred"]
    out = np.full(pred.shape[1], np.nan)
    for j in range(pred.shape[1]):
        col = pred[~np.isnan(pred[:, j]), j].astype(int)
        if len(col):
            out[j] = np.bincount(col).max() / len(col)
    return out
