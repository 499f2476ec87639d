"""``repro bench``: throughput of the library's fast paths, each measured against its classic counterpart in
one process (``pipeline``: device-resident data vs a DataLoader; ``stacked``: N models as one vmapped model
vs one at a time). Timings live here, never in the tests."""

from __future__ import annotations

import os
import sys

import torch

from repro.bench.device import busy_cores
from repro.bench.pipeline import Pipeline, build_loader, step_flops, synthetic_cifar
from repro.bench.results import print_table, run, write_results
from repro.bench.settings import build_parser, resolve
from repro.bench.stacked import stacked_main

__all__ = ["Pipeline", "build_loader", "build_parser", "main", "resolve", "step_flops", "synthetic_cifar"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``repro bench``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--stacked" or a.startswith("--stacked=") for a in argv):
        return stacked_main(argv)
    return pipeline_main(argv)


def pipeline_main(argv: list[str]) -> int:
    """``repro bench`` without ``--stacked``: the pipeline table, bench.csv and bench.json."""
    args = build_parser().parse_args(argv)
    s = resolve(args)
    busy = busy_cores()
    if busy is not None and busy > 0.25:
        # Other processes on the same cores skew every row, the device path's multi-threaded ops most (one
        # busy core stalls each parallel op at its barrier), so a busy machine is said, not hidden.
        s.notes.append(f"busy machine: other processes kept {busy:.2f} of {os.cpu_count()} core(s) busy just "
                       "before the run; img/s are noisy")
    s.busy_cores_at_start = busy
    if s.device.type == "cuda" and any(p.precision == "32" for p in s.pipelines) and torch.backends.cudnn.allow_tf32:
        # PyTorch's default: fp32 convolutions run as TF32 on tensor cores, so an fp32 row can pass the fp32 peak.
        s.notes.append("note: fp32 rows use PyTorch defaults (cuDNN convolutions in TF32), so their % of the FP32 "
                       "peak can exceed 100")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(f"repro bench: {', '.join(p.name for p in s.pipelines)} × batch {s.batch_sizes} on {s.device_name}")
    rows = run(s, log=log)
    print_table(rows, s)
    csv_path, json_path = write_results(rows, s)
    print(f"wrote {csv_path} and {json_path}")
    return 0
