"""Deep Double Descent's formulas and schedule against brute-force references."""

from __future__ import annotations

import itertools

import pytest
import torch

from repro.data.noise import transition_matrix
from repro.papers.double_descent.method import clean_scale_error, noisy_scale_error
from repro.training.optim import InverseSqrtLR


@pytest.mark.parametrize(("num_classes", "p"), [(3, 0.2), (10, 0.15), (10, 0.0), (4, 0.5)])
def test_noisy_scale_error_matches_exact_enumeration(num_classes, p):
    """P(prediction ≠ noisy label), enumerated over true class, prediction and noisy label, for random
    confusion matrices, equals p + (1 − p − p/(C−1))·e — whatever the pattern of the mistakes."""
    gen = torch.Generator().manual_seed(0)
    T = transition_matrix(num_classes, p, "uniform_incorrect")
    for _ in range(5):
        confusion = torch.rand(num_classes, num_classes, generator=gen, dtype=torch.float64)
        confusion /= confusion.sum(1, keepdim=True)  # P(prediction = q | true = t)
        prior = torch.full((num_classes,), 1 / num_classes, dtype=torch.float64)
        clean_error = float(sum(prior[t] * (1 - confusion[t, t]) for t in range(num_classes)))
        noisy_error = 0.0
        for t, q, n in itertools.product(range(num_classes), repeat=3):
            if q != n:
                noisy_error += float(prior[t] * confusion[t, q] * T[t, n])
        assert noisy_scale_error(clean_error, p, num_classes) == pytest.approx(noisy_error, abs=1e-12)
        assert clean_scale_error(noisy_error, p, num_classes) == pytest.approx(clean_error, abs=1e-12)


def test_noisy_scale_matches_the_card_figure_1_numbers():
    # Released Figure 1 data (p = 15%): clean 0.228 at k=4 ↔ noisy 0.340; clean 0.169 at k=64 ↔ noisy 0.291.
    assert noisy_scale_error(0.228, 0.15, 10) == pytest.approx(0.340, abs=1e-3)
    assert noisy_scale_error(0.169, 0.15, 10) == pytest.approx(0.291, abs=1e-3)


def test_inverse_sqrt_schedule_counts_gradient_steps():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = InverseSqrtLR(opt, step_size=512)
    lrs = {}
    for t in range(2049):
        lrs[t] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[511] == pytest.approx(0.1)
    assert lrs[512] == pytest.approx(0.1 / 2**0.5)
    assert lrs[2048] == pytest.approx(0.1 / 5**0.5)


def test_paper_descriptions_state_the_precision_the_config_runs():
    """The 2019 code trains in fp32 (original.py: trainer.precision 32-true); a description must not say bf16."""
    from conftest import CONFIGS

    from repro.studies.study import Study

    for name in ("paper", "paper_noise", "paper_epochwise", "paper_cnn"):
        study = Study.load(CONFIGS / "double_descent" / f"{name}.yaml")
        assert study.base["trainer"]["precision"] == "32-true"
        assert "bf16" not in study.meta["description"], name
