"""Batched, device-side image augmentation (no per-image Python loop, no host round trip).

``random_crop_flip`` reproduces torchvision's ``RandomCrop(size, padding)`` + ``RandomHorizontalFlip(0.5)``,
the standard CIFAR augmentation (He et al. 2016), on a whole batch at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip_params(
    n: int, padding: int, generator: torch.Generator | None, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw per-image (top, left, flip): offsets in ``[0, 2 * padding]`` and flip bits.

    Draw order is fixed (top, then left, then flip) so a reference with an identically seeded generator
    reproduces the same crops. Flip bits are always drawn, even when flipping is off, so turning flips off
    does not change the crops.
    """
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=device)
    flip = torch.randint(0, 2, (n,), generator=generator, device=device).bool()
    return top, left, flip


def random_crop_flip(
    x: torch.Tensor, *, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero-pad by ``padding``, take a random HxW crop per image, then flip half of them horizontally.

    ``x`` is (N, C, H, W) of any dtype on any device; ``generator`` (if given) must be on ``x.device``.
    """
    if x.dim() != 4:
        raise ValueError(f"expected an (N, C, H, W) batch, got shape {tuple(x.shape)}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    n, c, h, w = x.shape
    top, left, flips = crop_flip_params(n, padding, generator, x.device)
    padded = F.pad(x, (padding, padding, padding, padding)) if padding else x
    rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=x.device)  # (N, W)
    if flip:
        # Flipping the crop = reading its columns right to left.
        cols = torch.where(flips[:, None], cols.flip(-1), cols)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]
