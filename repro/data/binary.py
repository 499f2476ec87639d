"""BinarySubsetDataModule: two classes of a source as a binary task, plus the pools a trained model is probed on.

Training, validation and test keep only the two chosen classes, relabelled 0 (the first) and 1 (the second). The
evaluation pools say where a decision boundary lies, near the data and away from it:

- ``in``: the test images of the two classes (in-domain);
- ``ood``: the test images of every other class of the source (out-of-domain);
- ``noise``: uniform-noise inputs, uniform on [0, 1) in the source's pixel scale (pixels / 255 for images, the
  source's own [0, 1] for vector sources) and normalised like the data, drawn from the run seed.

``pools`` holds them as model-ready float tensors (``repro.training.pools.PoolFractions`` reads it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from repro.data.core import TensorDataModule
from repro.data.noise import noise_summary
from repro.data.seeds import draw_seed
from repro.errors import ConfigValueError

__all__ = ["POOLS", "BinarySubsetDataModule"]

POOLS = ("in", "ood", "noise")


class BinarySubsetDataModule(TensorDataModule):
    """Two classes of ``source`` (relabelled 0, 1) and the ``in`` / ``ood`` / ``noise`` evaluation pools.

    Args:
        source: any source of ``repro.data.sources`` (cifar10 cat vs dog: ``classes: [3, 5]``).
        classes: the two source classes, ``[negative, positive]``; they become labels 0 and 1.
        pools: which pools to build (default all three; ``ood`` needs a source with more than two classes).
        noise_pool_size: inputs in the ``noise`` pool.
        noise_pool_seed: seed of the noise draw (default: derived from the run seed).
        mean, std: normalisation (per channel for images, one value or one per feature for vector sources, which
            are standardised once at setup); default: the source's own.
        **kwargs: :class:`~repro.data.core.TensorDataModule` arguments (batch size, train size, ...).
    """

    def __init__(self, source: str = "digits", *, classes: Sequence[int] = (0, 1),
                 pools: Sequence[str] = POOLS, noise_pool_size: int = 1000, noise_pool_seed: int | None = None,
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None, **kwargs) -> None:
        super().__init__(source, mean=mean, std=std, **kwargs)
        self.classes = [int(c) for c in classes]
        n = self.info.num_classes
        if len(self.classes) != 2 or len(set(self.classes)) != 2 or not all(0 <= c < n for c in self.classes):
            raise ConfigValueError(f"data.init_args.classes must be two distinct classes of {source} "
                                   f"(0..{n - 1}), got {list(classes)}")
        if self.label_noise > 0 or self.imbalance_ratio is not None:
            raise ConfigValueError("data.init_args.classes cannot be combined with label_noise or imbalance_ratio")
        unknown = set(pools) - set(POOLS)
        if unknown:
            raise ConfigValueError(f"data.init_args.pools: unknown pool(s) {sorted(unknown)}; use {', '.join(POOLS)}")
        if "ood" in pools and n <= 2:
            raise ConfigValueError(f"data.init_args.pools: {source} has no classes besides {self.classes}, so it "
                                   "has no out-of-domain pool; drop 'ood'")
        if noise_pool_size < 1:
            raise ConfigValueError(f"data.init_args.noise_pool_size must be >= 1, got {noise_pool_size}")
        self.pool_names = tuple(p for p in POOLS if p in pools)
        self.noise_pool_size = noise_pool_size
        self.noise_pool_seed = draw_seed(noise_pool_seed, "noise_pool")
        self.seeds["noise_pool"] = self.noise_pool_seed
        self.vector_mean, self.vector_std = (None, None) if self.info.image else (mean, std)
        self.pools: dict[str, torch.Tensor] = {}

    @property
    def num_classes(self) -> int:
        # While the parent loads the source, labels still run over all of its classes.
        return self.info.num_classes if getattr(self, "loading_source", False) else 2

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.setup_loading_all_classes(stage)
        lookup = torch.full((self.info.num_classes,), -1, dtype=torch.int64)
        lookup[self.classes] = torch.arange(2)
        other = None
        for split, tensors in self.splits.items():
            new = lookup.to(tensors["y_clean"].device)[tensors["y_clean"]]
            keep = new >= 0
            if split == "test":
                other = tensors["x"][~keep]
            self.splits[split] = {"x": tensors["x"][keep], "y": new[keep], "y_clean": new[keep]}
        if self.vector_mean is not None:
            for tensors in self.splits.values():
                tensors["x"] = self._standardise(tensors["x"])
        counts = torch.bincount(self.splits["train"]["y"].cpu(), minlength=2)
        if (counts == 0).any():
            raise ConfigValueError(f"data.init_args.classes {self.classes}: the training split of {self.source} has "
                                   f"{counts.tolist()} examples of them; each class needs at least one")
        y = self.splits["train"]["y"]
        self.noise = noise_summary(y, y, 2)
        self.pools = {}
        if "in" in self.pool_names:
            self.pools["in"] = self._model_ready(self.splits["test"]["x"])
        if "ood" in self.pool_names:
            self.pools["ood"] = self._model_ready(self._standardise(other) if self.vector_mean is not None else other)
        if "noise" in self.pool_names:
            self.pools["noise"] = self._noise_pool()

    # -- helpers ----------------------------------------------------------------------------------------
    def _standardise(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.vector_mean, dtype=x.dtype, device=x.device)
        std = torch.as_tensor(self.vector_std, dtype=x.dtype, device=x.device)
        return (x - mean) / std

    def _model_ready(self, x: torch.Tensor) -> torch.Tensor:
        """What a model sees at evaluation: the loaders' normalisation applied once."""
        return self.normalize(x)

    def _noise_pool(self) -> torch.Tensor:
        x = self.splits["train"]["x"]
        gen = torch.Generator().manual_seed(self.noise_pool_seed)
        u = torch.rand((self.noise_pool_size, *x.shape[1:]), generator=gen).to(x.device)
        if self.info.image:  # pixels / 255 in [0, 1), then the data's per-channel standardisation
            norm = self.normalize
            return (u - norm.mean.to(u.device).view(1, -1, 1, 1)) / norm.std.to(u.device).view(1, -1, 1, 1) \
                if norm.mean is not None else u
        return self._standardise(u) if self.vector_mean is not None else u
