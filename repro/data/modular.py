"""Binary-operation tables ``a ∘ b mod p``: small algorithmic datasets whose whole table fits on the device.

Every symbol is its own token: the residues ``0..p−1``, one token per operation, ``=`` and (with ``eos``) an
end-of-sequence token. An example is the sequence ``a ∘ b =`` (``x``, shape (4,)) and its answer ``c`` (``y``); the
models predict the answer from the last position, over the whole vocabulary (as openai/grok's untied output layer
does). With ``eos`` it is openai/grok's sequence ``<eos> a ∘ b = c <eos>``: the input is its first six tokens and
the targets (``y``, shape (2,)) the last two positions' next tokens, ``c`` and ``<eos>``.
The whole table is small, so it lives on the training device and batches are indexed there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np
import pytorch_lightning as pl
import torch

from repro.data.seeds import draw_seed
from repro.errors import ConfigValueError

# Each operation: (function of integer tensors a, b and the prime p, whether b must be non-zero).
OPERATIONS: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor], bool]] = {
    "+": (lambda a, b, p: (a + b) % p, False),
    "-": (lambda a, b, p: (a - b) % p, False),
    "*": (lambda a, b, p: (a * b) % p, False),
    # b^(p−2) is b's inverse by Fermat's little theorem; p < 2^31 keeps every product inside int64.
    "/": (lambda a, b, p: (a * _pow_mod(b, p - 2, p)) % p, True),
    "x^2+y^2": (lambda a, b, p: (a * a + b * b) % p, False),
}


def _pow_mod(b: torch.Tensor, e: int, p: int) -> torch.Tensor:
    """b^e mod p elementwise by square-and-multiply (int64-safe for p < 2^31)."""
    out, base = torch.ones_like(b), b % p
    while e:
        if e & 1:
            out = (out * base) % p
        base = (base * base) % p
        e >>= 1
    return out


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))


def operation_table(operation: str, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair (a, b) once, with its answer: ``a, b, c`` as int64 tensors (b ≠ 0 for division)."""
    if not isinstance(p, int) or not is_prime(p) or p >= 2**31:
        raise ConfigValueError(f"data.init_args.prime={p!r} is not a prime below 2^31; use one such as 47 or 97")
    if operation not in OPERATIONS:
        raise ConfigValueError(f"data.init_args.operation={operation!r} is unknown; use one of {list(OPERATIONS)}")
    fn, nonzero_b = OPERATIONS[operation]
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(1 if nonzero_b else 0, p)).unbind(1)
    return a, b, fn(a, b, p)


def split_sizes(n: int, train_fraction: float) -> int:
    """Training-set size of a table of ``n`` equations; both splits must be non-empty."""
    if not 0 < train_fraction < 1:
        raise ConfigValueError(f"data.init_args.train_fraction={train_fraction} must lie in (0, 1), e.g. 0.5")
    n_train = round(train_fraction * n)
    if not 0 < n_train < n:
        raise ConfigValueError(f"data.init_args.train_fraction={train_fraction} leaves an empty split of the "
                               f"{n}-equation table; choose a larger prime or a fraction nearer 0.5")
    return n_train


def numpy_split_order(operation: str, p: int, seed: int) -> torch.Tensor:
    """The table's indices (``operation_table`` order) in openai/grok's order: its data.py lists the equations
    for every pair (x, y) of ``range(p)²`` — for division it skips y = 0 and writes ``(x·y mod p) / y = x`` — and
    shuffles that list with ``np.random.RandomState(seed)``; its first ``round(f·N)`` are the training split."""
    a, b, _ = operation_table(operation, p)
    if OPERATIONS[operation][1]:  # division: x is the answer c, y the divisor b; the table holds a = b·c
        c, b = torch.cartesian_prod(torch.arange(p), torch.arange(1, p)).unbind(1)
        index = ((b * c) % p) * (p - 1) + (b - 1)  # the row of (a, b) in the table, a-major, b from 1
    else:
        index = torch.arange(len(a))
    order = np.arange(len(index))
    np.random.RandomState(seed).shuffle(order)
    return index[torch.from_numpy(order)]


class StepLoader:
    """Training batches indexed on the device, without end: step t uses the permutation of epoch
    ``t // batches_per_epoch`` (seeded by ``seed`` and that epoch), so a resumed run sees the same batches.

    With ``drop_last`` an epoch is ``n // batch_size`` full batches (the remainder, a different one each epoch,
    is left out); without it the epoch ends with the short remainder batch, as a ``DataLoader`` without
    ``drop_last`` (and openai/grok's iterator) does.

    Lightning fetches batches ahead of the step, so the position comes from ``start_step()`` when
    iteration begins and is counted from there.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], *, batch_size: int, seed: int,
                 start_step: Callable[[], int] = lambda: 0, drop_last: bool = True) -> None:
        self.tensors = tensors
        self.n = len(tensors["y"])
        self.batch_size = min(batch_size, self.n)
        self.per_epoch = self.n // self.batch_size if drop_last else -(-self.n // self.batch_size)
        self.seed = seed
        self.start_step = start_step

    def _order(self, epoch: int) -> torch.Tensor:
        if self.per_epoch == 1 and self.batch_size == self.n:
            return torch.arange(self.n)  # full batch: no order to draw
        return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        step = self.start_step()
        epoch, order = None, None
        device = self.tensors["y"].device
        while True:
            if step // self.per_epoch != epoch:
                epoch = step // self.per_epoch
                order = self._order(epoch).to(device)
            pos = step % self.per_epoch
            idx = order[pos * self.batch_size : (pos + 1) * self.batch_size]
            yield {**{k: v[idx] for k, v in self.tensors.items()}, "index": idx}
            step += 1


class EvalLoader:
    """A split's evaluation batches, in order (a loader Lightning can iterate and size)."""

    def __init__(self, batches: list[dict[str, torch.Tensor]]) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class ModularDataModule(pl.LightningDataModule):
    """``a ∘ b mod p`` split at random into training and validation equations.

    Args:
        source: the dataset's name, ``modular`` (generated here; it names the data like
            ``TensorDataModule.source`` does, so tools that read a config's data source find one).
        operation: ``+``, ``-``, ``*``, ``/`` (b ≠ 0) or ``x^2+y^2``.
        prime: the modulus p (a prime).
        train_fraction: share of all equations in the training split, in (0, 1).
        split_seed: seed of the split (recorded in the config; openai/grok fixes it at 0).
        split_shuffle: ``torch`` (a ``torch.randperm`` of the table) or ``numpy`` (openai/grok's own order and
            ``np.random.RandomState(split_seed)`` shuffle, :func:`numpy_split_order`: with ``split_seed`` 0 the
            very equations openai/grok trains on).
        batch_size: training batch; ``None`` = min(512, half the training set) (openai/grok's default), 0 = full batch.
        drop_last: leave out the short last batch of each epoch (``False``: train on it, as openai/grok does).
        eos: openai/grok's sequences ``<eos> a ∘ b = c <eos>``: input ``<eos> a ∘ b = c`` (6 tokens), targets ``c``
            and ``<eos>`` (``y`` of shape (N, 2); a model returns the logits of the last two positions).
        vocab_size: the number of tokens the output layer scores (``None``: the tokens used); more pads the
            vocabulary with tokens that never occur, as openai/grok's 239-token vocabulary (shared by all its
            tasks) does for one task.
        eval_batch_size: batch of the evaluation passes.
        eval_splits: splits evaluated at every validation pass, in order (``val``, ``train``).
        seed: seed of the per-epoch batch order (default: derived from the run seed, ``repro.data.seeds``).
    """

    def __init__(self, operation: str = "/", *, source: str = "modular", prime: int = 97, train_fraction: float = 0.5,
                 split_seed: int = 0, split_shuffle: Literal["torch", "numpy"] = "torch",
                 batch_size: int | None = None, drop_last: bool = True, eos: bool = False,
                 vocab_size: int | None = None, eval_batch_size: int = 8192,
                 eval_splits: tuple[str, ...] = ("val", "train"), seed: int | None = None) -> None:
        super().__init__()
        if source != "modular":
            raise ConfigValueError(f"data.init_args.source={source!r}: ModularDataModule generates 'modular' only")
        self.source = source
        self.a, self.b, self.c = operation_table(operation, prime)  # validates prime and operation
        self.n_train = split_sizes(len(self.c), train_fraction)
        if batch_size is not None and batch_size < 0:
            raise ConfigValueError(f"data.init_args.batch_size must be >= 0 (0 = full batch), got {batch_size}")
        unknown = set(eval_splits) - {"val", "train"}
        if unknown:
            raise ConfigValueError(f"data.init_args.eval_splits: unknown split(s) {sorted(unknown)}; use val, train")
        if split_shuffle not in ("torch", "numpy"):
            raise ConfigValueError(f"data.init_args.split_shuffle={split_shuffle!r}: use torch or numpy")
        self.operation, self.prime, self.train_fraction = operation, prime, train_fraction
        self.eos, self.drop_last, self.split_shuffle = eos, drop_last, split_shuffle
        used = prime + len(OPERATIONS) + 1 + int(eos)
        if vocab_size is not None and vocab_size < used:
            raise ConfigValueError(f"data.init_args.vocab_size={vocab_size} is smaller than the {used} tokens this "
                                   f"table uses; give at least {used}, or null for exactly those")
        self.vocab_size = used if vocab_size is None else vocab_size
        self.split_seed, self.seed = split_seed, draw_seed(seed, "order")
        self.seeds = {"split": split_seed, "order": self.seed}
        self.batch_size = min(512, self.n_train // 2) if batch_size is None else (batch_size or self.n_train)
        self.eval_batch_size = eval_batch_size
        self.eval_splits = tuple(eval_splits)
        self.splits: dict[str, dict[str, torch.Tensor]] = {}

    # Tokens: residues 0..p−1, then one per operation, then "=", then "<eos>"; padding up to vocab_size.
    @property
    def op_token(self) -> int:
        return self.prime + list(OPERATIONS).index(self.operation)

    @property
    def eq_token(self) -> int:
        return self.prime + len(OPERATIONS)

    @property
    def eos_token(self) -> int:
        return self.prime + len(OPERATIONS) + 1

    @property
    def num_classes(self) -> int:
        """The vocabulary size: the output layer scores every token, as in openai/grok."""
        return self.vocab_size

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (6,) if self.eos else (4,)

    def sequences(self) -> torch.Tensor:
        """Every equation's input, shape (N, 4): ``a ∘ b =``; with ``eos`` (N, 6): ``<eos> a ∘ b = c``."""
        n = len(self.c)
        x = torch.stack([self.a, torch.full((n,), self.op_token), self.b, torch.full((n,), self.eq_token)], 1)
        if self.eos:
            x = torch.cat([torch.full((n, 1), self.eos_token), x, self.c[:, None]], 1)
        return x

    def targets(self) -> torch.Tensor:
        """Every equation's target: ``c`` (N,); with ``eos`` the next tokens of the last two positions,
        ``c`` and ``<eos>`` (N, 2)."""
        if self.eos:
            return torch.stack([self.c, torch.full_like(self.c, self.eos_token)], 1)
        return self.c

    def split_indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.split_shuffle == "numpy":
            order = numpy_split_order(self.operation, self.prime, self.split_seed)
        else:
            order = torch.randperm(len(self.c), generator=torch.Generator().manual_seed(self.split_seed))
        return order[: self.n_train], order[self.n_train :]

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        x, y = self.sequences(), self.targets()
        for name, idx in zip(("train", "val"), self.split_indices(), strict=True):
            self.splits[name] = {"x": x[idx].to(device), "y": y[idx].to(device), "y_clean": y[idx].to(device)}

    def train_dataloader(self) -> StepLoader:
        self.setup()
        trainer = self.trainer
        return StepLoader(self.splits["train"], batch_size=self.batch_size, seed=self.seed, drop_last=self.drop_last,
                          start_step=(lambda: trainer.global_step) if trainer is not None else (lambda: 0))

    def val_dataloader(self) -> list[EvalLoader]:
        self.setup()
        return [self._eval_batches(s) for s in self.eval_splits]

    def _eval_batches(self, split: str) -> EvalLoader:
        t = self.splits[split]
        n, b = len(t["y"]), self.eval_batch_size
        return EvalLoader([{k: v[i : i + b] for k, v in t.items()} for i in range(0, n, b)])
