"""OODDataModule: an in-distribution dataset paired with out-of-distribution sets.

CIFAR benchmarks score CIFAR-10 test (in-distribution) against SVHN test and CIFAR-100 test (OOD). Here an OOD set is a
source's test split (``svhn``), the held-out classes of the in-distribution source itself (``in_classes``), or
any generated set named by import path (``repro.data.synthetic.moons_ood_set``, called with the training inputs).
Every OOD set becomes one more evaluated split ``ood_<name>``; *probe* sets (``probe_<name>``) are evaluated
for confidence only (e.g. two-moons grid points far from the data). A method that understands these splits
(``repro.training.ood.UncertaintyClassifier``) logs OOD AUROC/AUPR against the ``test`` split.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from repro.data.core import TensorDataModule
from repro.data.noise import noise_summary
from repro.data.sources import SOURCES, load_source
from repro.errors import ConfigValueError, import_object

__all__ = ["OODDataModule"]


class OODDataModule(TensorDataModule):
    """:class:`TensorDataModule` plus OOD and probe sets evaluated beside ``test``.

    Args:
        source: the in-distribution source.
        ood_sets: name → a source name (its test split) or an import path ``f(train_x) -> inputs``.
        probe_sets: same form; evaluated for mean confidence only (no AUROC).
        in_classes: keep only these classes of ``source`` (relabelled 0..k−1); the test examples of the
            other classes become the OOD set ``held_out``.
        ood_size: subsample every OOD set to at most this many examples (AUPR depends on the OOD:ID ratio).
        surface: import path ``f() -> points`` of inputs whose predictions a method saves after evaluation
            (the two-moons uncertainty map).
        **kwargs: :class:`TensorDataModule` arguments (``eval_splits`` must include ``test`` when there are
            OOD sets).
    """

    def __init__(
        self,
        source: str = "digits",
        *,
        ood_sets: dict[str, str] | None = None,
        probe_sets: dict[str, str] | None = None,
        in_classes: Sequence[int] | None = None,
        ood_size: int | None = None,
        surface: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(source, **kwargs)
        self.ood_sets, self.probe_sets = dict(ood_sets or {}), dict(probe_sets or {})
        for name, spec in {**self.ood_sets, **self.probe_sets}.items():
            if spec not in SOURCES and "." not in spec:
                raise ConfigValueError(
                    f"data.init_args.ood_sets/probe_sets: {name}: {spec!r} is neither a source "
                    f"({', '.join(SOURCES)}) nor an import path such as repro.data.synthetic.moons_ood_set"
                )
        self.in_classes = None if in_classes is None else [int(c) for c in in_classes]
        if self.in_classes is not None:
            bad = [c for c in self.in_classes if not 0 <= c < self.info.num_classes]
            if bad or len(set(self.in_classes)) != len(self.in_classes) or len(self.in_classes) < 2:
                raise ConfigValueError(
                    f"data.init_args.in_classes must be >= 2 distinct classes of {source} "
                    f"(0..{self.info.num_classes - 1}), got {self.in_classes}"
                )
            if self.label_noise > 0 or self.imbalance_ratio is not None:
                raise ConfigValueError("data.init_args.in_classes cannot be combined with label_noise or "
                                       "imbalance_ratio; drop one of them")
            if len(self.in_classes) < self.info.num_classes:
                self.ood_sets["held_out"] = "held_out"
        if ood_size is not None and ood_size < 1:
            raise ConfigValueError(f"data.init_args.ood_size must be >= 1 (or null for all), got {ood_size}")
        if self.ood_sets and "test" not in self.eval_splits:
            raise ConfigValueError("data.init_args.eval_splits must include 'test': OOD sets are scored against it")
        self.ood_size = ood_size
        self.surface = surface
        self.surface_points: torch.Tensor | None = None
        self.id_splits = self.eval_splits
        self.ood_splits = tuple(f"ood_{n}" for n in self.ood_sets)
        self.probe_splits = tuple(f"probe_{n}" for n in self.probe_sets)
        self.eval_splits = (*self.id_splits, *self.ood_splits, *self.probe_splits)
        self.test_splits = ("test", *self.ood_splits, *self.probe_splits)  # what `repro test` evaluates

    @property
    def num_classes(self) -> int:
        # While the parent loads the source, labels still run over all of its classes.
        if self.in_classes is None or getattr(self, "loading_source", False):
            return self.info.num_classes
        return len(self.in_classes)

    def prepare_data(self) -> None:
        super().prepare_data()
        for spec in {**self.ood_sets, **self.probe_sets}.values():
            if spec in SOURCES:  # downloads, or stops now naming the missing files
                load_source(spec, train=False, root=self.root, download=self.download)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.setup_loading_all_classes(stage)
        held_out = self._keep_classes() if self.in_classes is not None else None
        train_x = self.splits["train"]["x"]
        device = train_x.device
        for prefix, sets in (("ood", self.ood_sets), ("probe", self.probe_sets)):
            for name, spec in sets.items():
                x = held_out if spec == "held_out" else self._load_set(name, spec, train_x)
                x = self._subsample(x.to(device)) if prefix == "ood" else x.to(device)
                zeros = torch.zeros(len(x), dtype=torch.int64, device=device)  # no labels: OOD is unlabelled
                self.splits[f"{prefix}_{name}"] = {"x": x, "y": zeros, "y_clean": zeros}
        if self.surface:
            self.surface_points = import_object(self.surface, what="data.init_args.surface")().float()

    def test_dataloader(self):
        return [self._loader(name, train=False) for name in self.test_splits]

    # -- helpers ----------------------------------------------------------------------------------------
    def _keep_classes(self) -> torch.Tensor:
        """Drop the held-out classes from every split, relabel the rest 0..k−1; return held-out test inputs."""
        lookup = torch.full((self.info.num_classes,), -1, dtype=torch.int64)
        lookup[self.in_classes] = torch.arange(len(self.in_classes))
        held_out = None
        for split, tensors in self.splits.items():
            new = lookup.to(tensors["y_clean"].device)[tensors["y_clean"]]
            keep = new >= 0
            if split == "test":
                held_out = tensors["x"][~keep]
            self.splits[split] = {"x": tensors["x"][keep], "y": new[keep], "y_clean": new[keep]}
        y = self.splits["train"]["y"]
        self.noise = noise_summary(y, y, self.num_classes)
        return held_out

    def _load_set(self, name: str, spec: str, train_x: torch.Tensor) -> torch.Tensor:
        if spec in SOURCES:
            x = self._pad(load_source(spec, train=False, root=self.root, download=self.download)).x
        else:
            x = torch.as_tensor(import_object(spec, what=f"OOD set {name!r}")(train_x.cpu()))
        if x.shape[1:] != train_x.shape[1:] or x.dtype != train_x.dtype:
            raise ConfigValueError(
                f"data.init_args: OOD set {name!r} ({spec}) has examples of shape {tuple(x.shape[1:])} {x.dtype}, "
                f"but {self.source} has {tuple(train_x.shape[1:])} {train_x.dtype}; pair sources of the same "
                "format (set pad_to for smaller images)"
            )
        return x

    def _subsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.ood_size is None or len(x) <= self.ood_size:
            return x
        gen = torch.Generator().manual_seed(self.split_seed)
        return x[torch.randperm(len(x), generator=gen)[: self.ood_size].to(x.device)]
