"""Read an offline W&B run folder (``<run_dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb``) without uploading it.

wandb 0.31 writes runs through its Go service and no longer ships a Python reader of its transaction log, so this
reads the log's framing (a LevelDB-style log: a 7-byte file header, then records in 32 KiB blocks, each record a
``wandb_internal_pb2.Record`` protobuf split into FULL / FIRST / MIDDLE / LAST chunks) and decodes each record with
wandb's own protobuf classes.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OfflineRun", "offline_runs", "read_offline_run", "read_records"]

BLOCK = 32 * 1024
HEADER = 7


def read_records(path: Path):
    """The protobuf records of a ``.wandb`` file, in order."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B transaction log")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos: pos + HEADER])
        payload, pos = data[pos + HEADER: pos + HEADER + length], pos + HEADER + length
        if kind == 0 and length == 0:
            continue
        if kind in (1, 4):  # FULL, LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + payload)
            pending = b""
            yield record
        else:  # FIRST, MIDDLE
            pending += payload


def _items(items) -> dict:
    return {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}


@dataclass
class OfflineRun:
    folder: Path
    id: str = ""
    project: str = ""
    group: str = ""
    name: str = ""
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    finished: bool = False


def read_offline_run(folder: Path, wait: float = 0.0) -> OfflineRun:
    """One offline run: its identity, config, summary and history rows. ``wait`` seconds for its exit record (W&B's
    service may still be writing the log when ``finish`` returns)."""
    folder = Path(folder)
    files = sorted(folder.glob("run-*.wandb"))
    if not files:
        raise ValueError(f"{folder} holds no run-*.wandb file")
    deadline = time.time() + wait
    while True:
        run = OfflineRun(folder)
        for rec in read_records(files[0]):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                run.id, run.project, run.group = rec.run.run_id, rec.run.project, rec.run.run_group
                run.name = rec.run.display_name
                run.config.update(_items(rec.run.config.update))
            elif kind == "config":
                run.config.update(_items(rec.config.update))
            elif kind == "history":
                run.history.append(_items(rec.history.item))
            elif kind == "summary":
                run.summary.update(_items(rec.summary.update))
            elif kind == "exit":
                run.finished = True
        if run.finished or time.time() >= deadline:
            return run
        time.sleep(0.5)


def offline_runs(root: Path) -> list[Path]:
    """Every offline run folder under ``root`` (``**/wandb/offline-run-*``), oldest first."""
    return sorted(Path(root).glob("**/wandb/offline-run-*"), key=lambda p: p.name)
