"""The corrected losses against hand-computed / brute-force references: T = I gives CE, backward is unbiased
(exactly, over the noisy labels T draws), forward is −log Σ_i p_i T_iỹ, both stay finite; bad matrices are errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from repro.data.noise import transition_matrix
from repro.errors import ConfigValueError
from repro.papers.loss_correction.losses import (
    backward_loss,
    check_transition,
    clipped_cross_entropy,
    forward_loss,
    inverse_transition,
)


def logits_(n=6, c=4, seed=0, scale=2.0):
    return scale * torch.randn(n, c, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_forward_and_backward_with_the_identity_are_cross_entropy():
    logits, y = logits_(), torch.tensor([0, 1, 2, 3, 0, 2])
    eye = torch.eye(4, dtype=torch.float64)
    ce = F.cross_entropy(logits, y)
    torch.testing.assert_close(forward_loss(logits, y, eye), ce)
    torch.testing.assert_close(backward_loss(logits, y, inverse_transition(eye)), ce)


@pytest.mark.parametrize("scale", [2.0, 5.0, 30.0])
def test_cross_entropy_is_the_originals_clipped_one(scale):
    """The code's crossentropy (loss.py, quoted in original.py): p̂ /= Σ p̂; p̂ = clip(p̂, 1e-7, 1 − 1e-7);
    −Σ y log p̂ — written here in numpy from probabilities, independently of the log-space implementation."""
    import numpy as np

    logits, y = logits_(n=8, c=5, scale=scale), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    p = np.exp(logits.numpy() - logits.numpy().max(1, keepdims=True))
    p = np.clip(p / p.sum(1, keepdims=True), 1e-7, 1 - 1e-7)
    reference = float(np.mean(-np.log(p[np.arange(8), y.numpy()])))
    assert clipped_cross_entropy(logits, y).item() == pytest.approx(reference, rel=1e-9)
    if scale == 30.0:  # saturated logits: the unclipped CE is far above the original's
        assert F.cross_entropy(logits, y).item() > reference + 1.0


def test_backward_is_unbiased_exactly_over_the_noisy_labels_T_draws():
    """E_{ỹ ~ T[y]} ℓ←(p̂, ỹ) = Σ_j T[y, j] [T⁻¹ ℓ(p̂)]_j = ℓ(p̂)_y, the clean loss, for every clean class y."""
    T = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.0, 0.7]], dtype=torch.float64)
    T_inv = inverse_transition(check_transition(T, 3))
    logits = logits_(1, 3, seed=3)
    for y in range(3):
        expected = sum(T[y, j] * backward_loss(logits, torch.tensor([j]), T_inv) for j in range(3))
        clean = -torch.log_softmax(logits, -1)[0, y]
        torch.testing.assert_close(expected, clean, rtol=1e-12, atol=1e-12)


def test_forward_matches_the_brute_force_noisy_posterior():
    T = transition_matrix(10, 0.4, "mnist_pairs")
    logits, y = logits_(8, 10, seed=1), torch.tensor([1, 7, 5, 6, 2, 3, 8, 0])
    p = torch.softmax(logits, -1)
    brute = -sum(math.log(sum(float(p[n, i]) * float(T[i, y[n]]) for i in range(10))) for n in range(8)) / 8
    assert float(forward_loss(logits, y, T)) == pytest.approx(brute, rel=1e-12)


def test_both_stay_finite_with_saturated_logits_and_a_zero_entry_in_T():
    T = transition_matrix(10, 0.4, "mnist_pairs")  # most entries 0: log T = −inf there
    logits = torch.zeros(4, 10, dtype=torch.float64)
    logits[:, 0] = 200.0  # p̂ saturated on class 0: every other p̂ is far below ε
    logits.requires_grad_(True)
    y = torch.tensor([1, 7, 5, 0])
    for loss in (forward_loss(logits, y, T), backward_loss(logits, y, inverse_transition(T))):
        grad, = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()
    # with p̂ clipped at ε = 1e-7, forward at a wrong label costs −log(ε·Σ_i T_iỹ) at most
    loss = float(forward_loss(logits.detach(), torch.tensor([4, 4, 4, 4]), T))
    assert loss == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_backward_is_bounded_below_by_the_clip():
    """A class with a negative coefficient in T⁻¹ cannot be pushed to p̂ → 0 for ever: −log p̂ stops at −log ε."""
    T = transition_matrix(10, 0.4, "mnist_pairs")
    T_inv = inverse_transition(T)
    y = torch.tensor([6])  # row 6 of T⁻¹ is negative at column 5
    assert T_inv[6, 5] < 0
    logits = torch.zeros(1, 10, dtype=torch.float64)
    logits[0, 5] = -1e4
    floor = float(T_inv[6, 5]) * -math.log(1e-7) + sum(float(T_inv[6, j]) * math.log(10 - 1) for j in range(10)
                                                      if j != 5)
    assert float(backward_loss(logits, y, T_inv)) == pytest.approx(floor, rel=1e-5)


def test_a_singular_T_for_backward_is_one_clear_error():
    T = transition_matrix(10, 0.5, "mnist_pairs")  # 5↔6 swapped at rate ½: rows 5 and 6 are equal
    with pytest.raises(ConfigValueError, match="singular.*loss: forward"):
        inverse_transition(T)
    forward_loss(logits_(2, 10), torch.tensor([5, 6]), T)  # forward needs no inverse


@pytest.mark.parametrize(("T", "match"), [
    ([[1.0, 0.0], [0.0, 1.0]], "for 3 classes"),
    ([[0.5, 0.5, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "sums to 1"),
    ([[1.2, -0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "non-negative"),
    ([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], "zero columns"),
])
def test_bad_transition_matrices_name_the_key(T, match):
    with pytest.raises(ConfigValueError, match=match) as err:
        check_transition(T, 3)
    assert "model.init_args.transition" in str(err.value)
