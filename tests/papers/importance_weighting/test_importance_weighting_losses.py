"""Class-weighted cross-entropy (repro.training.weighting): both reductions against hand-computed values, weights of
one are plain cross-entropy, stacked members, mean-one normalisation, and non-positive weights as a clear error."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from repro.errors import ConfigValueError
from repro.training.weighting import check_weights, normalize_to_mean_one, weighted_cross_entropy

LOGITS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
Y = torch.tensor([0, 1, 1])
# per-example losses by hand: −log softmax of the true class
L1, L2, L3 = math.log(2), math.log(1 + math.e), math.log(1 + math.exp(-2))


def test_both_reductions_against_hand_computed_values():
    w = torch.tensor([1.0, 4.0])
    total = 1 * L1 + 4 * L2 + 4 * L3
    assert weighted_cross_entropy(LOGITS, Y, w, "n").item() == pytest.approx(total / 3, rel=1e-6)
    assert weighted_cross_entropy(LOGITS, Y, w, "weight_sum").item() == pytest.approx(total / 9, rel=1e-6)
    # weight_sum is what PyTorch's own weighted cross-entropy computes
    assert weighted_cross_entropy(LOGITS, Y, w, "weight_sum").item() == pytest.approx(
        F.cross_entropy(LOGITS, Y, weight=w).item(), rel=1e-6)


@pytest.mark.parametrize("reduction", ["n", "weight_sum"])
def test_weights_of_one_are_plain_cross_entropy(reduction):
    torch.manual_seed(0)
    logits, y = torch.randn(17, 2), torch.randint(0, 2, (17,))
    assert weighted_cross_entropy(logits, y, torch.ones(2), reduction).item() == pytest.approx(
        F.cross_entropy(logits, y).item(), rel=1e-6)
    assert weighted_cross_entropy(LOGITS, Y, torch.ones(2), reduction).item() == pytest.approx(
        (L1 + L2 + L3) / 3, rel=1e-6)


def test_the_reductions_differ_by_the_batch_mean_weight():
    w = torch.tensor([0.5, 3.0])
    ratio = weighted_cross_entropy(LOGITS, Y, w, "n") / weighted_cross_entropy(LOGITS, Y, w, "weight_sum")
    assert ratio.item() == pytest.approx((0.5 + 3 + 3) / 3, rel=1e-6)  # Σw / n of this batch


def test_stacked_members_each_get_their_own_weights():
    weights = torch.tensor([[1.0, 1.0], [1.0, 4.0], [2.0, 0.5]])
    logits = LOGITS.expand(3, -1, -1) * torch.tensor([1.0, 2.0, -1.0]).view(3, 1, 1)
    for reduction in ("n", "weight_sum"):
        stacked = weighted_cross_entropy(logits, Y, weights, reduction)
        assert stacked.shape == (3,)
        for m in range(3):
            assert stacked[m].item() == pytest.approx(
                weighted_cross_entropy(logits[m], Y, weights[m], reduction).item(), rel=1e-6)


def test_normalised_weights_have_mean_one_over_the_training_set():
    counts = torch.tensor([130, 119])
    got = normalize_to_mean_one(torch.tensor([1.0, 4.0]), counts)
    assert got.tolist() == pytest.approx([249 / 606, 4 * 249 / 606], rel=1e-6)  # Σ n_c w_c = 130 + 476 = 606
    stacked = normalize_to_mean_one(torch.tensor([[1.0, 4.0], [2.0, 2.0]]), counts)
    assert stacked[1].tolist() == pytest.approx([1.0, 1.0])
    assert float((stacked * counts).sum(-1)[0] / counts.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [[1.0, 0.0], [-2.0, 1.0], [1.0, float("nan")], [float("inf")], []])
def test_a_non_positive_weight_is_a_clear_error(bad):
    with pytest.raises(ConfigValueError, match="model.init_args.ratios"):
        check_weights(bad, "model.init_args.ratios")


def test_an_unknown_reduction_is_a_clear_error():
    with pytest.raises(ConfigValueError, match="reduction"):
        weighted_cross_entropy(LOGITS, Y, torch.ones(2), "mean")
