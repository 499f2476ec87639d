"""Reading the logged curves back: per member, a metric against epochs; per seed, the curves of every ratio; the
spread between the extreme ratios at an epoch, or averaged over the last evaluations ("end").

Claims, the results table and the figures all read the study's rows through these functions, so they agree on
what "early" and "end" mean.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from repro.errors import ReproError
from repro.studies.results import MissingRuns, load_history, metric_of

__all__ = ["by_seed", "curve", "end_value", "pool_metric", "spread_curve", "value_at"]


def pool_metric(pool: str) -> str:
    """``in`` → ``pools/in_frac`` (the share of the pool predicted as the up-weighted class)."""
    return f"pools/{pool}_frac"


def curve(row: dict, metric: str, epoch_key: str = "pools/epoch") -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values) of one member's ``metric``, matched by step to the epochs logged beside it."""
    history = load_history(row["run_dir"])
    if epoch_key not in history:
        raise MissingRuns(f"{row['run_dir']}: no {epoch_key!r} logged; did the run finish?")
    epoch_of = dict(zip(*history[epoch_key], strict=True))
    steps, values = metric_of(row, metric)
    epochs = np.array([epoch_of[s] for s in steps if s in epoch_of])
    values = np.array([v for s, v in zip(steps, values, strict=True) if s in epoch_of])
    order = np.argsort(epochs, kind="stable")
    return epochs[order], values[order]


def value_at(epochs: np.ndarray, values: np.ndarray, epoch: int) -> float:
    hit = np.flatnonzero(epochs == epoch)
    if not len(hit):
        raise MissingRuns(f"no evaluation at epoch {epoch} (evaluated: {epochs[:12].astype(int).tolist()}...)")
    return float(values[hit[-1]])


def end_value(values: np.ndarray, tail: int) -> float:
    """Mean over the last ``tail`` evaluations (the runs evaluate each of their last epochs)."""
    if len(values) < tail:
        raise MissingRuns(f"only {len(values)} evaluations, fewer than the {tail} the end value averages")
    return float(np.mean(values[-tail:]))


def by_seed(rows: list[dict]) -> dict[object, dict[float, dict]]:
    """seed → ratio → row (one weighting of one seed); a repeated (seed, ratio) means the selection mixes runs."""
    out: dict[object, dict[float, dict]] = defaultdict(dict)
    for r in rows:
        ratio = float(r["ratio"])
        if ratio in out[r.get("seed")]:
            raise ReproError(f"two rows for seed {r.get('seed')} ratio {ratio}: narrow the claim's `where`")
        out[r.get("seed")][ratio] = r
    return dict(out)


def spread_curve(by_ratio: dict[float, dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, frac(largest ratio) − frac(smallest ratio)) of one seed."""
    lo, hi = min(by_ratio), max(by_ratio)
    e_lo, v_lo = curve(by_ratio[lo], metric)
    e_hi, v_hi = curve(by_ratio[hi], metric)
    if not np.array_equal(e_lo, e_hi):
        raise MissingRuns(f"ratios {lo:g} and {hi:g} were evaluated at different epochs")
    return e_hi, v_hi - v_lo
