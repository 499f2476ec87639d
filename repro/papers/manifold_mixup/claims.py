"""Manifold Mixup's own claim types, named in its study YAMLs by import path; the generic checks (``less_than``,
``within``, ...) are the shared ones (``repro.studies.claims``).

- :func:`ratio_at_most` — mean(metric | a) / mean(metric | b) over the seeds both arms ran, with a 95% bootstrap
  interval over seeds (a seed's two arms resampled together) whose high end must be ≤ value (e.g. the flattening
  of a representation relative to no mixup);
- :func:`ordered_in_every_cell` — in every cell of the paper's tables (dataset × network), the seed-mean metric of
  the methods strictly increases along ``order`` (e.g. error: manifold < input < none);
- :func:`lowest_in_every_cell` — in every cell, one method's seed-mean metric is below every other method's (e.g.
  NLL: manifold below input and none; the paper's NLL does not order input and none the same way in every row).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repro.studies.claims import ClaimResult, values_of, where_text
from repro.studies.results import MissingRuns, select
from repro.studies.stats import seed_interval

__all__ = ["lowest_in_every_cell", "ordered_in_every_cell", "ratio_at_most"]


def ratio_at_most(rows, *, metric: str, a: dict, b: dict, value: float, name: str | None = None) -> ClaimResult:
    """mean(``metric`` of rows ``a``) / mean(``metric`` of rows ``b``) over the seeds both have: the high end of its
    95% interval over seeds (paired: a resampled seed brings both arms) is ≤ ``value``."""
    ma = {r.get("seed"): float(r[metric]) for r in select(rows, a) if r.get(metric) is not None}
    mb = {r.get("seed"): float(r[metric]) for r in select(rows, b) if r.get(metric) is not None}
    seeds = sorted(set(ma) & set(mb), key=str)
    if not seeds:
        raise MissingRuns(f"ratio_at_most: no seed with {metric!r} in both {a} and {b}")
    pairs = np.array([[ma[s], mb[s]] for s in seeds])

    def ratio(sample: np.ndarray) -> float:
        den = float(sample[:, 1].mean())
        return float(sample[:, 0].mean()) / den if den else float("inf")

    iv = seed_interval(pairs, statistic=ratio)
    return ClaimResult(name or f"{metric}: {where_text(a)} / {where_text(b)} ≤ {value:g}",
                       f"{where_text(a)} / {where_text(b)} of seed means: 95% interval ≤ {value:g}",
                       f"{pairs[:, 0].mean():.4g} / {pairs[:, 1].mean():.4g} = {iv.text('.3f')}", iv.high <= value,
                       {"a": float(pairs[:, 0].mean()), "b": float(pairs[:, 1].mean()), "ratio": iv.estimate,
                        "effect": iv.estimate, "ci": [iv.low, iv.high], "n": iv.n})


def _cell_means(rows, metric: str, methods: Sequence[str], cells: Sequence[str], key: str, claim: str):
    """{cell values: {method: seed mean}} over every cell combination present in the rows."""
    combos = sorted({tuple(str(r.get(c)) for c in cells) for r in rows if key in r})
    if not combos:
        raise MissingRuns(f"{claim}: no results with {key}")
    out = {}
    for combo in combos:
        where = {c: v for c, v in zip(cells, combo, strict=True)}
        sel = [r for r in rows if all(str(r.get(c)) == v for c, v in where.items())]
        out[combo] = {m: float(values_of(sel, metric, {key: m}, claim).mean()) for m in methods}
    return out


def ordered_in_every_cell(rows, *, metric: str, order: Sequence[str], cells: Sequence[str] = (),
                          key: str = "method", min_cells: int = 1, name: str | None = None) -> ClaimResult:
    """In every cell (combination of the ``cells`` grid keys), mean ``metric`` strictly increases along ``order``;
    at least ``min_cells`` cells must have been run."""
    means = _cell_means(rows, metric, order, cells, key, "ordered_in_every_cell")
    held = {c: all(m[a] < m[b] for a, b in zip(order, order[1:], strict=False)) for c, m in means.items()}
    return _verdict(name or f"{metric}: {' < '.join(order)} in every cell", " < ".join(order), means, held,
                    min_cells, order)


def lowest_in_every_cell(rows, *, metric: str, lowest: str, others: Sequence[str], cells: Sequence[str] = (),
                         key: str = "method", min_cells: int = 1, name: str | None = None) -> ClaimResult:
    """In every cell, mean ``metric`` of ``lowest`` is below that of each of ``others``."""
    methods = [lowest, *others]
    means = _cell_means(rows, metric, methods, cells, key, "lowest_in_every_cell")
    held = {c: all(m[lowest] < m[o] for o in others) for c, m in means.items()}
    return _verdict(name or f"{metric}: {lowest} lowest in every cell", f"{lowest} < {', '.join(others)}", means,
                    held, min_cells, methods)


def _verdict(name: str, relation: str, means: dict, held: dict, min_cells: int, methods) -> ClaimResult:
    failed = [" ".join(c) for c, ok in held.items() if not ok]
    shown = "; ".join(f"{' '.join(c) or 'all'}: " + ", ".join(f"{m} {means[c][m]:.4g}" for m in methods)
                      for c in means)
    measured = f"{sum(held.values())}/{len(held)} cells hold" + (f" (fails: {', '.join(failed)})" if failed else "")
    return ClaimResult(name, f"{relation} in each of ≥ {min_cells} cells", f"{measured}; {shown}",
                       not failed and len(held) >= min_cells,
                       {"cells": {" ".join(c): m for c, m in means.items()}, "held": int(np.sum(list(held.values())))})
