"""The anchor-point estimator against synthetic posteriors whose answer is known, and against an independent numpy
re-implementation of the original code's procedure (percentile and in-place quirk included)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.data.noise import transition_matrix
from repro.errors import ConfigValueError
from repro.papers.loss_correction.estimator import anchor_transition, transition_error

T_TEST = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.0, 0.4, 0.6]], dtype=torch.float64)


def posterior(T: torch.Tensor, n_mix: int, seed: int = 0) -> torch.Tensor:
    """p(ỹ | x) = Σ_k w_k(x) T[k] for mixed clean posteriors w (no pure one): below T_ii in column i when each
    column's largest entry is its diagonal."""
    g = torch.Generator().manual_seed(seed)
    w = torch.distributions.Dirichlet(torch.ones(len(T), dtype=torch.float64)).sample((n_mix,))
    w = 0.98 * w + 0.02 / len(T) * torch.ones_like(w)  # never a pure clean class
    return (w @ T)[torch.randperm(n_mix, generator=g)]


def test_the_argmax_recovers_T_exactly_from_perfect_anchors():
    P = torch.cat([posterior(T_TEST, 500), T_TEST])  # one perfect anchor per class: p(ỹ | x̄ⁱ) = T[i]
    est = anchor_transition(P, percentile=None)
    torch.testing.assert_close(est.T_hat, T_TEST)
    assert est.anchors == [500, 501, 502]
    assert transition_error(est.T_hat, T_TEST)["l1"] == pytest.approx(0.0, abs=1e-12)


def test_the_97th_percentile_skips_the_top_3_percent_of_overconfident_outputs():
    """1000 inputs: 30 overconfident outliers per column (above T_ii), then one perfect anchor per class, then
    mixtures. The percentile variant zeroes exactly the top 30 of each column and lands on the anchor; the plain
    argmax picks an outlier."""
    c, n_out = 3, 30
    outliers = []
    for i in range(c):
        top = torch.full((n_out, c), 0.01, dtype=torch.float64)
        top[:, i] = torch.linspace(0.95, 0.98, n_out)
        outliers.append(top / top.sum(1, keepdim=True))
    P = torch.cat([*outliers, T_TEST, posterior(T_TEST, 1000 - c * n_out - c)])
    assert len(P) == 1000
    robust = anchor_transition(P, percentile=97)
    torch.testing.assert_close(robust.T_hat, T_TEST)
    plain = anchor_transition(P, percentile=None)
    assert (plain.T_hat - T_TEST).abs().sum(1).min() > 0.5


def numpy_original(P: np.ndarray, filter_outlier: bool) -> np.ndarray:
    """The original procedure as its code runs it: the column is a numpy view, zeroed in place; rows normalised."""
    eta = P.copy()
    c = eta.shape[1]
    T = np.empty((c, c))
    for i in range(c):
        if filter_outlier:
            thr = np.percentile(eta[:, i], 97, method="higher")
            col = eta[:, i]
            col[col >= thr] = 0.0
            best = int(np.argmax(col))
        else:
            best = int(np.argmax(eta[:, i]))
        T[i] = eta[best]
    return T / T.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_original_procedure_with_and_without_its_in_place_quirk(seed):
    logits = 3 * torch.randn(400, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    P = torch.softmax(logits, -1)
    quirk = anchor_transition(P, percentile=97, in_place_outliers=True).T_hat
    np.testing.assert_allclose(quirk.numpy(), numpy_original(P.numpy(), True), rtol=0, atol=1e-15)
    np.testing.assert_allclose(anchor_transition(P, percentile=None).T_hat.numpy(),
                               numpy_original(P.numpy(), False), rtol=0, atol=1e-15)
    clean = anchor_transition(P, percentile=97).T_hat
    rows = [P[int(np.argmax(np.where(P[:, i] >= np.percentile(P[:, i], 97, method="higher"), 0, P[:, i])))]
            for i in range(6)]
    expected = torch.stack(rows)
    torch.testing.assert_close(clean, expected / expected.sum(1, keepdim=True))


def test_the_quirk_zeroes_entries_of_rows_whose_anchor_sits_in_an_earlier_columns_top_3_percent():
    # 100 inputs, 3 classes. Row 3 is class 1's anchor (the 4th largest of column 1, after its top 3) and also among
    # column 0's top 3, which the quirk zeroed in P while estimating row 0: its T̂[1, 0] reads 0 instead of 0.4.
    filler = torch.stack([torch.linspace(0.1, 0.3, 94), torch.linspace(0.4, 0.1, 94)], 1)
    P = torch.cat([torch.tensor([[0.01, 0.98, 0.01], [0.01, 0.97, 0.02], [0.02, 0.96, 0.02], [0.40, 0.50, 0.10],
                                 [0.45, 0.05, 0.50], [0.42, 0.08, 0.50]], dtype=torch.float64),
                   torch.cat([filler, 1 - filler.sum(1, keepdim=True)], 1).double()])
    clean = anchor_transition(P, percentile=97)
    quirk = anchor_transition(P, percentile=97, in_place_outliers=True)
    assert clean.anchors == quirk.anchors and clean.anchors[1] == 3
    torch.testing.assert_close(clean.T_hat[1], torch.tensor([0.4, 0.5, 0.1], dtype=torch.float64))
    torch.testing.assert_close(quirk.T_hat[1], torch.tensor([0.0, 0.5, 0.1], dtype=torch.float64) / 0.6)
    torch.testing.assert_close(clean.T_hat[0], quirk.T_hat[0])


@pytest.mark.parametrize("percentile", [97.0, None])
def test_rows_of_T_hat_sum_to_one(percentile):
    logits = torch.randn(300, 10, generator=torch.Generator().manual_seed(4))
    est = anchor_transition(torch.softmax(logits, -1), percentile=percentile)
    torch.testing.assert_close(est.T_hat.sum(1), torch.ones(10, dtype=torch.float64))
    assert (est.T_hat >= 0).all() and est.T_hat.dtype == torch.float64


def test_error_over_all_rows_and_over_the_flipped_rows_by_hand():
    T = transition_matrix(10, 0.4, "mnist_pairs")
    T_hat = torch.eye(10, dtype=torch.float64)  # misses every flip: row error 2·0.4 on rows 2, 3, 5, 6, 7
    err = transition_error(T_hat, T)
    assert err["l1"] == pytest.approx(5 * 0.8 / 10)
    assert err["l1_noisy_rows"] == pytest.approx(0.8)
    assert err["condition_number"] == pytest.approx(1.0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ConfigValueError, match="estimator_percentile"):
        anchor_transition(torch.full((5, 2), 0.5), percentile=150)
    with pytest.raises(ConfigValueError, match=r"\(N, C\)"):
        anchor_transition(torch.ones(5))
