"""Run a study's grid: validate every run first, skip cached ones, run the rest in a worker pool.

Each run goes through :class:`~repro.lightning_cli.ReproCLI` exactly as ``repro fit`` would, writes
``result.json`` when it finishes, and resumes from ``checkpoints/last.ckpt`` when it was interrupted.
A failed run never removes a finished one; the study reports every failure at the end.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import queue as queue_mod
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentError

from repro.atomic import write_text
from repro.errors import ReproError
from repro.lightning_cli import ReproCLI
from repro.studies.progress import ProgressCallback, StudyProgress
from repro.studies.results import expand_members
from repro.studies.study import RunSpec, Study, config_hash, set_dotted
from repro.tracking import finish_wandb


class _ParseOnly(ReproCLI):
    """Parses and checks a config without building anything (for hashing and early errors)."""

    def _set_seed(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass


class _BuildModelAndData(ReproCLI):
    """Builds the model and datamodule but no trainer: catches bad values (width 0, noise 1.5) early."""

    def _set_seed(self) -> None:
        pass

    def instantiate_trainer(self, **kwargs: Any):
        return None


def _root_cause(err: BaseException) -> str:
    """The user's mistake inside jsonargparse's wrapping ("Does not validate against any of the Union
    subtypes ... Errors: - <our message> - Expected a NoneType ...")."""
    seen = err
    while seen is not None:
        if isinstance(seen, ReproError):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    noise = ("Does not validate", "Subtypes:", "Errors:", "Expected a", "Given value", "Problem with given")
    keys, reasons = [], []
    for line in str(err).strip().splitlines():
        line = line.strip().removeprefix("- ")
        if line.startswith("Parser key"):
            keys.append(line.split('"')[1])
        elif line and not line.startswith(noise):
            reasons.append(line.split(" Got value:")[0])
    where = ".init_args.".join(keys)
    reason = reasons[0] if reasons else str(err).strip().splitlines()[0]
    reason = reason.split("callable class: ")[-1]  # jsonargparse's type preamble before the real reason
    return f"{where}: {reason}" if where else reason


def _config_error(path: Path, err: Exception, run: str | None = None) -> ReproError:
    where = f"{path}" + (f" ({run})" if run else "")
    return ReproError(f"{where}: {_root_cause(err)}\n"
                      "Fix it in the YAML or on the command line; `repro fit --config FILE --print_config` "
                      "shows every valid key and its value.")


@dataclass
class Job:
    name: str
    config: dict
    run_dir: Path
    hash: str
    overrides: dict
    threads: int


def _execute(job: Job, events: Any) -> dict:
    """Train one run to completion (in a worker process or in-process) and write its result.json."""
    import logging

    import torch
    import wandb

    torch.set_num_threads(job.threads)
    # Per-run warnings that say nothing about the results would repeat once per run under the study display:
    # Lightning's use of a torch pytree API torch deprecated, and the log interval exceeding a short epoch.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)  # the study display replaces Lightning's banners
    ckpt = job.run_dir / "checkpoints" / "last.ckpt"
    cli = ReproCLI(args=job.config, run=False, extra_callbacks=[ProgressCallback(job.name, events)])
    start = time.time()
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt) if ckpt.exists() else None)
        cli.trainer.validate(cli.model, datamodule=cli.datamodule, verbose=False)
    finally:  # close this run's W&B records (one per stacked member) before the worker starts the next run
        finish_wandb(cli.trainer)
        if wandb.run is not None:
            wandb.finish()
    metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items() if v.numel() == 1}
    result = {
        "name": job.name, "hash": job.hash, "overrides": job.overrides, "metrics": metrics,
        "seconds": round(time.time() - start, 2), "epochs": cli.trainer.current_epoch,
        "steps": cli.trainer.global_step, "history": "metrics.csv",
        "noise": _jsonable(getattr(cli.datamodule, "noise", {})),
    }
    members = getattr(cli.model, "members", None)
    if members:  # a stacked run: N models in one process, each a row of the study (see expand_members)
        result["members"] = _jsonable(list(members))
    write_text(job.run_dir / "result.json", json.dumps(result, indent=2))
    return result


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def worker_devices(workers: int, gpus: int) -> list[str | None]:
    """The ``CUDA_VISIBLE_DEVICES`` of each pool worker: round-robin over the GPUs, so N workers on G GPUs
    put ⌈N/G⌉ small runs on each GPU (several processes share a GPU that one small model leaves idle);
    ``None`` (leave the environment alone) without GPUs."""
    return [str(i % gpus) if gpus else None for i in range(workers)]


def _init_worker(threads: int, devices: Any = None) -> None:
    if devices is not None:  # before torch touches CUDA in this process
        device = devices.get()
        if device is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = device
    import torch

    torch.set_num_threads(threads)


class StudyRunner:
    """Runs a :class:`Study` into ``out_dir`` (``results/<paper>/<study file>/``)."""

    def __init__(self, study: Study, out_dir: str | Path, *, workers: int | None = None, threads: int | None = None,
                 grid_overrides: dict[str, list] | None = None, cli_overrides: dict[str, Any] | None = None):
        self.study = study
        self.out_dir = Path(out_dir)
        cores = os.cpu_count() or 1
        self.workers = workers or int(study.meta.get("workers", 1))
        self.threads = threads or max(1, cores // self.workers)
        self.specs = study.runs(grid_overrides)
        for spec in self.specs:
            for key, value in (cli_overrides or {}).items():
                set_dotted(spec.config, key, value)
        self.jobs = self._plan()

    def _plan(self) -> list[Job]:
        """Parse every run's config (one parser for all), hash it, and fix its run directory."""
        if not self.specs:
            raise ReproError(f"{self.study.path}: the grid expands to no runs")
        try:
            parser_cli = _ParseOnly(args=self.specs[0].config, run=False)
        except (ArgumentError, SystemExit, ValueError, TypeError) as err:
            raise _config_error(self.study.path, err) from err
        jobs = []
        for spec in self.specs:
            try:
                ns = parser_cli.parser.parse_object(spec.config)
            except (ArgumentError, SystemExit, ValueError, TypeError) as err:
                raise _config_error(self.study.path, err) from err
            parser_cli.config = ns
            digest = config_hash(parser_cli.resolved_config())
            run_dir = self.out_dir / "runs" / f"{spec.name}__{digest}"
            jobs.append(Job(spec.name, self._with_run_settings(spec, run_dir), run_dir, digest, spec.overrides,
                            self.threads))
        return jobs

    def _with_run_settings(self, spec: RunSpec, run_dir: Path) -> dict:
        cfg = dict(spec.config)
        trainer = dict(cfg.get("trainer") or {})
        trainer.setdefault("enable_progress_bar", False)
        trainer.setdefault("enable_model_summary", False)
        cfg["trainer"] = trainer
        cfg["run"] = {
            **(cfg.get("run") or {}),
            "out_dir": str(run_dir), "name": spec.name, "project": f"repro-{self.study.paper}",
            "group": f"{self.study.name}", "tags": [self.study.scale, self.study.name],
        }
        return cfg

    def pending(self) -> list[Job]:
        return [j for j in self.jobs if not (j.run_dir / "result.json").exists()]

    def check(self) -> None:
        """Build each distinct model/data once and prepare the data, so bad values and missing
        datasets stop the study before any training starts."""
        seen: set[str] = set()
        prepared: set[str] = set()
        for job in self.pending():
            key = json.dumps({k: v for k, v in job.config.items() if k not in ("seed_everything", "run")},
                             sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            try:
                cli = _BuildModelAndData(args=job.config, run=False)
            except (ArgumentError, SystemExit, TypeError, ValueError) as err:
                raise _config_error(self.study.path, err, job.name) from err
            data_key = json.dumps(job.config.get("data"), sort_keys=True, default=str)
            if data_key not in prepared:
                prepared.add(data_key)
                cli.datamodule.prepare_data()

    def run(self, progress: bool = True) -> list[dict]:
        """Run every pending job; return the results of all jobs (cached and new)."""
        pending = self.pending()
        if pending:
            self.check()
        failures: list[tuple[str, str]] = []
        with StudyProgress(self.jobs, enabled=progress) as display:
            if self.workers == 1 or len(pending) <= 1:
                for job in pending:
                    try:
                        display.finish(job.name, _execute(job, display))
                    except Exception as err:  # one failed run must not lose the others
                        failures.append((job.name, f"{type(err).__name__}: {err}"))
                        display.fail(job.name)
            else:
                failures = self._run_pool(pending, display)
        if failures:
            lines = "\n".join(f"  {name}: {msg}" for name, msg in failures)
            raise ReproError(f"{len(failures)} run(s) failed (finished runs are kept; rerun to retry):\n{lines}")
        return self.collect()

    def _run_pool(self, pending: list[Job], display: StudyProgress) -> list[tuple[str, str]]:
        ctx = mp.get_context("spawn")  # no fork after torch has started threads
        failures = []
        with ctx.Manager() as manager:
            events = manager.Queue()
            devices = manager.Queue()
            for device in worker_devices(self.workers, _visible_gpus()):
                devices.put(device)
            with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(self.threads, devices)) as pool:
                futures: dict[Future, Job] = {pool.submit(_execute, job, events): job for job in pending}
                while futures:
                    self._drain(events, display)
                    for fut in [f for f in futures if f.done()]:
                        job = futures.pop(fut)
                        err = fut.exception()
                        if err is None:
                            display.finish(job.name, fut.result())
                        else:
                            failures.append((job.name, f"{type(err).__name__}: {err}"))
                            display.fail(job.name)
                    time.sleep(0.1)
                self._drain(events, display)
        return failures

    @staticmethod
    def _drain(events: Any, display: StudyProgress) -> None:
        while True:
            try:
                display.put(events.get_nowait())
            except queue_mod.Empty:
                return

    def collect(self) -> list[dict]:
        """Results of every job of the grid that has finished, in grid order (a stacked run gives one row per
        member); also written as results.csv."""
        rows = []
        for job in self.jobs:
            path = job.run_dir / "result.json"
            if path.exists():
                rows += expand_members(json.loads(path.read_text()), job.run_dir)
        if rows:
            fields = list(dict.fromkeys(k for row in rows for k in row))
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
            write_text(self.out_dir / "results.csv", buf.getvalue())
        return rows
