"""Two image sources stacked into one binary task: class c is an image of ``top_classes[c]`` from the top source
above an image of ``bottom_classes[c]`` from the bottom source (3×2s×s, no normalisation beyond pixels / 255).

Grayscale images are zero-padded to s×s and copied to three channels; images are paired in each source's own
order, up to the smallest of the four class counts (so both classes have the same count). ``mnist_cifar``:
MNIST 0 over CIFAR-10 automobile (class 0), MNIST 1 over CIFAR-10 truck (class 1), 3×64×32;
``mnist_cifar_no_s``: the same with the MNIST images assigned to the labels at random. A new pair is one
more ``register_pair`` call. ``STACKED_PAIRS`` records which rows of the image each source fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from repro.data.sources.registry import DatasetMissingError, SourceInfo, Split, load_source, register

__all__ = ["STACKED_PAIRS", "StackedPair", "register_pair", "stack_pair"]


@dataclass(frozen=True)
class StackedPair:
    top: str
    bottom: str
    top_classes: tuple[int, int]
    bottom_classes: tuple[int, int]
    side: int = 32
    shuffle_top: bool = False  # pair the top images with the labels at random (the top source carries no label)

    def rows(self, block: str) -> slice:
        """The image rows the ``top`` or ``bottom`` source fills."""
        return slice(0, self.side) if block == "top" else slice(self.side, 2 * self.side)


STACKED_PAIRS: dict[str, StackedPair] = {}


def _square(x: torch.Tensor, side: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (side - h) // 2, (side - w) // 2
    x = F.pad(x, (left, side - w - left, top, side - h - top))
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def stack_pair(top: Split, bottom: Split, pair: StackedPair) -> Split:
    """The stacked images (uint8, (2n, 3, 2·side, side)) and labels: class 0 first, then class 1."""
    picks = [(top.y == pair.top_classes[c]).nonzero().flatten() for c in (0, 1)]
    picks += [(bottom.y == pair.bottom_classes[c]).nonzero().flatten() for c in (0, 1)]
    n = min(len(p) for p in picks)
    tops = [picks[0][:n], picks[1][:n]]
    if pair.shuffle_top:  # both top classes, in an order drawn once (fixed generator), split between the labels
        both = torch.cat(tops)[torch.randperm(2 * n, generator=torch.Generator().manual_seed(0))]
        tops = [both[:n], both[n:]]
    xs = [torch.cat([_square(top.x[tops[c]], pair.side), _square(bottom.x[picks[2 + c][:n]], pair.side)], 2)
          for c in (0, 1)]
    return Split(torch.cat(xs).contiguous(), torch.arange(2).repeat_interleave(n))


def _load(name: str, train: bool, root: Path, download: bool) -> Split:
    pair = STACKED_PAIRS[name]
    loaded, missing = {}, []
    for source in (pair.top, pair.bottom):
        try:
            loaded[source] = load_source(source, train, root, download)
        except DatasetMissingError as err:
            missing.append(str(err))
    if missing:
        raise DatasetMissingError(f"data source {name!r} stacks {pair.top} over {pair.bottom}; "
                                  + " ".join(missing))
    return stack_pair(loaded[pair.top], loaded[pair.bottom], pair)


def register_pair(name: str, pair: StackedPair) -> None:
    STACKED_PAIRS[name] = pair
    register(SourceInfo(name, 2, (3, 2 * pair.side, pair.side), True, True, None, None),
             lambda train, root, download: _load(name, train, root, download))


register_pair("mnist_cifar", StackedPair("mnist", "cifar10", (0, 1), (1, 9)))
register_pair("mnist_cifar_no_s", StackedPair("mnist", "cifar10", (0, 1), (1, 9), shuffle_top=True))
