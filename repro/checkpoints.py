"""Checkpoints written atomically: the whole file goes to a temporary name beside the target, is synced, then
renamed over it, so a kill or a full disk mid-save leaves the previous checkpoint intact (resume needs one that
loads)."""

from __future__ import annotations

import io
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from repro.atomic import atomic_path

__all__ = ["AtomicCheckpointIO"]


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        # serialised in memory first: torch's zip writer reports a full disk as a bare RuntimeError ("unexpected
        # pos"), a plain file write reports it as the OSError (ENOSPC / EFBIG) the study runner explains
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(buffer.getbuffer())
