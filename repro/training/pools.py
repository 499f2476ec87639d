"""PoolFractions: where a classifier's decision boundary lies, as the share of fixed input pools it assigns to one
class, logged at chosen epochs.

Any datamodule with a ``pools`` dict (name → model-ready inputs, e.g. ``repro.data.binary.BinarySubsetDataModule``:
in-domain test images, other classes' images, uniform noise) can be probed. At each evaluation epoch the module is
put in eval mode (dropout off, batch norm on its running statistics) and, for every stacked member,

- ``pools/<name>_frac``: the fraction of pool ``<name>`` whose argmax is ``target_class``;
- ``pools/train_accuracy``: accuracy on the training split (whether the data are separated yet);

are logged per member (``member<i>/pools/...``) with ``pools/epoch`` (the 1-based epoch) in the same record.
Under ``Trainer(fast_dev_run=...)`` only the first chunk of each pool is evaluated, as Lightning runs only one
batch of each loop: a smoke run of a paper-size stack on a CPU then takes seconds, not many minutes.
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
        values = self.measure(trainer.datamodule, pl_module, max_chunks=1 if trainer.fast_dev_run else None)
        epoch_value = torch.tensor(float(epoch))
        pl_module.log_members(values, shared={"pools/epoch": epoch_value})

    @torch.no_grad()
    def measure(self, datamodule, pl_module, max_chunks: int | None = None) -> dict[str, torch.Tensor]:
        """``{pools/<name>_frac: (M,), pools/train_accuracy: (M,)}`` in eval mode (a single model gives (1,));
        ``max_chunks`` evaluates only the first chunks of each pool (a smoke run)."""
        size = self.batch_size or getattr(datamodule, "eval_batch_size", None) or 4096
        was_training = pl_module.training
        pl_module.eval()
        try:
            out = {f"pools/{name}_frac":
                   (self._predict(pl_module, x, size, max_chunks) == self.target_class).float().mean(-1)
                   for name, x in getattr(datamodule, "pools", {}).items()}
            train = datamodule.splits["train"]
            x = datamodule.normalize(train["x"])
            predicted = self._predict(pl_module, x, size, max_chunks)
            out["pools/train_accuracy"] = (predicted == train["y"][:predicted.shape[-1]]).float().mean(-1)
        finally:
            pl_module.train(was_training)
        return out if pl_module.stacked else {k: v[0] for k, v in out.items()}

    def _predict(self, pl_module, x: torch.Tensor, size: int, max_chunks: int | None = None) -> torch.Tensor:
        """Predicted classes, (M, N) (N = the first ``max_chunks`` × ``size`` inputs when given)."""
        dtype = next(pl_module.parameters()).dtype
        parts = []
        chunks = math.ceil(len(x) / size)
        for i in range(chunks if max_chunks is None else min(chunks, max_chunks)):
            chunk = x[i * size:(i + 1) * size].to(pl_module.device, dtype)
            parts.append(pl_module.member_axis(pl_module(chunk)).argmax(-1))
        return torch.cat(parts, -1)
