"""LDAM-DRW losses and weights (Cao et al. 2019) against brute-force per-sample formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from repro.data.imbalance import long_tail_counts
from repro.errors import ConfigValueError
from repro.papers.ldam_drw.losses import ldam_hinge_loss, ldam_loss, ldam_margins
from repro.training.losses import class_balanced_weights, focal_loss, inverse_frequency_weights

CIFAR10_LT100 = torch.tensor(long_tail_counts(5000, 10, 100))


def test_margins_for_cifar10_lt100_match_the_card():
    m = ldam_margins(CIFAR10_LT100, 0.5)
    assert m[0].item() == pytest.approx(0.158, abs=1e-3)
    assert m[-1].item() == pytest.approx(0.5)
    assert torch.all(m[1:] > m[:-1])  # rarer class, larger margin


def test_ldam_equals_brute_force_per_sample():
    torch.manual_seed(0)
    cos = torch.rand(16, 10) * 2 - 1
    y = torch.randint(0, 10, (16,))
    m = ldam_margins(CIFAR10_LT100)
    w = class_balanced_weights(CIFAR10_LT100)
    num = den = 0.0
    for i in range(16):
        z = [30 * (cos[i, j].item() - (m[j].item() if j == y[i] else 0.0)) for j in range(10)]
        ell = -z[y[i]] + math.log(sum(math.exp(v) for v in z))
        num += w[y[i]].item() * ell
        den += w[y[i]].item()
    assert ldam_loss(cos, y, m, scale=30, weight=w).item() == pytest.approx(num / den, rel=1e-5)
    # Unweighted: the plain mean of the same per-sample terms.
    plain = sum(-30 * (cos[i, y[i]] - m[y[i]]) + torch.logsumexp(
        30 * (cos[i] - m[y[i]] * F.one_hot(y[i], 10)), 0) for i in range(16)) / 16
    assert ldam_loss(cos, y, m).item() == pytest.approx(plain.item(), rel=1e-5)


def test_ldam_with_zero_margins_and_unit_scale_is_cross_entropy():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.allclose(ldam_loss(logits, y, torch.zeros(5), scale=1.0), F.cross_entropy(logits, y))


def test_ldam_hinge_brute_force():
    torch.manual_seed(1)
    z, y, m = torch.randn(12, 4), torch.randint(0, 4, (12,)), torch.tensor([0.1, 0.2, 0.3, 0.5])
    per = [max(max(z[i, j].item() for j in range(4) if j != y[i]) - z[i, y[i]].item() + m[y[i]].item(), 0.0)
           for i in range(12)]
    assert ldam_hinge_loss(z, y, m).item() == pytest.approx(sum(per) / 12, rel=1e-5)


def test_focal_gamma0_is_ce_and_gamma_half_is_finite_near_zero_loss():
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.allclose(focal_loss(logits, y, gamma=0.0), F.cross_entropy(logits, y))
    confident = torch.full((4, 3), -50.0)
    confident[:, 0] = 50.0
    confident.requires_grad_(True)
    loss = focal_loss(confident, torch.zeros(4, dtype=torch.long), gamma=0.5)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(confident.grad).all()
    # γ=1 per sample: (1 − p_y) · CE_i, mean over the batch (not focal of the batch-mean CE).
    ce = F.cross_entropy(logits, y, reduction="none")
    expected = ((1 - torch.exp(-ce)) * ce).mean()
    assert focal_loss(logits, y, gamma=1.0).item() == pytest.approx(expected.item(), rel=1e-5)


def test_effective_number_weights_approach_inverse_frequency_as_beta_to_1():
    cb = class_balanced_weights(CIFAR10_LT100, beta=1 - 1e-9)
    inv = inverse_frequency_weights(CIFAR10_LT100)
    assert torch.allclose(cb, inv, rtol=1e-4)
    assert cb.sum().item() == pytest.approx(10, rel=1e-5)
    # The code's β=0.9999 range from the card: 0.051 … 3.99.
    w = class_balanced_weights(CIFAR10_LT100, 0.9999)
    assert w[0].item() == pytest.approx(0.051, abs=2e-3) and w[-1].item() == pytest.approx(3.99, abs=0.02)


def test_weighted_loss_is_weighted_mean_not_plain_mean():
    logits, y = torch.randn(6, 3), torch.tensor([0, 0, 0, 0, 1, 2])
    w = torch.tensor([1.0, 5.0, 9.0])
    per = F.cross_entropy(logits, y, reduction="none")
    assert ldam_loss(logits, y, torch.zeros(3), scale=1.0, weight=w).item() == pytest.approx(
        ((w[y] * per).sum() / w[y].sum()).item(), rel=1e-5)


def test_empty_class_and_bad_parameters_are_config_errors():
    with pytest.raises(ConfigValueError, match="no training examples"):
        ldam_margins(torch.tensor([5, 0, 3]))
    with pytest.raises(ConfigValueError, match="cb_beta"):
        class_balanced_weights(torch.tensor([5, 3]), beta=1.0)
    with pytest.raises(ConfigValueError, match="focal_gamma"):
        focal_loss(torch.randn(2, 2), torch.tensor([0, 1]), gamma=-1)
