"""PoolFractions: where a classifier's decision boundary lies, as the share of fixed input pools it assigns to one
class, logged at chosen epochs.

Any datamodule with a ``pools`` dict (name → model-ready inputs, e.g. ``repro.data.binary.BinarySubsetDataModule``:
in-domain test images, other classes' images, uniform noise) can be probed. At each evaluation epoch the module is
put in eval mode (dropout off, batch norm on its running statistics) and, for every stacked member,

- ``pools/<name>_frac``: the fraction of pool ``<name>`` whose argmax is ``target_class``;
- ``pools/train_accuracy``: accuracy on the training split (whether the data are separated yet);

are logged per member (``member<i>/pools/...``) with ``pools/epoch`` (the 1-based epoch) in the same record.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch

__all__ = ["PoolFractions", "log_spaced_epochs"]


def log_spaced_epochs(max_epochs: int, *, per_decade: int = 10, first: int = 10, tail: int = 0) -> list[int]:
    """Epochs 1..``first``, ``per_decade`` log-spaced epochs per decade up to ``max_epochs``, the last ``tail``
    epochs, and ``max_epochs`` itself (sorted, 1-based)."""
    if max_epochs < 1 or per_decade < 1 or first < 0 or tail < 0:
        raise ValueError(f"log_spaced_epochs needs max_epochs, per_decade >= 1 and first, tail >= 0; got "
                         f"{max_epochs}, {per_decade}, {first}, {tail}")
    epochs = set(range(1, min(first, max_epochs) + 1)) | {max_epochs}
    epochs |= set(range(max(1, max_epochs - tail + 1), max_epochs + 1))
    k = 0
    while (e := round(10 ** (k / per_decade))) <= max_epochs:
        epochs.add(e)
        k += 1
    return sorted(epochs)


class PoolFractions(pl.Callback):
    """Logs, at ``epochs`` (default: :func:`log_spaced_epochs` of the run's ``max_epochs`` with ``tail``), the share
    of each of the datamodule's pools predicted as ``target_class``, and the training accuracy, per member.

    ``batch_size``: inputs per forward pass (default: the datamodule's ``eval_batch_size``, else 4096); a stacked
    model runs every member on each chunk, so its activations are members × chunk."""

    def __init__(self, *, target_class: int = 1, epochs: list[int] | None = None, per_decade: int = 10,
                 tail: int = 20, batch_size: int | None = None) -> None:
        self.target_class, self.batch_size = target_class, batch_size
        self.epochs, self.per_decade, self.tail = epochs, per_decade, tail
        self._due: set[int] = set()

    def on_fit_start(self, trainer, pl_module) -> None:
        epochs = self.epochs or log_spaced_epochs(trainer.max_epochs, per_decade=self.per_decade, tail=self.tail)
        self._due = set(epochs)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if epoch not in self._due or trainer.sanity_checking:
            return
        values = self.measure(trainer.datamodule, pl_module)
        epoch_value = torch.tensor(float(epoch))
        pl_module.log_members(values, shared={"pools/epoch": epoch_value})

    @torch.no_grad()
    def measure(self, datamodule, pl_module) -> dict[str, torch.Tensor]:
        """``{pools/<name>_frac: (M,), pools/train_accuracy: (M,)}`` in eval mode (a single model gives (1,))."""
        size = self.batch_size or getattr(datamodule, "eval_batch_size", None) or 4096
        was_training = pl_module.training
        pl_module.eval()
        try:
            out = {f"pools/{name}_frac": (self._predict(pl_module, x, size) == self.target_class).float().mean(-1)
                   for name, x in getattr(datamodule, "pools", {}).items()}
            train = datamodule.splits["train"]
            x = datamodule.normalize(train["x"])
            out["pools/train_accuracy"] = (self._predict(pl_module, x, size) == train["y"]).float().mean(-1)
        finally:
            pl_module.train(was_training)
        return out if pl_module.stacked else {k: v[0] for k, v in out.items()}

    def _predict(self, pl_module, x: torch.Tensor, size: int) -> torch.Tensor:
        """Predicted classes, (M, N)."""
        dtype = next(pl_module.parameters()).dtype
        parts = []
        for i in range(math.ceil(len(x) / size)):
            chunk = x[i * size:(i + 1) * size].to(pl_module.device, dtype)
            parts.append(pl_module.member_axis(pl_module(chunk)).argmax(-1))
        return torch.cat(parts, -1)
