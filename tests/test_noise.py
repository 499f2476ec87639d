import math

import pytest
import torch

from repro.data.noise import apply_label_noise, noise_summary, transition_matrix


def balanced(n: int = 10_000, c: int = 10) -> torch.Tensor:
    return torch.arange(n) % c


def test_uniform_incorrect_flips_exact_fraction_and_never_to_true_label():
    clean = balanced()
    noisy = apply_label_noise(clean, transition_matrix(10, 0.2), seed=0)
    assert noisy.dtype == torch.int64 and noisy.shape == clean.shape
    flipped = noisy != clean
    assert abs(int(flipped.sum()) - 2000) <= 10
    # Per class: exactly 800 kept, and each of the 9 wrong classes gets 200/9 rounded (22 or 23), so no
    # "flip" was spent on the true label.
    for i in range(10):
        counts = torch.bincount(noisy[clean == i], minlength=10)
        assert counts[i] == 800 and counts.sum() == 1000
        assert set(counts[torch.arange(10) != i].tolist()) <= {22, 23}
    assert noise_summary(clean, noisy, 10)["flip_rate"] == pytest.approx(0.2, abs=1e-3)


@pytest.mark.parametrize("kind", ["uniform_incorrect", "symmetric", "pair"])
def test_empirical_transition_matches_T_within_one_example(kind):
    clean = torch.cat([torch.full((n,), i) for i, n in enumerate([997, 1003, 450, 120, 31])])
    clean = clean[torch.randperm(len(clean), generator=torch.Generator().manual_seed(1))]
    T = transition_matrix(5, 0.37, kind)
    summary = noise_summary(clean, apply_label_noise(clean, T, seed=3), 5)
    emp = torch.tensor(summary["empirical_transition"], dtype=torch.float64)
    n_i = torch.tensor(summary["class_counts"], dtype=torch.float64)
    assert ((emp - T).abs() < 1 / n_i[:, None]).all()


def test_pair_noise_only_moves_to_next_class():
    clean = balanced(3000, 6)
    noisy = apply_label_noise(clean, transition_matrix(6, 0.4, "pair"), seed=0)
    moved = noisy != clean
    assert moved.any()
    assert (noisy[moved] == (clean[moved] + 1) % 6).all()


def test_symmetric_matrix_by_hand_and_rows_sum_to_one():
    T = transition_matrix(3, 0.3, "symmetric")
    keep, other = 1 - 0.3 + 0.1, 0.1
    expected = torch.tensor(
        [[keep, other, other], [other, keep, other], [other, other, keep]], dtype=torch.float64
    )
    torch.testing.assert_close(T, expected)
    for kind in ["uniform_incorrect", "pair"]:
        torch.testing.assert_close(transition_matrix(7, 0.3, kind).sum(1), torch.ones(7, dtype=torch.float64))


def test_seed_determinism_and_independence_from_global_rng():
    clean, T = balanced(2000), transition_matrix(10, 0.3)
    torch.manual_seed(0)
    a = apply_label_noise(clean, T, seed=5)
    torch.manual_seed(123)
    b = apply_label_noise(clean, T, seed=5)
    assert torch.equal(a, b)
    assert not torch.equal(a, apply_label_noise(clean, T, seed=6))


@pytest.mark.parametrize("args", [(10, 1.0), (10, -0.1), (10, math.nan), (10, 0.2, "bogus"), (1, 0.2)])
def test_invalid_noise_config_raises(args):
    with pytest.raises(ValueError, match="label_noise"):
        transition_matrix(*args)


def test_rate_zero_is_identity():
    clean = balanced(1000)
    noisy = apply_label_noise(clean, transition_matrix(10, 0.0), seed=0)
    assert torch.equal(noisy, clean)
    assert noise_summary(clean, noisy, 10)["num_flipped"] == 0
