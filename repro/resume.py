"""Exact resume: a run stopped at any step and restarted from its ``last.ckpt`` trains on the same batches, with the
same random draws, as the run that never stopped.

Three pieces, each a Lightning callback or interface:

* :class:`RunCheckpoint` writes ``last.ckpt`` every few minutes and at the end of training. A save that falls
  mid-epoch is taken at the end of a training batch (the state Lightning's mid-epoch restart expects) and written at
  the start of the next one, after Lightning has logged that batch, with the length of the history on disk (flushed
  first), which a resume truncates ``metrics.csv`` to; a save due at an epoch's last batch waits for the epoch's end
  (after its validation). Saves are atomic (``AtomicCheckpointIO``).
* :class:`RngState` puts every random generator a run draws from (torch CPU and CUDA, numpy, python) into the
  checkpoint and sets them back just before the first training step after a resume.
* :class:`ResumableOrder`: the data loaders' ``state_dict``/``load_state_dict`` (Lightning's stateful-dataloader
  interface): the epoch and the batches of it already trained, so a resumed epoch continues where it stopped.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from repro.tracking import HISTORY_ROWS, history_rows

__all__ = ["ResumableOrder", "RngState", "RunCheckpoint", "trained_batches"]


def trained_batches(trainer: pl.Trainer | None) -> Callable[[], int]:
    """How many batches of the current epoch the trainer has trained (not merely fetched: Lightning fetches one
    ahead)."""
    if trainer is None:
        return lambda: 0
    return lambda: trainer.fit_loop.epoch_loop.batch_progress.current.processed


class ResumableOrder:
    """Lightning's stateful-dataloader interface for a loader whose order is a function of (seed, epoch): the state
    is the epoch and the batches of it trained; after :meth:`load_state_dict` the next iteration over that epoch
    starts at the first untrained batch (:meth:`resume_from`)."""

    epoch_fn: Callable[[], int]
    done_fn: Callable[[], int] = staticmethod(lambda: 0)
    _resume: tuple[int, int] | None = None

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self.epoch_fn()), "batches": int(self.done_fn())}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume = (int(state["epoch"]), int(state["batches"]))

    def resume_from(self, epoch: int, length: int) -> int:
        """The first batch to yield in ``epoch`` (0 unless this iteration resumes a partly trained epoch)."""
        if self._resume is None:
            return 0
        saved_epoch, batches = self._resume
        self._resume = None
        return batches if saved_epoch == epoch and batches < length else 0


def _rng_states() -> dict[str, Any]:
    """Plain tensors, lists and numbers only: a checkpoint loads with ``torch.load(weights_only=True)``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    numpy_state = [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)]
    states = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RngState(pl.Callback):
    """Saves the global random generators with each checkpoint and restores them right before the first training
    batch after a resume: nothing between the restore and the step draws from them. Under DDP Lightning writes rank
    0's checkpoint, so every rank resumes with rank 0's generators (the same as its own while the ranks draw alike
    from one seed; resume under DDP is not tested on this project's machines)."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return _rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._pending is not None:
            _set_rng_states(self._pending)
            self._pending = None


class RunCheckpoint(ModelCheckpoint):
    """``<dirpath>/last.ckpt`` every ``minutes`` of training and at its end (see the module docstring for when it is
    taken). A ModelCheckpoint for the rest of Lightning (``ckpt_path="last"`` finds it, W&B uploads it) whose saving
    hooks are these."""

    def __init__(self, dirpath: str | Path, minutes: float) -> None:
        super().__init__(dirpath=dirpath, save_last=True, save_top_k=0)
        self.interval = minutes * 60
        self._last = time.monotonic()
        self._pending: dict | None = None
        self._rows: int | None = None

    @property
    def last_path(self) -> Path:
        return Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"

    def on_validation_end(self, trainer, pl_module) -> None:
        pass  # saves happen at batch and epoch ends only (ModelCheckpoint would save here)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[HISTORY_ROWS] = self._rows

    def _due(self, trainer: pl.Trainer) -> bool:
        due = time.monotonic() - self._last >= self.interval
        return bool(trainer.strategy.broadcast(due))  # every rank saves, or none

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        last_of_epoch = batch_idx + 1 >= trainer.num_training_batches
        if last_of_epoch or trainer.sanity_checking or not self._due(trainer):
            return
        # a copy now (the next optimizer step changes the weights), written once this batch's logs are flushed
        self._pending = copy.deepcopy(trainer._checkpoint_connector.dump_checkpoint(weights_only=False))
        self._last = time.monotonic()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._pending is not None:
            checkpoint, self._pending = self._pending, None

            def write() -> None:
                checkpoint[HISTORY_ROWS] = self._rows
                trainer.strategy.save_checkpoint(checkpoint, self.last_path)
                trainer.strategy.barrier("RunCheckpoint")

            self._save(trainer, write)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._pending = None
        if not trainer.sanity_checking and self._due(trainer):
            self._save(trainer, lambda: trainer.save_checkpoint(self.last_path))

    def on_train_end(self, trainer, pl_module) -> None:
        """The final weights, always (a short run has no other checkpoint; a rerun finds the fit done)."""
        self._pending = None
        self._save(trainer, lambda: trainer.save_checkpoint(self.last_path))

    def _save(self, trainer: pl.Trainer, write: Callable[[], Any]) -> None:
        """The history first (a kill between the two leaves a history that reaches the previous checkpoint), then
        the checkpoint, then the loggers' own reaction to it (an online W&B run uploads it with log_checkpoints)."""
        for logger in trainer.loggers:
            logger.save()
        self._rows = history_rows(trainer)
        write()
        self.last_model_path = str(self.last_path)
        self._last_global_step_saved = trainer.global_step
        for logger in trainer.loggers:
            logger.after_save_checkpoint(self)
        self._last = time.monotonic()
