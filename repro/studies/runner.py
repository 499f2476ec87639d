"""Run a study's grid: validate every run first, skip cached ones, run the rest in a worker pool, each run after
the runs whose outputs it takes (``repro.studies.plan``).

A failed run never removes a finished one; a run whose input run failed is reported as not run; the study
reports every failure at the end, after judging what did finish.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import queue as queue_mod
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from repro.atomic import write_text
from repro.errors import DISK_FULL_HINT, Interrupted, ReproError, is_disk_full
from repro.lightning_cli import ReproCLI
from repro.studies.cache import RunLocked, read_result, wait_for
from repro.studies.execute import execute, init_worker, visible_gpus, worker_devices
from repro.studies.plan import PARSE_ERRORS, Job, config_error, plan, resolve_inputs
from repro.studies.preflight import check_study
from repro.studies.progress import StudyProgress
from repro.studies.results import expand_members
from repro.studies.study import RunSpec, Study, set_dotted
from repro.tracking import wandb_run_id

__all__ = ["Job", "StudyRunner", "worker_devices"]


class _BuildModelAndData(ReproCLI):
    """Builds the model and datamodule but no trainer: catches bad values (width 0, noise 1.5) early."""

    def _set_seed(self) -> None:
        pass

    def instantiate_trainer(self, **kwargs: Any):
        return None


class StudyRunner:
    """Runs a :class:`Study` into ``out_dir`` (``results/<paper>/<study file>/``)."""

    def __init__(self, study: Study, out_dir: str | Path, *, workers: int | None = None, threads: int | None = None,
                 grid_overrides: dict[str, list] | None = None, cli_overrides: dict[str, Any] | None = None,
                 processes: bool = False, env: dict[str, str] | None = None):
        self.study = study
        self.env = dict(env or {})  # for the worker processes (e.g. ATEN_CPU_CAPABILITY, read at torch's import)
        # worker processes even for one worker (a thread count or an environment of their own)
        self.processes = processes or bool(self.env)
        self.out_dir = Path(out_dir)
        cores = os.cpu_count() or 1
        self.workers = workers or int(study.meta.get("workers", 1))
        self.threads = threads or max(1, cores // self.workers)
        self.specs = study.runs(grid_overrides)
        self.cli_overrides = dict(cli_overrides or {})
        for spec in self.specs:
            for key, value in self.cli_overrides.items():
                set_dotted(spec.config, key, value)
        try:
            self.jobs = self._plan()
        except ReproError as err:
            raise self._naming_set(err) from err
        self.by_name = {job.name: job for job in self.jobs}

    def _plan(self) -> list[Job]:
        return plan(self.study, self.specs, self.out_dir, self.threads, self._with_run_settings)

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
            "run_id": wandb_run_id(run_dir.name.rsplit("__", 1)[-1], self.study.name), "grid": dict(spec.overrides),
        }
        return cfg

    def _naming_set(self, err: ReproError) -> ReproError:
        """A config error that a ``--set`` caused names that ``--set``, not the study file."""
        text = str(err)
        for key, value in self.cli_overrides.items():
            if f"'{key.rsplit('.', 1)[-1]}'" in text or f"{key}:" in text:
                reason = text.split(": ", 1)[-1] if text.startswith(str(self.study.path)) else text
                return ReproError(f"--set {key}={value}: {reason}")
        return err

    def pending(self) -> list[Job]:
        """The jobs without a readable result (a damaged result.json is moved aside: see repro.studies.cache)."""
        return [j for j in self.jobs if read_result(j.run_dir) is None]

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
            except PARSE_ERRORS as err:
                raise self._naming_set(config_error(self.study.path, err, job.name)) from err
            self._check_optimizer(cli, job)
            data_key = json.dumps(job.config.get("data"), sort_keys=True, default=str)
            if data_key not in prepared:
                prepared.add(data_key)
                cli.datamodule.prepare_data()
        # the study's axis, figures, table and claims against what the runs log (one step of each kind of run)
        checked = [job for job in self.jobs if not job.inputs]
        check_study(self.study, [job.config for job in checked], [job.name for job in checked])

    def _check_optimizer(self, cli: ReproCLI, job: Job) -> None:
        """Build the optimizer once on the model's parameters: a negative learning rate (or any value torch's
        optimizer refuses) stops the study here, with the key named, rather than after the run has started."""
        factory = getattr(cli.model, "optimizer_factory", None)
        if not callable(factory):
            return
        try:
            factory(cli.model.parameters())
        except (ValueError, TypeError) as err:
            where = f"{self.study.path} ({job.name})"
            key = "model.init_args.optimizer.init_args"
            for name, value in self.cli_overrides.items():
                if name.startswith(key):
                    where = f"--set {name}={value}"
            raise ReproError(f"{where}: {key}: {err}; fix the value (a learning rate is >= 0)") from err

    def run(self, progress: bool = True) -> list[dict]:
        """Run every pending job, each after the jobs it takes inputs from; return the results of all jobs (cached
        and new). A job another process is training is waited for, not trained twice. Failures are kept in
        ``self.failures`` (name → message) and raised by :meth:`raise_failures`."""
        pending = self.pending()
        if pending:
            self.check()
        self.failures: dict[str, str] = {}
        self.elsewhere: set[str] = set()  # jobs another process holds the lock of
        with StudyProgress(self.jobs, enabled=progress) as display:
            if not self.processes and (self.workers == 1 or len(pending) <= 1):
                for job in pending:
                    self._run_one(job, display)
            else:
                self._run_pool(pending, display)
            self._await_elsewhere(sorted(self.elsewhere), display)
        return self.collect()

    def raise_failures(self) -> None:
        failures = getattr(self, "failures", {})
        if failures:
            lines = "\n".join(f"  {name}: {msg}" for name, msg in failures.items())
            raise ReproError(f"{len(failures)} run(s) failed (finished runs are kept; rerun to retry):\n{lines}")

    def _await_elsewhere(self, names: list[str], display: StudyProgress) -> None:
        """Wait for the runs another process is training, then take their results."""
        for name in names:
            job = self.by_name[name]
            wait_for(job.run_dir)
            self.elsewhere.discard(name)
            result = read_result(job.run_dir)
            if result is None:
                self.failures[name] = "another process was training it and stopped before it finished; rerun to retry"
                display.fail(name)
            else:
                display.finish(name, result)

    def _blocked(self, job: Job) -> str | None:
        """Why ``job`` cannot start (an input run failed or was not run), or None when its inputs are ready."""
        for name in job.depends:
            if name in self.failures:
                return f"not run: it takes its input from {name}, which did not finish"
        return None

    def _ready(self, job: Job) -> bool:
        return all((self.by_name[name].run_dir / "result.json").exists() for name in job.depends)

    def _with_inputs(self, job: Job) -> Job:
        return Job(job.name, resolve_inputs(job, self.by_name), job.run_dir, job.hash, job.overrides, job.threads,
                   job.inputs) if job.inputs else job

    def _failed(self, job: Job, err: BaseException, display: StudyProgress) -> None:
        if isinstance(err, RunLocked):  # another process trains it: wait for its result at the end
            self.elsewhere.add(job.name)
            return
        message = f"{type(err).__name__}: {err}"
        if is_disk_full(err):
            message += f" — {DISK_FULL_HINT}"
        self.failures[job.name] = message
        display.fail(job.name)

    def _run_one(self, job: Job, display: StudyProgress) -> None:
        self._await_elsewhere([name for name in job.depends if name in self.elsewhere], display)
        why = self._blocked(job)
        if why is not None:
            self.failures[job.name] = why
            display.fail(job.name)
            return
        try:
            display.finish(job.name, execute(self._with_inputs(job), display))
        except Exception as err:  # one failed run must not lose the others
            self._failed(job, err, display)

    def _run_pool(self, pending: list[Job], display: StudyProgress) -> None:
        # Idle OpenMP threads spin by default: on a shared CPU, runs with several threads each then starve each other
        # (measured: 14× slower); passive waiting costs nothing when the cores are free. Inherited by the workers.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)  # the spawned workers inherit it; restored once they are gone
        try:
            self._run_pool_in_env(pending, display)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _run_pool_in_env(self, pending: list[Job], display: StudyProgress) -> None:
        ctx = mp.get_context("spawn")  # no fork after torch has started threads (and a fresh torch reads the env)
        waiting = list(pending)
        with ctx.Manager() as manager:
            events = manager.Queue()
            devices = manager.Queue()
            for device in worker_devices(self.workers, visible_gpus()):
                devices.put(device)
            with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_worker,
                                     initargs=(self.threads, devices)) as pool:
                try:
                    self._submit_until_done(pool, waiting, events, display)
                except Interrupted:  # the running workers stop at the same Ctrl-C; start no queued run
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                self._drain(events, display)

    def _submit_until_done(self, pool: ProcessPoolExecutor, waiting: list[Job], events: Any,
                           display: StudyProgress) -> None:
        futures: dict[Future, Job] = {}
        while waiting or futures:
            for job in list(waiting):  # submit what is ready, report what can never run
                why = self._blocked(job)
                if why is not None:
                    waiting.remove(job)
                    self.failures[job.name] = why
                    display.fail(job.name)
                elif self._ready(job):
                    waiting.remove(job)
                    try:
                        futures[pool.submit(execute, self._with_inputs(job), events)] = job
                    except ReproError as err:
                        self._failed(job, err, display)
            self._drain(events, display)
            for fut in [f for f in futures if f.done()]:
                job = futures.pop(fut)
                err = fut.exception()
                if err is None:
                    display.finish(job.name, fut.result())
                else:
                    self._failed(job, err, display)
            if waiting and not futures and not any(self._ready(j) or self._blocked(j) for j in waiting):
                held = [n for j in waiting for n in j.depends if n in self.elsewhere]
                if held:  # their inputs are being trained by another process
                    self._await_elsewhere(list(dict.fromkeys(held)), display)
                    continue
                for job in waiting:  # inputs that neither finished nor failed: a bug, say so
                    self.failures[job.name] = "not run: its inputs never became available"
                waiting = []
            time.sleep(0.1)

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
            result = read_result(job.run_dir)
            if result is not None:
                rows += expand_members(result, job.run_dir)
        if rows:
            fields = list(dict.fromkeys(k for row in rows for k in row))
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
            write_text(self.out_dir / "results.csv", buf.getvalue())
        return rows
