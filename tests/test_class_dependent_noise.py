"""Class-dependent noise matrices of named datasets, checked entry by entry; and a noisy validation split."""

from __future__ import annotations

import pytest
import torch

from repro.data.core import TensorDataModule
from repro.data.noise import CIFAR100_COARSE, transition_matrix
from repro.errors import ConfigValueError


def flips(T: torch.Tensor) -> dict[int, int]:
    return {i: int(j) for i in range(len(T)) for j in torch.nonzero(T[i]).flatten() if j != i}


def test_mnist_pairs_by_hand():
    T = transition_matrix(10, 0.3, "mnist_pairs")
    assert flips(T) == {7: 1, 2: 7, 3: 8, 5: 6, 6: 5}
    for i in (2, 3, 5, 6, 7):
        assert T[i, i] == pytest.approx(0.7)
    assert all(T[i, i] == 1 for i in (0, 1, 4, 8, 9))


def test_cifar10_pairs_follow_the_class_names():
    T = transition_matrix(10, 0.4, "cifar10_pairs")
    # truck→automobile, bird→airplane, cat↔dog, deer→horse (CIFAR-10 indices 0 airplane ... 9 truck)
    assert flips(T) == {9: 1, 2: 0, 3: 5, 5: 3, 4: 7}


def test_cifar100_superclass_flips_stay_in_the_true_superclass():
    T = transition_matrix(100, 0.2, "cifar100_superclass")
    moved = flips(T)
    assert len(moved) == 100 and all(CIFAR100_COARSE[i] == CIFAR100_COARSE[j] for i, j in moved.items())
    # aquatic mammals = beaver 4, dolphin 30, otter 55, seal 72, whale 95: a cycle in index order
    assert [moved[i] for i in (4, 30, 55, 72, 95)] == [30, 55, 72, 95, 4]
    assert sorted(CIFAR100_COARSE.count(c) for c in range(20)) == [5] * 20


def test_cifar100_blocks_are_consecutive_indices_not_superclasses():
    moved = flips(transition_matrix(100, 0.2, "cifar100_blocks"))
    assert [moved[i] for i in range(5)] == [1, 2, 3, 4, 0] and moved[99] == 95
    assert any(CIFAR100_COARSE[i] != CIFAR100_COARSE[j] for i, j in moved.items())


def test_binary_asymmetric():
    torch.testing.assert_close(transition_matrix(2, 0.3, "binary_asymmetric"),
                               torch.tensor([[0.95, 0.05], [0.3, 0.7]], dtype=torch.float64))
    assert torch.equal(transition_matrix(2, 0.0, "binary_asymmetric"), torch.eye(2, dtype=torch.float64))


def test_a_kind_for_another_class_count_is_an_error():
    with pytest.raises(ConfigValueError, match="noise_kind"):
        transition_matrix(100, 0.2, "mnist_pairs")


def test_noisy_validation_carries_the_same_noise_and_the_true_T_is_recorded():
    def dm(noisy_val):
        d = TensorDataModule("digits", val_size=300, noisy_val=noisy_val, label_noise=0.4, noise_kind="mnist_pairs",
                             split_seed=101, eval_splits=("val", "test"))
        d.setup()
        return d

    noisy, clean = dm(True), dm(False)
    val = noisy.splits["val"]
    flipped = val["y"] != val["y_clean"]
    assert flipped.any() and (val["y_clean"] == clean.splits["val"]["y"]).all()
    moved = {(int(a), int(b)) for a, b in zip(val["y_clean"][flipped], val["y"][flipped], strict=True)}
    assert moved <= {(7, 1), (2, 7), (3, 8), (5, 6), (6, 5)}
    assert torch.equal(clean.splits["val"]["y"], clean.splits["val"]["y_clean"])  # the default keeps val clean
    # one draw over train + val: exact per-class counts over the union (1200 examples)
    y = torch.cat([noisy.splits["train"]["y"], val["y"]])
    y_clean = torch.cat([noisy.splits["train"]["y_clean"], val["y_clean"]])
    for c in (2, 3, 5, 6, 7):
        n = int((y_clean == c).sum())
        assert abs(int(((y_clean == c) & (y != c)).sum()) - 0.4 * n) < 1
    assert noisy.noise["num_examples"] == 1200
    torch.testing.assert_close(torch.tensor(noisy.noise["transition"], dtype=torch.float64), noisy.T)
