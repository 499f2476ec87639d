"""two_moons: two interleaved half-circles in 2-D (``repro.data.synthetic``), generated with fixed seeds."""

from __future__ import annotations

from repro.data.sources.registry import SourceInfo, Split, register

TWO_MOONS_TRAIN, TWO_MOONS_TEST = 1000, 500  # the tutorial's 1000 training points; a fresh draw for testing


def _load_two_moons(train: bool) -> Split:
    from repro.data.synthetic import two_moons

    x, y = two_moons(TWO_MOONS_TRAIN, seed=0) if train else two_moons(TWO_MOONS_TEST, seed=1)
    return Split(x, y)


register(SourceInfo("two_moons", 2, (2,), False, False, None, None),
         lambda train, root, download: _load_two_moons(train))
