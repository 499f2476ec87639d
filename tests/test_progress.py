"""The study display on an 80-column terminal: a long run name gives way, the step count never does."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from repro.studies.progress import StudyProgress


def test_the_step_count_is_whole_on_an_80_column_terminal(tmp_path: Path):
    job = SimpleNamespace(name="lr=0.001,method=LDAM-DRW,weight_decay=0.0002,seed=2", run_dir=tmp_path)
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False, color_system=None)
    display = StudyProgress([job], console=console)
    display.put((job.name, 1630, 3000, 0.4567))
    console.print(display.progress.make_tasks_table(display.progress.tasks))
    text = out.getvalue()
    assert "1630/3000" in text and "loss 0.457" in text
    assert max(len(line) for line in text.splitlines()) <= 80
