"""``repro bench``: the device-resident data path against the classic DataLoader path, on one model.

    repro bench                                    resnet18, defaults sized for this device
    repro bench --model mlp --batch-size 128,512   several batch sizes, one table
    repro bench --source cifar10 --images 50000    real CIFAR-10 (when on disk) instead of random pixels

Each pipeline trains the same freshly seeded model with the same plain PyTorch step (forward,
cross-entropy, backward, optimizer step), in this one process, their timed repeats interleaved:

* ``classic``: torchvision v2 RandomCrop(32, padding=4) + RandomHorizontalFlip per example in DataLoader
  workers, fp32, NCHW (the original repos' recipe), built by ``repro.data.loaders.classic_loader``;
* ``device``: the tensors live on the training device, crop+flip is one batched op
  (``repro.data.loaders.DeviceLoader``), still fp32 so the row isolates the loader;
* ``device+bf16+channels_last`` (GPU only, ``+compile`` with ``--compile``): what the library's fast path
  adds on top; ``--cuda-graphs`` adds the same row compiled with ``mode="reduce-overhead"`` (CUDA graphs),
  which removes the per-kernel launch cost that bounds small batches.

``repro bench --stacked N`` times something else: N grokking transformers (``repro.models.transformer``,
x÷y mod 97, batch 512, Adam) trained one at a time against the same N as one stacked model
(``repro.stacking``), in model-steps/s, to ``<out>/bench_stacked.{csv,json}``.

Each row reports images/s (median of ``--repeats``), its ratio to ``classic`` at the same batch size,
achieved TFLOP/s from a ``FlopCounterMode`` count of one training step and, where the device's peak is
known, the fraction of peak. Results go to ``<out>/bench.csv`` and ``<out>/bench.json``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from repro.data.loaders import DeviceLoader, Normalizer, classic_loader
from repro.data.sources import load_source, source_info
from repro.errors import ReproError
from repro.models import MLP, FiveLayerCNN, PreActResNet18

MODELS: dict[str, type[nn.Module]] = {"resnet18": PreActResNet18, "cnn": FiveLayerCNN, "mlp": MLP}
CONVNETS = ("resnet18", "cnn")
PADDING = 4  # RandomCrop(32, padding=4): the CIFAR recipe every pipeline uses

# Dense (no sparsity) peak TFLOP/s by device-name substring, first match wins. "32" is plain FP32 on the
# CUDA cores; bf16 is the tensor cores. SXM parts unless the name says PCIe/NVL (the PCIe and NVL cards
# are clocked lower). Unknown devices (and CPUs) get no peak, so no "% of peak".
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.0, "32": 51.0}),
    ("H100 NVL", {"bf16": 835.0, "32": 60.0}),
    ("H100", {"bf16": 989.0, "32": 67.0}),
    ("H200", {"bf16": 989.0, "32": 67.0}),
)

COLUMNS = (
    "pipeline", "batch", "img_s", "ratio", "tflops", "pct_peak", "img_s_min", "img_s_max", "steps", "repeats",
    "images", "model", "width", "precision", "channels_last", "compile", "cuda_graphs", "workers", "source",
    "flops_per_image",
    "device", "torch", "threads",
)


@dataclass(frozen=True)
class Pipeline:
    """One row of the benchmark: which loader, and what the training step does on top."""

    loader: str  # "classic" | "device"
    precision: str = "32"  # "32" | "bf16"
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False  # torch.compile(mode="reduce-overhead"): the step replayed as CUDA graphs

    @property
    def name(self) -> str:
        parts = [self.loader]
        if self.precision != "32":
            parts.append(self.precision)
        if self.channels_last:
            parts.append("channels_last")
        if self.cuda_graphs:
            parts.append("cuda_graphs")
        elif self.compile:
            parts.append("compile")
        return "+".join(parts)


# -- data, loaders, model ------------------------------------------------------------------------------------


def synthetic_cifar(n: int, *, num_classes: int = 10, seed: int = 0) -> dict[str, torch.Tensor]:
    """``n`` random CIFAR-shaped uint8 images with random labels: the loaders' cost, no download needed."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, num_classes, (n,), generator=gen)
    return {"x": x, "y": y, "y_clean": y.clone()}


def load_tensors(source: str, n: int, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """The first ``n`` training images of ``source`` (``synthetic`` or ``cifar10``), as the datamodule holds them."""
    if source == "synthetic":
        return synthetic_cifar(n, seed=seed)
    # Never download from a benchmark: a missing dataset is a DatasetMissingError naming $REPRO_DATA.
    split = load_source(source, train=True, download=False)
    if n > len(split):
        raise ReproError(f"--images {n} but {source} has {len(split)} training images")
    return {"x": split.x[:n], "y": split.y[:n], "y_clean": split.y[:n].clone()}


def build_loader(
    kind: str,
    tensors: dict[str, torch.Tensor],
    *,
    batch_size: int,
    normalize: Normalizer,
    workers: int = 0,
    device: torch.device | str = "cpu",
    seed: int = 0,
    epoch_fn: Callable[[], int] = lambda: 0,
    shuffle: bool = True,
) -> Iterable[dict[str, torch.Tensor]]:
    """The training loader ``TensorDataModule._loader("train", train=True)`` builds, with ``augment=True``.

    Same arguments as the datamodule passes (shuffle, crop+flip with padding 4, no drop_last), so the
    benchmark times the library's own loader code, not a copy of it. The classic loader draws the order and
    the crops the device loader draws for ``seed`` (on a CPU device the batches are identical), so both
    rows time the same work.
    """
    common = dict(batch_size=batch_size, shuffle=shuffle, augment=True, padding=PADDING, normalize=normalize)
    if kind == "classic":
        return classic_loader(tensors, num_workers=workers, match_seed=seed, **common)
    if kind == "device":
        on_device = {k: v.to(device) for k, v in tensors.items()}
        return DeviceLoader(on_device, seed=seed, epoch_fn=epoch_fn, **common)
    raise ValueError(f"unknown loader kind {kind!r}; use 'classic' or 'device'")


def build_model(name: str, width: int, *, num_classes: int = 10, in_shape: tuple[int, ...] = (3, 32, 32)) -> nn.Module:
    """A backbone from ``repro.models`` by its bench name (resnet18, cnn, mlp)."""
    return MODELS[name](num_classes, in_shape, width=width)


# -- the training step, its FLOPs, and the timer ---------------------------------------------------------------


def train_step(
    model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, amp_dtype: torch.dtype | None
) -> torch.Tensor:
    """Forward, cross-entropy, backward, optimizer step: the same plain step for every pipeline."""
    with torch.autocast(x.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    # Returned, not .item()'d: reading it would synchronise the GPU every step, which a training loop
    # that logs asynchronously does not do.
    return loss.detach()


def step_flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one training step's forward+backward on batch ``(x, y)``, as ``FlopCounterMode`` counts them.

    It counts matmuls and convolutions (a multiply-add is 2 FLOPs); BatchNorm, activations, the loss and
    the optimizer update are elementwise and not counted. The backward pass skips the gradient with respect
    to the input batch (it does not require grad), so backward is twice forward minus the first layer's
    input-gradient term. Runs on a copy, so the model's gradients are untouched.
    """
    from torch.utils.flop_counter import FlopCounterMode

    clone = copy.deepcopy(model)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(clone(x), y).backward()
    return int(counter.get_total_flops())


def peak_tflops(device_name: str, precision: str) -> float | None:
    """Dense peak TFLOP/s of ``device_name`` at ``precision`` ("32" or "bf16"), or None when unknown."""
    for key, peaks in PEAK_TFLOPS:
        if key in device_name:
            return peaks[precision]
    return None


def _sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: without this the timer would stop before the work does.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(batch: dict, device: torch.device, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    # A no-op for the device loader; for the classic one, the host→device copy every step is part of its cost
    # (from pinned memory, so non_blocking lets it overlap the previous step, as Lightning's does).
    x = batch["x"].to(device, non_blocking=True)
    y = batch["y"].to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


class PipelineRun:
    """One pipeline, ready to time: its loader, a freshly seeded model and optimizer, and an epoch counter.

    Split into :meth:`warm` and :meth:`time_once` so that :func:`run` can interleave the pipelines' timed
    repeats (classic, device, ..., classic, device, ...): on a shared machine, load that comes and goes then
    hits every row alike instead of whichever pipeline happened to run during it.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        tensors: dict[str, torch.Tensor],
        *,
        model_name: str,
        width: int,
        batch_size: int,
        normalize: Normalizer,
        device: torch.device,
        workers: int,
        steps: int | None,
        optimizer: str = "sgd",
        seed: int = 0,
    ) -> None:
        self.pipeline, self.device, self.batch_size = pipeline, device, batch_size
        self.images = len(tensors["y"])
        self.epoch = [0]
        self.loader = build_loader(pipeline.loader, tensors, batch_size=batch_size, normalize=normalize,
                                   workers=workers, device=device, seed=seed, epoch_fn=lambda: self.epoch[0])
        self.steps = steps or len(self.loader)  # type: ignore[arg-type]
        # The same initial weights for every pipeline, so no row gets an easier model.
        torch.manual_seed(seed)
        model = build_model(model_name, width).to(device)
        if pipeline.channels_last:
            model = model.to(memory_format=torch.channels_last)
        # lr is irrelevant to speed; small values keep random-label training finite (NaN/inf could change speed).
        if optimizer == "sgd":
            self.opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                                                              weight_decay=5e-4)
        else:
            self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        if pipeline.cuda_graphs:
            self.model = torch.compile(model, mode="reduce-overhead")
        else:
            self.model = torch.compile(model) if pipeline.compile else model
        self.amp_dtype = torch.bfloat16 if pipeline.precision == "bf16" else None

    def _step(self, batch: dict) -> int:
        x, y = _inputs(batch, self.device, self.pipeline.channels_last)
        train_step(self.model, self.opt, x, y, self.amp_dtype)
        return y.shape[0]

    def _train(self, steps: int) -> tuple[int, Iterator | None, dict | None]:
        """Train ``steps`` steps, starting a new epoch (fresh ``iter``, new shuffle) whenever one runs out.

        Returns the images trained on, the iterator of an epoch left unfinished (or None) and the last batch.
        """
        n = done = 0
        last = None
        while True:
            it = iter(self.loader)
            for batch in it:
                n += self._step(batch)
                done += 1
                last = batch
                if done == steps:
                    return n, it, last
            self.epoch[0] += 1

    def _finish_epoch(self, it: Iterator | None) -> None:
        # Read out the rest of an epoch cut short, untrained and untimed: the classic loader's workers would
        # otherwise still be producing prefetched batches when the next timed run (of any pipeline) starts,
        # and that run would pay for them. A finished loader's iterator is simply exhausted.
        if it is not None:
            for _ in it:
                pass
        self.epoch[0] += 1

    def warm(self, steps: int) -> None:
        """Untimed steps that absorb one-off costs no epoch pays twice.

        DataLoader worker start-up (they persist), the CUDA context, cuDNN autotuning, torch.compile. The
        last, smaller batch of an epoch is a new shape for the autotuner and the compiler, so it gets a step too.
        """
        if not steps:
            return
        _, it, last = self._train(steps)
        tail = self.images % self.batch_size
        if tail and last is not None and len(last["y"]) > tail:
            self._step({k: v[:tail] for k, v in last.items()})
        _sync(self.device)
        self._finish_epoch(it)

    def time_once(self) -> float:
        """Images/s over ``steps`` training steps from a fresh epoch, data loading included."""
        _sync(self.device)
        start = time.perf_counter()
        n, it, _ = self._train(self.steps)
        _sync(self.device)
        elapsed = time.perf_counter() - start
        self._finish_epoch(it)
        return n / elapsed

    def close(self) -> None:
        # Dropping the DataLoader shuts its persistent workers down before the next batch size starts its own.
        del self.loader


def time_pipeline(pipeline: Pipeline, tensors: dict[str, torch.Tensor], *, repeats: int, warmup: int,
                  **kwargs) -> list[float]:
    """Images/s of ``repeats`` timed runs of one pipeline on its own (``kwargs`` as for :class:`PipelineRun`)."""
    runner = PipelineRun(pipeline, tensors, **kwargs)
    runner.warm(warmup)
    rates = [runner.time_once() for _ in range(repeats)]
    runner.close()
    return rates


# -- settings ----------------------------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def busy_cores(seconds: float = 0.5) -> float | None:
    """Cores kept busy by the whole machine over the next ``seconds`` (Linux ``/proc/stat``), else None.

    Sampled while this process sleeps, so it measures everyone else. Unlike the 1-minute load average it
    does not lag: a benchmark that just finished does not make the next one look contended.
    """

    def snapshot() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle  # user..steal; guest time is already inside user

    try:
        total0, idle0 = snapshot()
        time.sleep(seconds)
        total1, idle1 = snapshot()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    # /proc/stat sums every CPU of the machine, not just this process's affinity set.
    return (os.cpu_count() or 1) * (total - (idle1 - idle0)) / total if total > 0 else None


def _cpu_name() -> str:
    # The CPU model makes CPU rows comparable across machines; /proc/cpuinfo is Linux-only, hence the fallback.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "CPU"


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
    p = argparse.ArgumentParser(prog="repro bench", description=__doc__,
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
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ReproError("--device cuda but no CUDA device is available")
    on_gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda") if on_gpu else torch.device("cpu")
    device_name = torch.cuda.get_device_name(device) if on_gpu else f"{_cpu_name()} ({_cores()} cores)"
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
            raise ReproError(f"--precision bf16 but {device_name} has no bf16 support; use --precision 32")
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
        workers = min(8, _cores()) if args.workers is None else args.workers
        notes.append(f"CPU: the timed process uses {threads} torch thread(s) (torch's default, not "
                     f"set_num_threads(1)); the classic loader's {workers} worker process(es) compete with it for "
                     f"the {_cores()} core(s), which is the honest comparison for one training process here")
    return Settings(
        device=device,
        device_name=device_name,
        model=args.model,
        width=args.width or (64 if on_gpu else 8),
        batch_sizes=_batch_sizes(args.batch_size) or ([128, 512] if on_gpu else [128]),
        images=args.images or (50000 if on_gpu else 2048),
        source=args.source,
        steps=args.steps,
        repeats=args.repeats,
        warmup=args.warmup,
        workers=min(8, _cores()) if args.workers is None else args.workers,
        optimizer=args.optimizer,
        seed=args.seed,
        pipelines=pipelines,
        notes=notes,
        out=Path(args.out),
    )


# -- run, print, write -------------------------------------------------------------------------------------------


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
    s.out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = s.out / "bench.csv", s.out / "bench.json"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if r[k] is None else r[k]) for k in COLUMNS} for r in rows)
    meta = {"device": s.device_name, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cores": _cores(), "busy_cores_at_start": s.busy_cores_at_start, "optimizer": s.optimizer,
            "warmup": s.warmup, "seed": s.seed,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(), "notes": s.notes}
    json_path.write_text(json.dumps({**meta, "rows": [{k: r[k] for k in COLUMNS} for r in rows]}, indent=2) + "\n")
    return csv_path, json_path


# -- stacked models: N small models as one (repro.stacking) vs one at a time -----------------------------------


def stacked_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="repro bench --stacked", description="Model-steps/s of N small models (grokking transformers, or the "
        "double-descent MLP) trained as one stacked model (torch.func + vmap) against the same N trained one at a "
        "time, same device, same process.")
    p.add_argument("--stacked", type=int, default=8, metavar="N", help="models (default: 8)")
    p.add_argument("--model", choices=("transformer", "mlp"), default="transformer",
                   help="transformer: x÷y mod p, batch --batch-size; mlp: the double-descent quick MLP 64→w→10 "
                        "on the full digits training set (1200 images, one full-batch step)")
    p.add_argument("--width", type=int, default=None, help="default: 128 (transformer), 8 (mlp)")
    p.add_argument("--depth", type=int, default=2, help="transformer layers")
    p.add_argument("--prime", type=int, default=97, help="x÷y mod p data (default: 97)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat (default: 20)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--out", default="results/bench")
    return p


def _stacked_model(args: argparse.Namespace, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    if args.model == "mlp":
        return MLP(10, (x.shape[1],), width=args.width)
    from repro.models.transformer import Transformer

    return Transformer(int(y.max()) + 8, (x.shape[1],), width=args.width, depth=args.depth)


def _stacked_data(args: argparse.Namespace, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if args.model == "mlp":
        split = load_source("digits", train=True)
        return split.x.to(device), split.y.to(device)  # already float pixels in [0, 1]
    from repro.data.modular import ModularDataModule

    data = ModularDataModule("/", prime=args.prime, train_fraction=0.5, batch_size=args.batch_size)
    data.setup()
    idx = torch.randperm(data.n_train, generator=torch.Generator().manual_seed(0))[: data.batch_size]
    return data.splits["train"]["x"][idx].to(device), data.splits["train"]["y"][idx].to(device)


def _stacked_step_fn(mode: str, n: int, args: argparse.Namespace, device: torch.device, x, y):
    from repro.stacking import StackedModules

    models = []
    for seed in range(n):
        torch.manual_seed(seed)
        models.append(_stacked_model(args, x, y).to(device))
    if mode == "stacked":
        stacked = StackedModules(models).to(device)
        opt = torch.optim.Adam(stacked.parameters(), lr=1e-3, betas=(0.9, 0.98))

        def step() -> None:
            logits = stacked(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.repeat(n), reduction="sum") / len(y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.9, 0.98)) for m in models]

    def step() -> None:
        for m, o in zip(models, opts, strict=True):
            loss = F.cross_entropy(m(x), y)
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
    return step


def run_stacked(args: argparse.Namespace) -> list[dict]:
    """Rows ``one_at_a_time`` and ``stacked``: model-steps/s (median of repeats) and the ratio between them."""
    if args.width is None:
        args.width = 8 if args.model == "mlp" else 128
    if args.stacked < 1 or args.steps < 1 or args.repeats < 1:
        raise ReproError("--stacked, --steps and --repeats must be >= 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ReproError("--device cuda but no CUDA device is available")
    on_gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if on_gpu else "cpu")
    x, y = _stacked_data(args, device)
    device_name = torch.cuda.get_device_name(device) if on_gpu else f"{_cpu_name()} ({_cores()} cores)"
    rows = []
    for mode in ("one_at_a_time", "stacked"):
        step = _stacked_step_fn(mode, args.stacked, args, device, x, y)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.repeats):
            _sync(device)
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            _sync(device)
            times.append(time.perf_counter() - start)
        rates = [args.stacked * args.steps / t for t in times]
        rows.append({"mode": mode, "model": args.model, "models": args.stacked, "batch": len(y),
                     "model_steps_s": statistics.median(rates),
                     "model_steps_s_min": min(rates), "model_steps_s_max": max(rates), "width": args.width,
                     "depth": args.depth, "steps": args.steps, "repeats": args.repeats, "device": device_name,
                     "torch": torch.__version__, "threads": torch.get_num_threads()})
    for r in rows:
        r["ratio"] = r["model_steps_s"] / rows[0]["model_steps_s"]
    return rows


def stacked_main(argv: list[str]) -> int:
    """``repro bench --stacked N``: writes ``bench_stacked.csv`` and ``bench_stacked.json``."""
    args = stacked_parser().parse_args(argv)
    rows = run_stacked(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "bench_stacked.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "bench_stacked.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    for r in rows:
        print(f"{r['mode']:>14}: {r['model_steps_s']:8.1f} model-steps/s ({r['ratio']:.2f}×), {r['models']} "
              f"{r['model']}s of width {r['width']}, batch {r['batch']}, {r['device']}")
    print(f"wrote {out / 'bench_stacked.csv'} and {out / 'bench_stacked.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``repro bench``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a == "--stacked" or a.startswith("--stacked=") for a in argv):
        return stacked_main(argv)
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


if __name__ == "__main__":
    sys.exit(main())
