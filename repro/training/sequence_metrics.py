"""Split metrics for answers of several tokens (e.g. ``c`` and a closing ``<eos>``), under the shared names.

An example's logits are (K, C) and its target (K,): it counts as correct only when the argmax is right at every
one of the K positions, and its loss is the mean cross-entropy over them, so a split's ``loss`` is the mean over
all N·K answer tokens. Targets of one token, (N,), are :class:`~repro.training.metrics.SplitMetrics` unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from repro.training.metrics import SplitMetrics

__all__ = ["SequenceSplitMetrics"]


class SequenceSplitMetrics(SplitMetrics):
    """:class:`SplitMetrics` that also takes logits (N, K, C) with targets (N, K)."""

    def update(self, logits: torch.Tensor, y: torch.Tensor, y_clean: torch.Tensor) -> None:
        if y.dim() == 1:
            super().update(logits, y, y_clean)
            return
        pred = logits.argmax(-1)
        num_classes = logits.shape[-1]

        def as_class(target: torch.Tensor) -> torch.Tensor:
            # One class per example, right exactly when every position is: the accuracies then count sequences.
            return torch.where((pred == target).all(-1), target[:, 0], (target[:, 0] + 1) % num_classes)

        self.accuracy.update(as_class(y), y[:, 0])
        self.accuracy_clean.update(as_class(y_clean), y_clean[:, 0])
        if self.class_accuracy is not None:
            self.class_accuracy.update(as_class(y_clean), y_clean[:, 0])
        self.loss.update(F.cross_entropy(logits.float().transpose(1, -1), y, reduction="none").mean(-1))
