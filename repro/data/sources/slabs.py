"""Block datasets (``repro.data.slabs``): linear / k-slab / noise coordinates under a random rotation, drawn from
the run seed (no download).

Each name of ``BLOCK_SETS`` is a source of 50 000 training and 10 000 test rows (``data.init_args.train_size``
takes a subset); ``block_rotation(name)`` gives the run's rotation Q and the simple coordinates S, for
evaluations that work in the un-rotated basis.
"""

from __future__ import annotations

import torch

from repro.data.seeds import draw_seed
from repro.data.slabs import BLOCK_SETS, block_data
from repro.data.sources.registry import SourceInfo, Split, register

__all__ = ["BLOCK_TEST", "BLOCK_TRAIN", "block_rotation"]

BLOCK_TRAIN, BLOCK_TEST = 50_000, 10_000


def _data(name: str):
    return block_data(name, draw_seed(None, "block_data"), BLOCK_TRAIN, BLOCK_TEST)


def block_rotation(name: str) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The rotation Q (float64, d×d; rotated x = x·Q) of this run's draw of source ``name``, and S."""
    data = _data(name)
    return data.rotation, data.simple


def _load(name: str, train: bool) -> Split:
    data = _data(name)
    return Split(data.x_train, data.y_train) if train else Split(data.x_test, data.y_test)


for _name, _spec in BLOCK_SETS.items():
    register(SourceInfo(_name, 2, (_spec.dim,), False, False, None, None),
             lambda train, root, download, name=_name: _load(name, train))
