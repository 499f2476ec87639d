"""A study's results: rows (one per run, or per member of a stacked run), curves over a grid axis, and the
per-step histories the runs logged (``<run_dir>/metrics.csv``).

A row holds the run's grid overrides by short name (``width``, ``seed``, ``method``), its final metrics
(``test/error``, ...), ``run_dir`` and, for a member of a stacked run, ``member``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from repro.errors import ReproError

__all__ = ["MissingRuns", "curve", "expand_members", "first_x_at_most", "load_history", "mean_history",
           "metric_of", "read_history", "select"]

History = dict[str, tuple[np.ndarray, np.ndarray]]
_CACHE: dict[tuple[str, float, int], History] = {}


class MissingRuns(ReproError):
    """The rows a claim, table or figure needs are not in the results (e.g. ``--grid`` ran a subset): it is
    reported as not evaluated instead of stopping the report."""


def expand_members(result: dict, run_dir: Path) -> list[dict]:
    """A run's result rows. A stacked run (several models of one architecture trained as one batched model)
    declares ``members`` (``[{"seed": 0}, {"seed": 1}, ...]``) and logs each member's metrics under
    ``member<i>/<metric>``; it becomes one row per member, as if each had been a run of its own, with
    ``member: i`` so that its history columns (``member<i>/...`` in metrics.csv) can be found."""
    common = {**result["overrides"], "run_dir": str(run_dir), "seconds": result["seconds"]}
    members = result.get("members")
    if not members:
        return [{**common, **result["metrics"]}]
    rows = []
    for i, member in enumerate(members):
        prefix = f"member{i}/"
        metrics = {k[len(prefix):]: v for k, v in result["metrics"].items() if k.startswith(prefix)}
        rows.append({**common, **member, "member": i, **metrics})
    return rows


def select(rows: list[dict], where: dict | None) -> list[dict]:
    """The rows whose values match every ``key: value`` of ``where`` (floats compared with a tolerance)."""
    return [r for r in rows if all(_eq(r.get(k), v) for k, v in (where or {}).items())]


def _eq(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


def curve(rows: list[dict], x: str, metric: str, where: dict | None = None):
    """(xs, mean, std, count) of ``metric`` against ``x``, averaged over the rows sharing an x (the seeds)."""
    if rows and not any(metric in r for r in rows):  # a metric no run logs: a typo in the claim, not a subset
        raise ReproError(f"no results with metric {metric!r}; the runs log {sorted(k for k in rows[0] if '/' in k)}")
    rows = [r for r in select(rows, where) if metric in r and r[metric] is not None and r[metric] == r[metric]]
    if not rows:
        raise MissingRuns(f"no results with metric {metric!r} (where {where}); did the study run?")
    xs = sorted({r[x] for r in rows})
    groups = [[float(r[metric]) for r in rows if r[x] == v] for v in xs]
    return (np.array(xs, dtype=float), np.array([np.mean(g) for g in groups]),
            np.array([np.std(g) for g in groups]), np.array([len(g) for g in groups]))


def first_x_at_most(rows: list[dict], *, x: str, metric: str, threshold: float, where: dict | None = None):
    """The smallest x whose seed-mean ``metric`` is ≤ ``threshold`` (e.g. the smallest model that fits its
    training set), else None."""
    xs, mean, _, _ = curve(rows, x, metric, where)
    hit = np.flatnonzero(mean <= threshold)
    return float(xs[hit[0]]) if len(hit) else None


def load_history(run_dir: str | Path) -> History:
    """Every metric of ``<run_dir>/metrics.csv`` as (steps, values), in logged order (cached per file version)."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        raise ReproError(f"no history at {path}; did the run finish?")
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _CACHE:
        cols: dict[str, tuple[list, list]] = {}
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if not row.get("step"):
                    continue
                step = int(float(row["step"]))
                for name, value in row.items():
                    if value not in ("", None) and name not in ("step", "epoch"):
                        s, v = cols.setdefault(name, ([], []))
                        s.append(step)
                        v.append(float(value))
        _CACHE[key] = {k: (np.array(s), np.array(v)) for k, (s, v) in cols.items()}
    return _CACHE[key]


def metric_of(row: dict, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """One row's per-step history of ``metric``: ``member{i}/<metric>`` for a member of a stacked run."""
    name = f"member{row['member']}/{metric}" if row.get("member") is not None else metric
    history = load_history(row["run_dir"])
    if name not in history:
        raise ReproError(f"{row['run_dir']}: no logged {name!r}; logged: {', '.join(sorted(history)) or 'nothing'}")
    return history[name]


def read_history(run_dir: str | Path, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, value) of one metric from a run's CSV log (``<run_dir>/metrics.csv``)."""
    epochs, values = [], []
    with open(Path(run_dir) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get(metric):
                epochs.append(float(row["epoch"]))
                values.append(float(row[metric]))
    return np.array(epochs), np.array(values)


def mean_history(rows: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Seed-mean epoch history of ``metric`` over the given runs, truncated to the shortest."""
    if not rows:
        raise MissingRuns(f"no runs to read the history of {metric!r} from")
    hist = [read_history(r["run_dir"], metric) for r in rows]
    n = min(len(h[0]) for h in hist)
    if n == 0:
        raise ReproError(f"no history of {metric!r} in {[r['run_dir'] for r in rows]}")
    return hist[0][0][:n], np.mean([h[1][:n] for h in hist], axis=0)
