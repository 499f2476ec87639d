"""A callback for the W&B resume test: SIGKILLs its own process at a given step (``REPRO_TEST_KILL_AT``), before
that step's checkpoint, as a crash would."""

from __future__ import annotations

import os
import signal

import pytorch_lightning as pl


class KillAt(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = os.environ.get("REPRO_TEST_KILL_AT")
        if step and trainer.global_step == int(step):
            os.kill(os.getpid(), signal.SIGKILL)
