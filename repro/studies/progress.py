"""One progress display for a whole study: a bar per run, fed by runs in this or other processes."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column


class ProgressCallback(pl.Callback):
    """Sends (run, step, total, loss) to a sink with a ``put`` method at most every ``every`` seconds."""

    def __init__(self, name: str, sink: Any, every: float = 0.5) -> None:
        self.name = name
        self.sink = sink
        self.every = every
        self._last = 0.0
        self._total = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._total = int(trainer.estimated_stepping_batches)
        self.sink.put((self.name, trainer.global_step, self._total, None))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            loss = trainer.callback_metrics.get("fit/loss")
            self.sink.put((self.name, trainer.global_step, self._total, None if loss is None else float(loss)))


class StudyProgress:
    """Rich progress bars, one per run; cached runs show as done. ``enabled=False`` prints nothing."""

    def __init__(self, jobs: list, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        # On a narrow terminal the run's name gives way (ellipsised); the step count and the status never do.
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis",
                                                                 min_width=8)),
            BarColumn(bar_width=12), MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=11)),
            TextColumn("{task.fields[status]}", table_column=Column(no_wrap=True, min_width=14)),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, disable=not enabled, refresh_per_second=4, expand=True,
        )
        self.tasks = {}
        for job in jobs:
            done = (job.run_dir / "result.json").exists()
            self.tasks[job.name] = self.progress.add_task(
                job.name, total=1 if done else None, completed=1 if done else 0,
                status="cached" if done else "waiting",
            )

    def __enter__(self) -> StudyProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def put(self, event: tuple) -> None:
        name, step, total, loss = event
        status = "running" if loss is None else f"loss {loss:.3g}"
        self.progress.update(self.tasks[name], completed=step, total=total, status=status)

    def finish(self, name: str, result: dict) -> None:
        task = self.tasks[name]
        total = self.progress.tasks[task].total or 1
        err = result["metrics"].get("test/error")
        status = "done" if err is None else f"test err {err:.3f}"
        self.progress.update(task, completed=total, total=total, status=status)

    def fail(self, name: str) -> None:
        self.progress.update(self.tasks[name], status="[red]failed")
