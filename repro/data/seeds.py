"""One seed per run drives every random draw of its data: the run's ``seed_everything`` (which Lightning exports
as ``PL_GLOBAL_SEED`` before the datamodule is built) is the root, and each draw — the training subset and
validation split, the long-tailed subsample, the epoch order and augmentation, a redrawn label noise — gets its
own stream derived from it, so two draws never share a random sequence. An explicit per-draw seed in the config
(``data.init_args.split_seed: 3``) pins that draw across the run seeds."""

from __future__ import annotations

import hashlib
import os

__all__ = ["draw_seed", "run_seed"]


def run_seed() -> int:
    """The run's seed (``seed_everything``), or 0 when no seed was set."""
    value = os.environ.get("PL_GLOBAL_SEED")
    return int(value) if value not in (None, "") else 0


def draw_seed(explicit: int | None, purpose: str) -> int:
    """``explicit`` when the config pins it, else a seed derived from the run seed for this ``purpose``."""
    if explicit is not None:
        return int(explicit)
    digest = hashlib.sha256(f"{run_seed()}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
