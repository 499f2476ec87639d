"""``repro bench`` options and the settings they resolve to: device-dependent defaults, and which pipelines are
rows (each one left out gets a note saying why)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch

from repro.bench.device import cores, device_name, pick_device
from repro.bench.pipeline import CONVNETS, MODELS, Pipeline
from repro.bench.pipeline import __doc__ as PIPELINE_DOC
from repro.errors import ReproError

__all__ = ["Settings", "build_parser", "resolve"]


def _batch_sizes(values: list[str] | None) -> list[int] | None:
    if not values:
        return None
    out: list[int] = []
    for value in values:
        for item in value.split(","):
            try:
                b = int(item)
            except ValueError:
                raise ReproError(f"--batch-size expects integers (repeatable or comma list), got {item!r}") from None
            if b < 1:
                raise ReproError(f"--batch-size must be >= 1, got {b}")
            if b not in out:
                out.append(b)
    return out


def build_parser() -> argparse.ArgumentParser:
    """``repro bench`` options; defaults that depend on the device are resolved in :func:`main`."""
    p = argparse.ArgumentParser(prog="repro bench", description=PIPELINE_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=tuple(MODELS), default="resnet18")
    p.add_argument("--width", type=int, help="model width (default: 64 on GPU, 8 on CPU)")
    p.add_argument("--batch-size", action="append", metavar="B[,B...]",
                   help="batch size(s), repeatable or comma list (default: 128,512 on GPU, 128 on CPU)")
    p.add_argument("--images", type=int, help="training images (default: 50000 on GPU, 2048 on CPU)")
    p.add_argument("--source", choices=("synthetic", "cifar10"), default="synthetic",
                   help="random CIFAR-shaped uint8 data (no download) or the real CIFAR-10 from $REPRO_DATA")
    p.add_argument("--steps", type=int, help="timed steps per repeat (default: one epoch)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is reported (default: 3)")
    p.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps per pipeline (default: 3)")
    p.add_argument("--precision", choices=("32", "bf16"),
                   help="precision of the fast device row (default: bf16 on a bf16-capable GPU, else 32)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last in the fast device row (default: on for convnets on GPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile the fast device row (GPU only)")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="add a row: the fast device row compiled with mode=reduce-overhead (CUDA graphs; GPU only)")
    p.add_argument("--workers", type=int, help="classic DataLoader workers (default: min(8, cores))")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/bench", help="where bench.csv and bench.json go (default: results/bench)")
    return p


@dataclass
class Settings:
    device: torch.device
    device_name: str
    model: str
    width: int
    batch_sizes: list[int]
    images: int
    source: str
    steps: int | None
    repeats: int
    warmup: int
    workers: int
    optimizer: str
    seed: int
    pipelines: list[Pipeline]
    notes: list[str]
    out: Path
    busy_cores_at_start: float | None = None


def resolve(args: argparse.Namespace) -> Settings:
    """Fill the device-dependent defaults and decide which pipelines are rows (with a note for each left out)."""
    device = pick_device(args.device)
    on_gpu = device.type == "cuda"
    name = device_name(device)
    for flag, value, low in (("--images", args.images, 1), ("--steps", args.steps, 1), ("--repeats", args.repeats, 1),
                             ("--warmup", args.warmup, 0), ("--workers", args.workers, 0), ("--width", args.width, 1)):
        if value is not None and value < low:
            raise ReproError(f"{flag} must be >= {low}, got {value}")

    bf16_ok = on_gpu and torch.cuda.is_bf16_supported()
    precision = args.precision or ("bf16" if bf16_ok else "32")
    convnet = args.model in CONVNETS
    channels_last = on_gpu and convnet if args.channels_last is None else args.channels_last
    notes: list[str] = []
    pipelines = [Pipeline("classic"), Pipeline("device")]
    if on_gpu:
        if precision == "bf16" and not bf16_ok:
            raise ReproError(f"--precision bf16 but {name} has no bf16 support; use --precision 32")
        if channels_last and not convnet:
            notes.append(f"left out: channels_last — {args.model} takes flattened inputs, memory format does not apply")
            channels_last = False
        fast = Pipeline("device", precision, channels_last, args.compile)
        if fast != Pipeline("device"):
            pipelines.append(fast)
        else:
            notes.append("left out: a fast device row — with --precision 32, no channels_last and no compile it "
                         "would repeat the device row")
        if args.cuda_graphs:
            pipelines.append(Pipeline("device", precision, channels_last, True, True))
    else:
        # Name the row a GPU would get (channels_last only for convnets) so the note says what is missing.
        variants = Pipeline("device", "bf16", convnet, args.compile).name
        notes.append(f"left out: {variants} — bf16 autocast, channels_last and compile are GPU variants (tensor "
                     "cores, cuDNN layouts, Triton kernels); on CPU the rows are classic vs device, both fp32")
        if args.cuda_graphs:
            notes.append("left out: device+cuda_graphs — CUDA graphs replay recorded GPU kernels; there is no CPU "
                         "equivalent")
        threads = torch.get_num_threads()
        workers = min(8, cores()) if args.workers is None else args.workers
        notes.append(f"CPU: the timed process uses {threads} torch thread(s) (torch's default, not "
                     f"set_num_threads(1)); the classic loader's {workers} worker process(es) compete with it for "
                     f"the {cores()} core(s), which is the honest comparison for one training process here")
    return Settings(
        device=device,
        device_name=name,
        model=args.model,
        width=args.width or (64 if on_gpu else 8),
        batch_sizes=_batch_sizes(args.batch_size) or ([128, 512] if on_gpu else [128]),
        images=args.images or (50000 if on_gpu else 2048),
        source=args.source,
        steps=args.steps,
        repeats=args.repeats,
        warmup=args.warmup,
        workers=min(8, cores()) if args.workers is None else args.workers,
        optimizer=args.optimizer,
        seed=args.seed,
        pipelines=pipelines,
        notes=notes,
        out=Path(args.out),
    )
