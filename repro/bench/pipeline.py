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

``repro bench --stacked N`` times something else (``repro.bench.stacked``).

Each row reports images/s (median of ``--repeats``), its ratio to ``classic`` at the same batch size,
achieved TFLOP/s from a ``FlopCounterMode`` count of one training step and, where the device's peak is
known, the fraction of peak. Results go to ``<out>/bench.csv`` and ``<out>/bench.json``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from repro.bench.device import sync
from repro.data.loaders import DeviceLoader, Normalizer, classic_loader
from repro.data.sources import load_source
from repro.errors import ReproError
from repro.models import MLP, FiveLayerCNN, PreActResNet18

if TYPE_CHECKING:
    pass

MODELS: dict[str, type[nn.Module]] = {"resnet18": PreActResNet18, "cnn": FiveLayerCNN, "mlp": MLP}
CONVNETS = ("resnet18", "cnn")
PADDING = 4  # RandomCrop(32, padding=4): the CIFAR recipe every pipeline uses

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
        sync(self.device)
        self._finish_epoch(it)

    def time_once(self) -> float:
        """Images/s over ``steps`` training steps from a fresh epoch, data loading included."""
        sync(self.device)
        start = time.perf_counter()
        n, it, _ = self._train(self.steps)
        sync(self.device)
        elapsed = time.perf_counter() - start
        self._finish_epoch(it)
        return n / elapsed

    def close(self) -> None:
        # Dropping the DataLoader shuts its persistent workers down before the next batch size starts its own.
        del self.loader
