"""Class-conditional singular values (repro/training/class_spectrum.py) and FGSM (repro/training/adversarial.py)
against numpy and a hand-derived gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.training.adversarial import fgsm
from repro.training.class_spectrum import class_singular_values, spectrum_summary


def test_spectrum_summary_matches_numpy_svd_of_each_uncentred_class_matrix():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(90, 6)) + 3.0
    y = rng.integers(0, 3, size=90)
    got = spectrum_summary(torch.from_numpy(h).float(), torch.from_numpy(y), 3)
    sv = [np.linalg.svd(h[y == c], compute_uv=False) for c in range(3)]
    assert got["sv_top"] == pytest.approx(np.mean([s[0] for s in sv]), rel=1e-5)
    assert got["sv_rest"] == pytest.approx(np.mean([s[1:].sum() for s in sv]), rel=1e-5)
    assert got["sv_rest_ratio"] == pytest.approx(np.mean([s[1:].sum() / s[0] for s in sv]), rel=1e-5)
    # not centred: a shifted copy changes the spectrum
    assert spectrum_summary(torch.from_numpy(h - 3.0).float(), torch.from_numpy(y), 3)["sv_top"] < got["sv_top"]


def test_a_rank_one_class_has_no_spread_beyond_its_first_direction():
    direction = torch.tensor([1.0, 2.0, -1.0, 0.5])
    h = torch.cat([torch.linspace(1, 3, 10)[:, None] * direction, torch.randn(10, 4)])
    y = torch.tensor([0] * 10 + [1] * 10)
    sv = class_singular_values(h.reshape(20, 2, 2), y, 3)  # features are flattened; class 2 is absent
    assert set(sv) == {0, 1}
    assert sv[0][1:].sum() < 1e-5 * sv[0][0] and sv[1][1:].sum() > 0.5


def test_fgsm_steps_along_the_sign_of_the_hand_derived_input_gradient():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    x = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (8,), generator=gen)
    p = torch.softmax(x @ w, -1)
    grad = (p - torch.nn.functional.one_hot(y, 3)) @ w.T / 8  # ∂ mean CE / ∂x for logits x W
    adv = fgsm(lambda t: t @ w, x, y, 0.1)
    torch.testing.assert_close(adv, x + 0.1 * grad.sign(), rtol=0, atol=1e-15)
    with torch.inference_mode():  # inside an evaluation loop
        torch.testing.assert_close(fgsm(lambda t: t @ w, x.clone(), y, 0.1, clip=(-0.5, 0.5)),
                                   (x + 0.1 * grad.sign()).clamp(-0.5, 0.5), rtol=0, atol=1e-15)
