"""Noise-robust baseline losses against hand-computed values of their one-hot, class-averaged form."""

from __future__ import annotations

import math

import pytest
import torch

from repro.errors import ConfigValueError
from repro.training.noise_robust_losses import (
    clipped_probabilities,
    savage_loss,
    sigmoid_loss,
    soft_bootstrap_loss,
    unhinged_loss,
)

F = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64)  # one example, 3 classes, noisy label 0
Y = torch.tensor([0])


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def test_unhinged_is_one_minus_the_labelled_score_over_C():
    assert float(unhinged_loss(F, Y)) == pytest.approx(((1 - 2.0) + 1 + 1) / 3)


def test_sigmoid_averages_sigmoid_of_minus_y_f_over_classes():
    assert float(sigmoid_loss(F, Y)) == pytest.approx((sig(-2.0) + 0.5 + 0.5) / 3)


def test_savage_acts_on_the_softmax_probabilities():
    p = [math.exp(v) for v in (2.0, -1.0, 0.5)]
    p = [v / sum(p) for v in p]
    expected = ((1 + math.exp(2 * p[0])) ** -2 + 0.25 + 0.25) / 3
    assert float(savage_loss(F, Y)) == pytest.approx(expected)


def test_soft_bootstrap_keeps_the_prediction_in_its_target_and_its_gradient():
    p = torch.softmax(F, -1)[0].tolist()
    beta = 0.95
    expected = -sum((beta * (j == 0) + (1 - beta) * p[j]) * math.log(p[j]) for j in range(3))
    logits = F.clone().requires_grad_(True)
    loss = soft_bootstrap_loss(logits, Y, beta)
    assert float(loss.detach()) == pytest.approx(expected)
    grad, = torch.autograd.grad(loss, logits)
    # the gradient of the same loss with the target detached differs by the target's own term
    detached = logits.detach().clone().requires_grad_(True)
    pd = torch.softmax(detached, -1)
    target = (beta * torch.nn.functional.one_hot(Y, 3) + (1 - beta) * pd).detach()
    grad_detached, = torch.autograd.grad(-(target * torch.log(pd)).sum(), detached)
    assert not torch.allclose(grad, grad_detached)
    assert float(soft_bootstrap_loss(F, Y, 1.0)) == pytest.approx(-math.log(p[0]))  # β = 1 is CE


def test_only_the_noisy_class_output_gets_a_gradient_in_the_one_hot_form():
    for loss in (unhinged_loss, sigmoid_loss):
        scores = F.clone().requires_grad_(True)
        grad, = torch.autograd.grad(loss(scores, Y), scores)
        assert grad[0, 0] != 0 and (grad[0, 1:] == 0).all()


def test_probabilities_are_clipped_and_beta_is_checked():
    p = clipped_probabilities(torch.tensor([[100.0, 0.0]]))
    assert float(p.min()) == pytest.approx(1e-7) and float(p.max()) == pytest.approx(1 - 1e-7)
    with pytest.raises(ConfigValueError, match="bootstrap_beta"):
        soft_bootstrap_loss(F, Y, 1.5)
