"""Modular-arithmetic tables: complete, correct against Python's own arithmetic, split disjointly and reproducibly."""

from __future__ import annotations

import pytest
import torch

from repro.data.modular import OPERATIONS, ModularDataModule, StepLoader, operation_table
from repro.errors import ConfigValueError, ReproError

REFERENCE = {
    "+": lambda a, b, p: (a + b) % p,
    "-": lambda a, b, p: (a - b) % p,
    "*": lambda a, b, p: (a * b) % p,
    "/": lambda a, b, p: (a * pow(b, -1, p)) % p,  # Python's modular inverse
    "x^2+y^2": lambda a, b, p: (a * a + b * b) % p,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("p", [2, 7, 97])
def test_table_is_complete_and_correct(operation, p):
    a, b, c = operation_table(operation, p)
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    low = 1 if operation == "/" else 0
    assert sorted(pairs) == [(i, j) for i in range(p) for j in range(low, p)]  # every pair exactly once
    assert c.tolist() == [REFERENCE[operation](i, j, p) for i, j in pairs]


def test_division_matches_pow_and_inverts_multiplication():
    p = 97
    a, b, c = operation_table("/", p)
    assert c.tolist() == [(i * pow(j, p - 2, p)) % p for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    assert ((c * b) % p).tolist() == a.tolist()


def test_split_is_disjoint_complete_and_reproducible():
    dm = ModularDataModule("/", prime=23, train_fraction=0.3, split_seed=5)
    dm.setup()
    tr, va = dm.split_indices()
    assert len(tr) == round(0.3 * 23 * 22) and len(tr) + len(va) == 23 * 22
    assert set(tr.tolist()).isdisjoint(va.tolist()) and set(tr.tolist()) | set(va.tolist()) == set(range(23 * 22))
    again = ModularDataModule("/", prime=23, train_fraction=0.3, split_seed=5)
    assert torch.equal(again.split_indices()[0], tr)
    other = ModularDataModule("/", prime=23, train_fraction=0.3, split_seed=6)
    assert not torch.equal(other.split_indices()[0], tr)
    # The stored split holds the sequences "a ∘ b =" and the answers of exactly those equations.
    x, y = dm.splits["train"]["x"], dm.splits["train"]["y"]
    assert (x[:, 1] == dm.op_token).all() and (x[:, 3] == dm.eq_token).all()
    assert y.tolist() == [(int(i) * pow(int(j), -1, 23)) % 23 for i, j in x[:, [0, 2]].tolist()]


def test_vocabulary_and_default_batch():
    dm = ModularDataModule("/", prime=97, train_fraction=0.5)
    assert dm.num_classes == 97 + len(OPERATIONS) + 1 and dm.in_shape == (4,)
    assert dm.batch_size == min(512, round(0.5 * 97 * 96) // 2)
    small = ModularDataModule("+", prime=11, train_fraction=0.5)
    assert small.batch_size == round(0.5 * 121) // 2
    assert ModularDataModule("+", prime=11, batch_size=0).batch_size == small.n_train


def test_step_loader_covers_each_epoch_and_resumes_at_the_same_batch():
    tensors = {"x": torch.arange(10)[:, None], "y": torch.arange(10)}
    loader = StepLoader(tensors, batch_size=3, seed=1)
    it = iter(loader)
    batches = [next(it)["y"] for _ in range(6)]
    assert sorted(torch.cat(batches[:3]).tolist()) == sorted(set(torch.cat(batches[:3]).tolist()))  # no repeats
    assert len(set(torch.cat(batches[:3]).tolist())) == 9
    resumed = iter(StepLoader(tensors, batch_size=3, seed=1, start_step=lambda: 4))
    assert torch.equal(next(resumed)["y"], batches[4]) and torch.equal(next(resumed)["y"], batches[5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prime": 91}, "not a prime"),
        ({"prime": 1}, "not a prime"),
        ({"train_fraction": 0.0}, r"must lie in \(0, 1\)"),
        ({"train_fraction": 1.5}, r"must lie in \(0, 1\)"),
        ({"operation": "^"}, "unknown"),
        ({"prime": 2, "operation": "/", "train_fraction": 0.9}, "empty split"),
        ({"batch_size": -1}, "batch_size"),
    ],
)
def test_bad_values_are_clear_config_errors(kwargs, match):
    with pytest.raises(ConfigValueError, match=match) as err:
        ModularDataModule(**{"operation": "/", "prime": 97, **kwargs})
    assert isinstance(err.value, ReproError) and isinstance(err.value, ValueError)
