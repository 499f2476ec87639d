"""A callback for the DDP test: each rank writes the training indices it saw (importable by rank 1's process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl


class RecordIndices(pl.Callback):
    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.seen: dict[int, list[int]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen.setdefault(trainer.current_epoch, []).extend(batch["index"].tolist())

    def on_train_end(self, trainer, pl_module) -> None:
        path = Path(self.out_dir) / f"rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"world_size": trainer.world_size, "seen": self.seen}))
