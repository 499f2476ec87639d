"""``repro bench``'s rows: every pipeline timed at every batch size (interleaved repeats), printed as a table and
written as ``bench.csv`` and ``bench.json``."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from repro.atomic import write_text
from repro.bench.device import cores, peak_tflops
from repro.bench.pipeline import COLUMNS, PipelineRun, build_model, load_tensors, step_flops
from repro.data.loaders import Normalizer
from repro.data.sources import source_info

if TYPE_CHECKING:
    from repro.bench.settings import Settings

__all__ = ["print_table", "run", "write_results"]


def run(s: Settings, *, log: Callable[[str], None] = lambda msg: None) -> list[dict]:
    """Time every pipeline at every batch size; one result row each, in the order of :data:`COLUMNS`."""
    info = source_info("cifar10")  # synthetic data is CIFAR-shaped and normalised with CIFAR's statistics
    normalize = Normalizer(info.mean, info.std)
    tensors = load_tensors(s.source, s.images, seed=s.seed)
    if s.device.type == "cuda":
        # Autotuned conv kernels, as the original recipes set; the same for every pipeline.
        torch.backends.cudnn.benchmark = True
    rows = []
    for batch_size in s.batch_sizes:
        # Count one step on a real batch at this size. FLOPs per image do not depend on dtype, layout or the
        # loader, and the models have no cross-example ops that FlopCounterMode counts, so one count serves
        # every row, including an epoch's smaller last batch.
        b = min(batch_size, s.images)
        x = normalize(tensors["x"][:b]).to(s.device)
        y = tensors["y"][:b].to(s.device)
        flops_per_image = step_flops(build_model(s.model, s.width).to(s.device), x, y) / b
        runners = [PipelineRun(p, tensors, model_name=s.model, width=s.width, batch_size=batch_size,
                               normalize=normalize, device=s.device, workers=s.workers, steps=s.steps,
                               optimizer=s.optimizer, seed=s.seed) for p in s.pipelines]
        for r in runners:
            log(f"warming up {r.pipeline.name} at batch {batch_size} ...")
            r.warm(s.warmup)
        rates: dict[str, list[float]] = {p.name: [] for p in s.pipelines}
        for i in range(s.repeats):
            log(f"timing repeat {i + 1}/{s.repeats} at batch {batch_size} ...")
            for r in runners:
                rates[r.pipeline.name].append(r.time_once())
        for r in runners:
            r.close()
        classic_img_s = statistics.median(rates["classic"])
        for runner in runners:
            pipeline = runner.pipeline
            img_s = statistics.median(rates[pipeline.name])
            # The classic row's ratio is 1.0 by definition, not by a division that could round.
            ratio = 1.0 if pipeline.name == "classic" else img_s / classic_img_s
            tflops = flops_per_image * img_s / 1e12
            peak = peak_tflops(s.device_name, pipeline.precision) if s.device.type == "cuda" else None
            rows.append({
                "pipeline": pipeline.name, "batch": batch_size, "img_s": img_s, "ratio": ratio, "tflops": tflops,
                "pct_peak": 100 * tflops / peak if peak else None, "img_s_min": min(rates[pipeline.name]),
                "img_s_max": max(rates[pipeline.name]), "steps": runner.steps, "repeats": s.repeats, "images": s.images,
                "model": s.model, "width": s.width, "precision": pipeline.precision,
                "channels_last": pipeline.channels_last, "compile": pipeline.compile,
                "cuda_graphs": pipeline.cuda_graphs,
                "workers": s.workers if pipeline.loader == "classic" else 0, "source": s.source,
                "flops_per_image": flops_per_image, "device": s.device_name, "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            })
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def print_table(rows: list[dict], s: Settings) -> None:
    """The result rows as a rich table, with the run's setup in the title and the notes below it."""
    from rich.console import Console
    from rich.table import Table

    title = (f"repro bench: {s.model} width {s.width}, {s.images} {s.source} images, {s.device_name}, "
             f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    table = Table(title=title, caption=f"median of {s.repeats} repeat(s); FLOPs from FlopCounterMode "
                                       "(matmul/conv only)")
    for col in ("pipeline", "batch", "img/s", "ratio vs classic", "TFLOP/s", "% of peak"):
        table.add_column(col, justify="left" if col == "pipeline" else "right")
    for r in rows:
        spread = f" [dim]({r['img_s_min']:,.0f}–{r['img_s_max']:,.0f})" if r["repeats"] > 1 else ""
        table.add_row(r["pipeline"], str(r["batch"]), f"{r['img_s']:,.0f}{spread}", _fmt(r["ratio"], ".2f") + "×",
                      _fmt(r["tflops"], ".3g"), _fmt(r["pct_peak"], ".1f"))
    console = Console()
    console.print(table)
    for note in s.notes:
        console.print(note, highlight=False)


def write_results(rows: list[dict], s: Settings) -> tuple[Path, Path]:
    """``bench.csv`` (one row per pipeline and batch size) and ``bench.json`` (the same rows, plus notes)."""
    csv_path, json_path = s.out / "bench.csv", s.out / "bench.json"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows({k: ("" if r[k] is None else r[k]) for k in COLUMNS} for r in rows)
    write_text(csv_path, buf.getvalue())
    meta = {"device": s.device_name, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cores": cores(), "busy_cores_at_start": s.busy_cores_at_start, "optimizer": s.optimizer,
            "warmup": s.warmup, "seed": s.seed,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(), "notes": s.notes}
    write_text(json_path, json.dumps({**meta, "rows": [{k: r[k] for k in COLUMNS} for r in rows]}, indent=2) + "\n")
    return csv_path, json_path
