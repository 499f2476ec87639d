"""Manifold Mixup's own claim types, named in its study YAMLs by import path; the generic checks (``less_than``,
``within``, ...) are the shared ones (``repro.studies.claims``).

- :func:`ratio_at_most` — mean(metric | a) / mean(metric | b) over the seeds both arms ran, with a 95% bootstrap
  interval over seeds (a seed's two arms resampled together) whose high end must be ≤ value (e.g. the flattening
  of a representation relative to no mixup);
- :func:`ordered_in_every_cell` — in every cell of the paper's tables (dataset × network), the metric increases
  along ``order`` (e.g. error: manifold < input < none): each neighbouring pair's gap, paired by seed, has a 95%
  interval over seeds above 0;
- :func:`lowest_in_every_cell` — in every cell, one method's metric is below every other method's in the same sense
  (e.g. NLL: manifold below input and none; the paper's NLL does not order input and none the same way in every
  row).
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


def _cell_gaps(rows, metric: str, methods: Sequence[str], pairs, cells: Sequence[str], key: str, claim: str):
    """{cell values: ({method: seed mean}, {(lower, higher): Interval of higher − lower})} over every cell
    combination present in the rows; a gap is over the seeds both methods ran in that cell (paired by seed)."""
    combos = sorted({tuple(str(r.get(c)) for c in cells) for r in rows if key in r})
    if not combos:
        raise MissingRuns(f"{claim}: no results with {key}")
    out = {}
    for combo in combos:
        sel = [r for r in rows if all(str(r.get(c)) == v for c, v in zip(cells, combo, strict=True))]
        by = {m: {r.get("seed"): float(r[metric]) for r in select(sel, {key: m}) if r.get(metric) is not None}
              for m in methods}
        means = {m: float(values_of(sel, metric, {key: m}, claim).mean()) for m in methods}
        gaps = {}
        for low, high in pairs:
            seeds = sorted(set(by[low]) & set(by[high]), key=str)
            if not seeds:
                raise MissingRuns(f"{claim}: no seed with {metric!r} for both {low} and {high} in {combo}")
            gaps[low, high] = seed_interval([by[high][s] - by[low][s] for s in seeds])
        out[combo] = (means, gaps)
    return out


def ordered_in_every_cell(rows, *, metric: str, order: Sequence[str], cells: Sequence[str] = (),
                          key: str = "method", min_cells: int = 1, name: str | None = None) -> ClaimResult:
    """In every cell (combination of the ``cells`` grid keys), ``metric`` increases along ``order``: each
    neighbouring pair's gap (paired by seed) has a 95% interval over seeds above 0; at least ``min_cells`` cells
    must have been run."""
    pairs = list(zip(order, order[1:], strict=False))
    cells_ = _cell_gaps(rows, metric, order, pairs, cells, key, "ordered_in_every_cell")
    return _verdict(name or f"{metric}: {' < '.join(order)} in every cell", " < ".join(order), cells_, min_cells,
                    order)


def lowest_in_every_cell(rows, *, metric: str, lowest: str, others: Sequence[str], cells: Sequence[str] = (),
                         key: str = "method", min_cells: int = 1, name: str | None = None) -> ClaimResult:
    """In every cell, ``metric`` of ``lowest`` is below that of each of ``others``: each gap (other − lowest,
    paired by seed) has a 95% interval over seeds above 0."""
    methods = [lowest, *others]
    cells_ = _cell_gaps(rows, metric, methods, [(lowest, o) for o in others], cells, key, "lowest_in_every_cell")
    return _verdict(name or f"{metric}: {lowest} lowest in every cell", f"{lowest} < {', '.join(others)}", cells_,
                    min_cells, methods)


def _verdict(name: str, relation: str, cells: dict, min_cells: int, methods) -> ClaimResult:
    held = {c: all(iv.low > 0 for iv in gaps.values()) for c, (_, gaps) in cells.items()}
    failed = [" ".join(c) for c, ok in held.items() if not ok]

    def shown(c) -> str:
        means, gaps = cells[c]
        return (f"{' '.join(c) or 'all'}: " + ", ".join(f"{m} {means[m]:.4g}" for m in methods) + " (gaps "
                + ", ".join(f"{h} − {lo} {iv.text('+.3g')}" for (lo, h), iv in gaps.items()) + ")")

    measured = f"{sum(held.values())}/{len(held)} cells hold" + (f" (fails: {', '.join(failed)})" if failed else "")
    return ClaimResult(name, f"{relation} in each of ≥ {min_cells} cells (each gap's 95% CI over seeds > 0)",
                       f"{measured}; " + "; ".join(shown(c) for c in cells), not failed and len(held) >= min_cells,
                       {"cells": {" ".join(c): means for c, (means, _) in cells.items()},
                        "gaps": {" ".join(c): {f"{h} − {lo}": iv.values() for (lo, h), iv in gaps.items()}
                                 for c, (_, gaps) in cells.items()},
                        "held": int(np.sum(list(held.values())))})
