"""ClassCapDataModule: a :class:`~repro.data.core.TensorDataModule` that keeps at most ``max_per_class`` training
examples of each class.

The cap takes the first examples of each class in the split's seeded random order, so it is a random per-class
subset drawn from the run seed (``repro.data.seeds``): with a cap below every class's count it is a stratified
subsample (e.g. 200 per class), with a cap above some classes' counts it trims only the larger classes (the
``labels_per_class`` option of some original codes, e.g. 7,325 per class of SVHN's 73,257 training images).
"""

from __future__ import annotations

import torch

from repro.data.core import TensorDataModule
from repro.data.noise import noise_summary
from repro.errors import ConfigValueError

__all__ = ["ClassCapDataModule", "first_per_class"]


def first_per_class(labels: torch.Tensor, cap: int) -> torch.Tensor:
    """Positions of the first ``cap`` examples of each class, in their original order."""
    labels = labels.cpu()
    rank = torch.zeros_like(labels)
    for c in labels.unique():
        where = labels == c
        rank[where] = torch.arange(int(where.sum()))
    return torch.nonzero(rank < cap).flatten()


class ClassCapDataModule(TensorDataModule):
    """Args: ``max_per_class`` (``None`` keeps every example) and :class:`TensorDataModule`'s. The cap applies to the
    training split after ``train_size``, the validation split and any imbalance; the test split is untouched."""

    def __init__(self, source: str = "digits", *, max_per_class: int | None = None, **kwargs) -> None:
        if max_per_class is not None and (isinstance(max_per_class, bool) or max_per_class < 1):
            raise ConfigValueError(f"data.init_args.max_per_class must be >= 1 (or null for no cap), got "
                                   f"{max_per_class!r}")
        super().__init__(source, **kwargs)
        self.max_per_class = max_per_class

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        super().setup(stage)
        if self.max_per_class is None:
            return
        train = self.splits["train"]
        keep = first_per_class(train["y_clean"], self.max_per_class).to(train["y"].device)
        self.splits["train"] = {k: v[keep] for k, v in train.items()}
        self.noise = noise_summary(self.splits["train"]["y_clean"], self.splits["train"]["y"], self.num_classes)
