"""One run of a study, in a worker process or in-process: train it through ReproCLI exactly as ``repro fit``
would (resuming from ``checkpoints/last.ckpt`` when it was interrupted) and write its ``result.json``."""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

from repro.atomic import write_text
from repro.lightning_cli import ReproCLI
from repro.studies.cache import acquire_or_raise, checkpoint_ok, quarantine, read_result, repair_history
from repro.studies.plan import Job
from repro.studies.progress import ProgressCallback
from repro.tracking import finish_wandb, record_result

__all__ = ["execute", "init_worker", "visible_gpus", "worker_devices"]


def execute(job: Job, events: Any) -> dict:
    """Train one run to completion (in a worker process or in-process) and write its result.json, holding the run
    folder's lock (``RunLocked`` when another process holds it)."""
    held = acquire_or_raise(job.run_dir)
    try:
        cached = read_result(job.run_dir)  # another process may have finished it while this one waited
        return cached if cached is not None else _train(job, events)
    finally:
        held.release()


def _start_point(run_dir) -> str | None:
    """The checkpoint to resume from, if one is there and loads; without one, an abandoned attempt's history is
    moved aside (so the new history does not continue the old one)."""
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    history = run_dir / "metrics.csv"
    for stale in [*run_dir.glob(".*.tmp*"), *(run_dir / "checkpoints").glob(".*.tmp*")]:
        stale.unlink()  # a write a kill interrupted before its rename (repro.atomic): never a finished file
    if ckpt.exists() and checkpoint_ok(ckpt):
        repair_history(history)
        return str(ckpt)
    if history.exists():
        quarantine(history, "belongs to an attempt with no usable checkpoint")
    return None


def _train(job: Job, events: Any) -> dict:
    import logging

    import torch

    torch.set_num_threads(job.threads)
    # Per-run warnings that say nothing about the results would repeat once per run under the study display:
    # Lightning's use of a torch pytree API torch deprecated, and the log interval exceeding a short epoch.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)  # the study display replaces Lightning's banners
    ckpt = _start_point(job.run_dir)
    cli = ReproCLI(args=job.config, run=False, extra_callbacks=[ProgressCallback(job.name, events)])
    start = time.time()
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
        cli.trainer.validate(cli.model, datamodule=cli.datamodule, verbose=False)
        result = _result(job, cli, start)
        record_result(cli.trainer, result)  # the row W&B readers collect (repro collect --from wandb)
    finally:  # close this run's W&B records (one per stacked member) before the worker starts the next run
        finish_wandb(cli.trainer)
    write_text(job.run_dir / "result.json", json.dumps(result, indent=2))
    return result


def _result(job: Job, cli: ReproCLI, start: float) -> dict:
    metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items() if v.numel() == 1}
    result = {
        "name": job.name, "hash": job.hash, "overrides": job.overrides, "metrics": metrics,
        "seconds": round(time.time() - start, 2), "epochs": cli.trainer.current_epoch,
        "steps": cli.trainer.global_step, "history": "metrics.csv",
        "noise": _jsonable(getattr(cli.datamodule, "noise", {})),
        "data_seeds": _jsonable(getattr(cli.datamodule, "seeds", {})),
    }
    members = getattr(cli.model, "members", None)
    if members:  # a stacked run: N models in one process, each a row of the study (see expand_members)
        result["members"] = _jsonable(list(members))
    return result


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


def visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def worker_devices(workers: int, gpus: int) -> list[str | None]:
    """The ``CUDA_VISIBLE_DEVICES`` of each pool worker: round-robin over the GPUs, so N workers on G GPUs
    put ⌈N/G⌉ small runs on each GPU (several processes share a GPU that one small model leaves idle);
    ``None`` (leave the environment alone) without GPUs."""
    return [str(i % gpus) if gpus else None for i in range(workers)]


def init_worker(threads: int, devices: Any = None) -> None:
    import signal

    from repro.errors import raise_interrupted

    signal.signal(signal.SIGINT, raise_interrupted)  # a terminal's Ctrl-C reaches the workers too: stop cleanly
    os.environ.pop("WANDB_SERVICE", None)  # its own W&B service, as the `repro` process (see repro.cli.main)
    if devices is not None:  # before torch touches CUDA in this process
        device = devices.get()
        if device is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = device
    import torch

    torch.set_num_threads(threads)
