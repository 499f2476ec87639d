"""Results read back from W&B into a study's cache (``repro collect``): a study run elsewhere — by W&B sweep agents,
on another machine, offline on a cluster — gets the same rows, claims and report as one run here.

Each finished run carries its result (what ``result.json`` holds, with the config hash) in its W&B summary under
``repro_result`` and the manifest in its config. Collecting matches a W&B run to the study's grid point by that
hash and writes the point's run folder: ``result.json``, ``manifest.json`` and ``metrics.csv`` rebuilt from the W&B
history (a stacked run's members are W&B runs of their own; their columns are prefixed ``member<i>/`` again).
Runs the cache already holds are left alone; W&B runs of other studies or configs are ignored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from repro.atomic import write_text
from repro.studies.cache import read_result
from repro.tracking import RESULT_KEY
from repro.wandb_offline import offline_runs, read_offline_run

__all__ = ["collect_offline", "collect_online", "write_runs"]

W_INTERNAL = ("_step", "_runtime", "_timestamp", "trainer/global_step", "_wandb")


def _history_rows(history: Iterable[dict], member: int | None) -> list[dict]:
    rows = []
    for h in history:
        if "trainer/global_step" not in h:
            continue
        row = {"step": int(h["trainer/global_step"])}
        for k, v in h.items():
            if k in W_INTERNAL or k.startswith("_") or not isinstance(v, int | float):
                continue
            row[k if k == "epoch" or member is None else f"member{member}/{k}"] = v
        rows.append(row)
    return rows


def write_runs(runner, found: Iterable[tuple[dict, dict, Iterable[dict]]]) -> list[str]:
    """Write the run folders of the study's grid points among ``found`` (``(summary, config, history)`` per W&B
    run); the names of the points written."""
    by_hash = {job.hash: job for job in runner.jobs}
    pending: dict[str, tuple[dict, dict, list[dict]]] = {}
    for summary, config, history in found:
        text = summary.get(RESULT_KEY)
        if not text:
            continue  # unfinished, or not a repro run
        result = json.loads(text) if isinstance(text, str) else dict(text)
        job = by_hash.get(result.get("hash"))
        if job is None or read_result(job.run_dir) is not None:
            continue
        member = None
        if result.get("members") and isinstance(config.get("member"), dict):
            member = result["members"].index(config["member"])
        _, _, rows = pending.setdefault(job.hash, (result, config, []))
        rows += _history_rows(history, member)
    written = []
    for digest, (result, config, rows) in pending.items():
        job = by_hash[digest]
        job.run_dir.mkdir(parents=True, exist_ok=True)
        if rows:
            fields = ["epoch", "step", *sorted({k for r in rows for k in r} - {"epoch", "step"})]
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
            write_text(job.run_dir / "metrics.csv", buf.getvalue())
        if isinstance(config.get("manifest"), dict):
            write_text(job.run_dir / "manifest.json", json.dumps(config["manifest"], indent=2))
        write_text(job.run_dir / "result.json", json.dumps(result, indent=2))  # last: the run counts as finished
        written.append(job.name)
    return written


def collect_offline(runner, root: Path) -> list[str]:
    """Collect from the offline run folders under ``root`` (``**/wandb/offline-run-*``)."""
    runs = (read_offline_run(folder, wait=0) for folder in offline_runs(root))
    return write_runs(runner, ((r.summary, r.config, r.history) for r in runs
                               if r.group == runner.study.name))


def collect_online(runner, *, project: str, entity: str | None = None) -> list[str]:
    """Collect from W&B (needs an API key and network): the project's runs in the study's group."""
    import wandb

    api = wandb.Api()
    path = f"{entity}/{project}" if entity else project
    runs = api.runs(path, filters={"group": runner.study.name})
    return write_runs(runner, ((dict(r.summary), dict(r.config), r.scan_history()) for r in runs))
