"""A study across machines through submitit: one job array per study, one task per pending run, on SLURM
(``--launcher slurm``) or as local processes (``--launcher local``, submitit's LocalExecutor, for testing).

The command returns once the array is submitted. Every task trains its run exactly as the local pool would
(``repro.studies.execute``: same run folder, config hash, lock, resume from the last checkpoint), so ``repro
reproduce`` run again collects what finished, judges it, and — with ``--launcher`` — submits only what is missing.
A run whose folder is locked (a task is training it now) is not submitted again. A run that takes another run's
output trains (or waits for) that run first in its own task; the run-folder lock keeps it from being trained twice.

Resources come from ``study.resources`` in the YAML (``gpus``, ``cpus``, ``mem_gb``, ``time_min``, ``partition``,
``array_parallelism``, ``slurm``: extra ``#SBATCH`` parameters) and the command line flags, which win.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.studies.cache import RunLocked, lock, read_result, wait_for
from repro.studies.plan import Job, resolve_inputs

__all__ = ["RESOURCE_KEYS", "launch", "pending_to_submit", "run_task"]

RESOURCE_KEYS = ("gpus", "cpus", "mem_gb", "time_min", "partition", "array_parallelism", "slurm")


class _Quiet:
    """A progress sink that drops the events (a task's progress is its log file)."""

    def put(self, event: Any) -> None:
        pass


def run_task(chain: list[Job], threads: int) -> dict:
    """A submitit task: train the last job of ``chain`` after the jobs it takes inputs from (each skipped when
    finished, waited for when another task holds it); its result."""
    import torch

    from repro.studies.execute import execute

    torch.set_num_threads(threads)
    by_name = {job.name: job for job in chain}
    for job in chain:
        if read_result(job.run_dir) is not None:
            continue
        runnable = Job(job.name, resolve_inputs(job, by_name), job.run_dir, job.hash, job.overrides, job.threads,
                       job.inputs) if job.inputs else job
        try:
            execute(runnable, _Quiet())
        except RunLocked:
            wait_for(job.run_dir)
            if read_result(job.run_dir) is None:
                raise ReproError(f"{job.name}: its task stopped before it finished; rerun to retry") from None
    return read_result(chain[-1].run_dir)


def _chain(job: Job, by_name: dict[str, Job]) -> list[Job]:
    out: list[Job] = []

    def add(j: Job) -> None:
        for name in j.depends:
            add(by_name[name])
        if j not in out:
            out.append(j)

    add(job)
    return out


def _locked(run_dir: Path) -> bool:
    held = lock(run_dir)
    try:
        held.acquire(timeout=0)
    except Exception:  # filelock.Timeout: a task is training it right now
        return True
    held.release()
    return False


def pending_to_submit(runner) -> list[Job]:
    """The runs with no result that no process is training now."""
    return [job for job in runner.pending() if not _locked(job.run_dir)]


def resources(study, flags: dict[str, Any]) -> dict[str, Any]:
    """The study's resources (``study.resources``) with the command line's flags on top."""
    res = dict(study.meta.get("resources") or {})
    unknown = [k for k in res if k not in RESOURCE_KEYS]
    if unknown:
        raise ReproError(f"{study.path}: study.resources has no key {unknown[0]!r}; it takes "
                         f"{', '.join(RESOURCE_KEYS)}")
    res.update({k: v for k, v in flags.items() if v is not None})
    return res


def launch(runner, kind: str, res: dict[str, Any], folder: Path) -> list:
    """Submit one array for the study's pending runs (``kind``: ``slurm`` or ``local``); the submitit jobs."""
    import submitit

    todo = pending_to_submit(runner)
    if not todo:
        return []
    if kind not in ("slurm", "local"):
        raise ReproError(f"--launcher takes slurm or local, got {kind!r}")
    # slurm: a log folder per job id; local: one flat folder (submitit's local controller would also make the
    # pattern itself, an empty `%j/`, as a folder; its files carry the job id in their names)
    executor = submitit.AutoExecutor(folder=str(folder / "%j" if kind == "slurm" else folder), cluster=kind)
    params: dict[str, Any] = {"name": f"repro-{runner.study.paper}-{runner.study.name}",
                              "timeout_min": int(res.get("time_min", 60 * 24)),
                              "gpus_per_node": int(res.get("gpus", 0)), "tasks_per_node": 1}
    if res.get("cpus"):
        params["cpus_per_task"] = int(res["cpus"])
    if res.get("mem_gb"):
        params["mem_gb"] = int(res["mem_gb"])
    if kind == "slurm":
        if res.get("partition"):
            params["slurm_partition"] = str(res["partition"])
        if res.get("array_parallelism"):
            params["slurm_array_parallelism"] = int(res["array_parallelism"])
        if res.get("slurm"):
            params["slurm_additional_parameters"] = dict(res["slurm"])
    executor.update_parameters(**params)
    chains = [_chain(job, runner.by_name) for job in todo]
    return executor.map_array(run_task, chains, [runner.threads] * len(chains))
