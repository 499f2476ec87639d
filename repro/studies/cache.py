"""A run folder's cached state, read defensively: what a kill, a full disk or a second process can leave behind is
detected, named in one warning line, moved aside (never deleted: ``<file>.corrupt-<time>``) and recovered from.

- ``result.json`` that does not parse: the run is trained again (resumed from its checkpoint when that is good,
  so a finished run only re-runs its final evaluation).
- ``checkpoints/last.ckpt`` that does not load: the run starts over.
- ``metrics.csv`` with a torn last line (a kill mid-append): the partial line is dropped before the run resumes.
- A run folder is trained by one process at a time (``.lock``, ``filelock``); a second study process that finds
  it locked waits for the first to finish instead of training it twice.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from repro.atomic import write_bytes

__all__ = ["RunLocked", "checkpoint_ok", "lock", "quarantine", "read_result", "repair_history", "wait_for"]

RESULT_KEYS = ("name", "hash", "overrides", "metrics", "seconds")


class RunLocked(RuntimeError):
    """Another process is training this run right now."""


def quarantine(path: Path, reason: str) -> Path:
    """Move a damaged file aside as ``<name>.corrupt-<time>`` and say so in one line."""
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.replace(target)
    print(f"repro: warning: {path} {reason}; moved aside to {target.name}, the run is redone from what is still "
          "good", file=sys.stderr)
    return target


def read_result(run_dir: Path) -> dict | None:
    """The run's result, or None when it has none yet — or only a damaged one, which is moved aside."""
    path = run_dir / "result.json"
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
        if not isinstance(result, dict) or any(k not in result for k in RESULT_KEYS):
            raise ValueError(f"missing {[k for k in RESULT_KEYS if k not in result]}")
        return result
    except (ValueError, UnicodeDecodeError) as err:
        quarantine(path, f"cannot be read ({type(err).__name__}: {str(err)[:80]})")
        return None


def checkpoint_ok(path: Path) -> bool:
    """Whether a checkpoint loads (memory-mapped, so a large one is not read through); a damaged one is moved
    aside and the run starts over."""
    import torch

    try:
        torch.load(path, map_location="cpu", mmap=True, weights_only=False)
        return True
    except Exception as err:  # a truncated zip, a torn pickle, a wrong magic: torch raises several types
        quarantine(path, f"does not load ({type(err).__name__}: {str(err)[:80]})")
        return False


def repair_history(path: Path) -> None:
    """Drop a torn last line of a CSV history (a kill mid-append leaves one without its newline), atomically."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    keep = data[: data.rfind(b"\n") + 1]
    write_bytes(path, keep)
    print(f"repro: warning: {path} ended in a partial line (an interrupted write); dropped it", file=sys.stderr)


def lock(run_dir: Path) -> FileLock:
    """The run folder's lock (released by the operating system if its holder dies)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(run_dir / ".lock"))


def acquire_or_raise(run_dir: Path) -> FileLock:
    """This run's lock, held; :class:`RunLocked` when another process holds it."""
    held = lock(run_dir)
    try:
        held.acquire(timeout=0)
    except Timeout as err:
        raise RunLocked(f"{run_dir.name} is being trained by another process") from err
    return held


def wait_for(run_dir: Path) -> None:
    """Block until no other process trains this run."""
    with lock(run_dir):
        pass
