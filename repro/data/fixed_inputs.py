"""A split's inputs exactly as a model sees them in evaluation: every example, in order, normalised like the
loaders do, never augmented — for measurements over a fixed set of images (activation statistics, a frozen
teacher's outputs)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from repro.errors import ReproError

__all__ = ["split_inputs"]


def split_inputs(datamodule, split: str = "train", *, batch_size: int = 2048, device: torch.device | None = None,
                 dtype: torch.dtype | None = None) -> Iterator[torch.Tensor]:
    """Batches of ``datamodule.splits[split]["x"]`` (a ``TensorDataModule``), normalised by its ``normalize``."""
    splits = getattr(datamodule, "splits", None)
    if splits is None:
        raise ReproError(f"{type(datamodule).__name__} holds no tensor splits; measurements over a fixed set of "
                         "inputs need a repro.data.core.TensorDataModule")
    if not splits and hasattr(datamodule, "setup"):
        datamodule.setup("fit")
    if split not in splits:
        raise ReproError(f"the datamodule has no {split!r} split (it has {sorted(splits)})")
    x = splits[split]["x"]
    normalize = getattr(datamodule, "normalize", None)
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        batch = normalize(batch) if normalize is not None else batch
        yield batch.to(device=device or batch.device, dtype=dtype or batch.dtype)
