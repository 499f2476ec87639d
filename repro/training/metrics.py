"""Per-split evaluation metrics of the shared loop, under one naming convention for every paper.

``<split>/accuracy`` and ``<split>/error`` (= 1 − accuracy) against the training labels (possibly noisy),
``<split>/loss`` (cross-entropy against them), ``train/error_clean`` against the clean labels; with
per-class metrics ``<split>/balanced_error``, ``<split>/accuracy_class<j>`` and
``<split>/accuracy_{head,medium,tail}`` (against the clean labels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

__all__ = ["SplitMetrics", "per_class_summary"]


class SplitMetrics(nn.Module):
    """Accuracy and loss of one evaluated split, against the training labels and the clean labels."""

    def __init__(self, num_classes: int, per_class: bool = False) -> None:
        super().__init__()
        self.class_accuracy = MulticlassAccuracy(num_classes, average=None) if per_class else None
        self.accuracy = MulticlassAccuracy(num_classes, average="micro")
        self.accuracy_clean = MulticlassAccuracy(num_classes, average="micro")
        self.loss = MeanMetric()

    def update(self, logits: torch.Tensor, y: torch.Tensor, y_clean: torch.Tensor) -> None:
        self.accuracy.update(logits, y)
        self.accuracy_clean.update(logits, y_clean)
        if self.class_accuracy is not None:
            self.class_accuracy.update(logits, y_clean)
        self.loss.update(F.cross_entropy(logits.float(), y, reduction="none"))

    def compute(self) -> dict[str, torch.Tensor]:
        accuracy = self.accuracy.compute()
        out = {"accuracy": accuracy, "error": 1 - accuracy, "error_clean": 1 - self.accuracy_clean.compute(),
               "loss": self.loss.compute()}
        if self.class_accuracy is not None:
            out["class_accuracy"] = self.class_accuracy.compute()
        return out

    def reset(self) -> None:
        for m in (self.accuracy, self.accuracy_clean, self.loss, self.class_accuracy):
            if m is not None:
                m.reset()


def per_class_summary(split: str, class_accuracy: torch.Tensor) -> dict[str, float]:
    """``<split>/balanced_error`` (1 − mean per-class accuracy), ``<split>/accuracy_class<j>`` and
    ``<split>/accuracy_{head,medium,tail}``: the first, middle and last thirds of the classes by index (class 0
    is the head of a long-tailed split)."""
    acc = [float(a) for a in class_accuracy]
    c, k = len(acc), max(len(acc) // 3, 1)
    out = {f"{split}/balanced_error": 1 - sum(acc) / c}
    out.update({f"{split}/accuracy_class{j}": a for j, a in enumerate(acc)})
    groups = {"head": acc[:k], "medium": acc[k : c - k] or acc[k:], "tail": acc[c - k :]}
    out.update({f"{split}/accuracy_{g}": sum(v) / len(v) for g, v in groups.items()})
    return out
