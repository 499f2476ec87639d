"""The block datasets (repro.data.slabs) against their definitions, each written out here independently: the
ranges of every block given y, the margins, the per-slab probabilities, independence of the coordinates given y,
the rotation, and the run seed driving every draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from repro.data.core import TensorDataModule
from repro.data.slabs import BLOCK_SETS, block_data, draw_blocks, unrotate
from repro.data.sources import load_source
from repro.data.sources.slabs import block_rotation
from repro.errors import ReproError

N = 40_000
# The intervals written out from the definition (width B = 1, gap 2γ = 0.2), not from the code's formula.
FIVE = [(-1.0, -0.76), (-0.56, -0.32), (-0.12, 0.12), (0.32, 0.56), (0.76, 1.0)]
W7 = 0.8 / 7  # seven slabs share the 2 − 6·0.2 = 0.8 left after the gaps
SEVEN = [(-1.0 + j * (W7 + 0.2), -1.0 + j * (W7 + 0.2) + W7) for j in range(7)]


def column(block: str, seed: int = 0, n: int = N):
    x, y = draw_blocks((block,), n, np.random.default_rng(seed))
    return x[:, 0], y


def interval_of(x, intervals):
    """Index of the interval holding each value (−1 for none)."""
    out = np.full(len(x), -1)
    for j, (a, b) in enumerate(intervals):
        out[(x >= a - 1e-12) & (x <= b + 1e-12)] = j
    return out


def test_labels_are_uniform_signs():
    _, y = column("linear")
    assert set(np.unique(y)) == {-1, 1}
    assert abs((y == 1).mean() - 0.5) < 0.01


def test_linear_block_is_uniform_beyond_the_margin_on_the_side_of_its_label():
    x, y = column("linear")
    pos, neg = x[y == 1], x[y == -1]
    assert pos.min() >= 0.1 and pos.max() <= 1 and neg.max() <= -0.1 and neg.min() >= -1
    assert stats.kstest(pos, stats.uniform(0.1, 0.9).cdf).pvalue > 1e-3
    assert stats.kstest(-neg, stats.uniform(0.1, 0.9).cdf).pvalue > 1e-3


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_noisy_linear_moves_exactly_a_fraction_p_inside_the_margin(p):
    x, y = column(f"noisy_linear:{p}")
    inside = np.abs(x) < 0.1
    assert inside.sum() == round(p * N)
    assert np.all(np.sign(x[~inside]) == y[~inside])  # the rest is the linear block
    # the best classifier on this coordinate alone (its sign) is right on the clean rows and half the moved ones
    assert abs((np.sign(x) == y).mean() - (1 - p / 2)) < 0.01


def test_five_slab_values_sit_in_their_class_intervals_with_the_original_probabilities():
    x, y = column("slab5")
    where = interval_of(x, FIVE)
    assert (where >= 0).all()
    assert set(np.unique(where[y == 1])) == {1, 3} and set(np.unique(where[y == -1])) == {0, 2, 4}
    neg = where[y == -1]
    assert abs((neg == 2).mean() - 0.75) < 0.015  # the centre slab carries 3/4 of the negatives
    assert abs((neg == 0).mean() - 0.125) < 0.01 and abs((neg == 4).mean() - 0.125) < 0.01
    assert abs((where[y == 1] == 1).mean() - 0.5) < 0.015


def test_seven_slab_values_sit_in_their_class_intervals_with_the_original_probabilities():
    x, y = column("slab7")
    where = interval_of(x, SEVEN)
    assert (where >= 0).all()
    assert set(np.unique(where[y == 1])) == {0, 2, 4, 6} and set(np.unique(where[y == -1])) == {1, 3, 5}
    pos, neg = where[y == 1], where[y == -1]
    assert abs(np.isin(pos, [2, 4]).mean() - 7 / 8) < 0.01  # inner positive slabs 7/8, outer 1/8
    assert abs((neg == 3).mean() - 0.5) < 0.015  # centre 1/2, the other two negative slabs 1/4 each


@pytest.mark.parametrize("block", ["slab3", "slab5", "slab7", "linear"])
def test_every_block_separates_the_classes_with_a_gap_of_two_gamma(block):
    x, y = column(block)
    xs, ys = np.sort(x), y[np.argsort(x)]
    changes = np.flatnonzero(ys[1:] != ys[:-1])
    assert np.diff(xs)[changes].min() >= 0.2 - 1e-3  # every label change along the line crosses a gap ≥ 2γ


def test_noise_block_carries_no_label_information():
    x, y = column("noise")
    assert x.min() >= -1 and x.max() <= 1
    assert stats.ks_2samp(x[y == 1], x[y == -1]).pvalue > 1e-3


def test_linear_slab_noise_set():
    x, y = draw_blocks(BLOCK_SETS["lsn"].blocks, N, np.random.default_rng(0))
    assert np.all(x[:, 0] == y)
    assert np.all(x[y == -1, 1] == 0) and set(np.unique(x[y == 1, 1])) == {-1.0, 1.0}
    assert abs(x[:, 2:].std() - 1) < 0.01


def test_coordinates_are_independent_given_the_label():
    x, y = draw_blocks(BLOCK_SETS["lms5"].blocks[:6], N, np.random.default_rng(1))
    for cls in (-1, 1):
        corr = np.corrcoef(x[y == cls].T)
        assert np.abs(corr[~np.eye(6, dtype=bool)]).max() < 0.03


def test_dataset_is_rotated_and_the_rotation_undoes_it():
    data = block_data("lms5", 3, 2000, 500)
    q = data.rotation
    assert torch.allclose(q.T @ q, torch.eye(50, dtype=q.dtype), atol=1e-10)
    raw = unrotate(data.x_train.double(), q)
    sign = 2 * data.y_train - 1
    assert (sign * raw[:, 0] >= 0.1 - 1e-5).all()  # the un-rotated coordinate 0 is the linear block
    assert not (sign * data.x_train[:, 0] >= 0.1).all()  # the rotated one is not
    assert interval_of(raw[:, 1].numpy(), FIVE).min() >= 0


def test_run_seed_draws_data_and_rotation(monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "0")
    a, qa = load_source("ms57", train=True).x, block_rotation("ms57")[0]
    assert torch.equal(a, load_source("ms57", train=True).x)
    monkeypatch.setenv("PL_GLOBAL_SEED", "1")
    b, qb = load_source("ms57", train=True).x, block_rotation("ms57")[0]
    assert not torch.equal(a, b) and not torch.equal(qa, qb)


def test_sources_are_registered_with_their_shapes():
    assert load_source("lms5_d250", train=False).x.shape == (10_000, 250)
    assert load_source("noisy_lms7", train=True).x.shape == (50_000, 50)


def test_tensor_datamodule_reads_a_block_source():
    dm = TensorDataModule("lms7", train_size=1000, batch_size=64)
    dm.setup()
    assert dm.in_shape == (50,) and dm.num_classes == 2
    assert dm.splits["train"]["x"].shape == (1000, 50) and dm.splits["test"]["x"].shape == (10_000, 50)


def test_unknown_block_dataset_is_a_clear_error():
    with pytest.raises(ReproError, match="known: lms5"):
        block_data("lms9", 0, 10, 10)
