"""RandomFeatureGP (SNGP, Liu et al. 2020 §3.2) against dense float64 references, and the uncertainty metrics."""

import copy
import math

import pytest
import torch

from repro.errors import ConfigValueError
from repro.models.gp_head import RandomFeatureGP, mean_field_logits
from repro.training.uncertainty import calibration_metrics, dempster_shafer_score, max_prob_score, ood_metrics


def test_rff_inner_products_approximate_rbf_kernel_with_shrinking_error() -> None:
    torch.manual_seed(0)
    h = torch.randn(20, 3)
    scale = 2.0
    kernel = torch.exp(-torch.cdist(h, h) ** 2 / (2 * scale))
    errors = []
    for d in (64, 4096):
        head = RandomFeatureGP(3, 2, num_features=d, kernel_scale=scale)
        phi = head.features(h)
        errors.append(float((phi @ phi.T - kernel).abs().mean()))
    assert errors[1] < 0.05
    assert errors[1] < errors[0] / 3  # Monte Carlo error ~ 1/√D: 64× more features, ~8× less error


def test_exact_precision_equals_dense_formula_and_resets() -> None:
    torch.manual_seed(1)
    head = RandomFeatureGP(4, 3, num_features=16, ridge=0.5).train()
    batches = [torch.randn(5, 4) for _ in range(3)]
    for b in batches:
        head(b)
    phi = torch.cat([head.features(b) for b in batches]).double()
    dense = 0.5 * torch.eye(16, dtype=torch.float64) + phi.T @ phi
    torch.testing.assert_close(head.precision.double(), dense, rtol=1e-5, atol=1e-5)
    head.reset_precision()
    torch.testing.assert_close(head.precision, 0.5 * torch.eye(16))


def test_momentum_precision_matches_recursion() -> None:
    torch.manual_seed(2)
    head = RandomFeatureGP(4, 2, num_features=8, momentum=0.9).train()
    expected = torch.eye(8, dtype=torch.float64)
    for _ in range(3):
        b = torch.randn(6, 4)
        head(b)
        phi = head.features(b).double()
        expected = 0.9 * expected + 0.1 * phi.T @ phi / 6
    torch.testing.assert_close(head.precision.double(), expected, rtol=1e-5, atol=1e-6)


def test_eval_does_not_accumulate_and_covariance_is_explicit_inverse() -> None:
    torch.manual_seed(3)
    head = RandomFeatureGP(4, 2, num_features=12, ridge=2.0).train()
    head(torch.randn(30, 4))
    precision = head.precision.clone()
    head.eval()
    x = torch.randn(7, 4)
    head(x)
    torch.testing.assert_close(head.precision, precision)  # validation never touches P
    inverse = torch.linalg.inv(precision.double())
    torch.testing.assert_close(head.covariance.double(), inverse, rtol=1e-5, atol=1e-7)
    phi = head.features(x).double()
    var = 2.0 * torch.einsum("bi,ij,bj->b", phi, inverse, phi)
    torch.testing.assert_close(head.predictive_variance(head.features(x)).double(), var, rtol=1e-4, atol=1e-7)


def test_covariance_recomputed_after_more_training() -> None:
    head = RandomFeatureGP(2, 2, num_features=8).train()
    head(torch.randn(4, 2))
    head.eval()
    head(torch.randn(1, 2))
    first = head.covariance.clone()
    head.train()
    head(torch.randn(50, 2))
    head.eval()
    head(torch.randn(1, 2))
    assert not torch.allclose(first, head.covariance)


def test_mean_field_zero_variance_is_identity_and_shrinks_with_variance() -> None:
    z = torch.randn(5, 3)
    torch.testing.assert_close(mean_field_logits(z, torch.zeros(5)), z)
    torch.testing.assert_close(mean_field_logits(z, torch.full((5,), 8.0), math.pi / 8), z / math.sqrt(1 + math.pi))
    torch.testing.assert_close(mean_field_logits(z, torch.ones(5), -1.0), z)


def test_far_points_get_higher_variance_and_mc_option_runs() -> None:
    torch.manual_seed(4)
    head = RandomFeatureGP(2, 2, num_features=256, mc_samples=200).train()
    head(torch.randn(200, 2) * 0.3)
    head.eval()
    near = head.predictive_variance(head.features(torch.zeros(1, 2)))
    far = head.predictive_variance(head.features(torch.full((1, 2), 6.0)))
    assert far > 10 * near
    probs = head(torch.randn(4, 2)).exp().sum(-1)
    torch.testing.assert_close(probs, torch.ones(4))
    assert copy.deepcopy(head).precision.shape == (256, 256)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"ridge": 0.0}, "ridge"), ({"num_features": 0}, "num_features"), ({"kernel_scale": -1}, "kernel"),
     ({"projection_dim": 0}, "projection_dim")],
)
def test_bad_config_raises(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigValueError, match=key):
        RandomFeatureGP(2, 2, **kwargs)


def test_ece_hand_computed() -> None:
    # Confidences 0.9 (correct), 0.9 (wrong), 0.6 (correct), 0.6 (correct): two occupied bins.
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = torch.tensor([0, 1, 0, 0])
    m = calibration_metrics(probs.log(), y)
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert m["ece"] == pytest.approx(expected, abs=1e-6)
    assert m["nll"] == pytest.approx(-(math.log(0.9) + math.log(0.1) + 2 * math.log(0.6)) / 4, rel=1e-5)
    assert "accuracy" not in m  # accuracy is the shared loop's <split>/accuracy
    assert m["nll"] == pytest.approx(-(math.log(0.9) + math.log(0.1) + 2 * math.log(0.6)) / 4)


def test_scores_and_ood_metrics() -> None:
    z = torch.tensor([[10.0, 0.0], [0.0, 0.0]])
    torch.testing.assert_close(dempster_shafer_score(z), torch.tensor([2 / (2 + math.exp(10) + 1), 0.5]))
    torch.testing.assert_close(max_prob_score(z), 1 - z.softmax(-1).amax(-1))
    perfect = ood_metrics(torch.tensor([0.1, 0.2]), torch.tensor([0.8, 0.9]))
    assert perfect == {"auroc": 1.0, "aupr": 1.0}
    inverted = ood_metrics(torch.tensor([0.8, 0.9]), torch.tensor([0.1, 0.2]))
    assert inverted["auroc"] == 0.0


def test_features_stay_fp32_under_bf16_autocast_and_projection_is_frozen() -> None:
    torch.manual_seed(0)
    head = RandomFeatureGP(16, 3, num_features=64, projection_dim=4, normalize_input=True)
    h = torch.randn(5, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        phi = head.features(h)
    assert phi.dtype == torch.float32
    torch.testing.assert_close(phi, head.features(h))
    assert head.projection.shape == (4, 16) and "projection" not in dict(head.named_parameters())
    expected = head.feature_scale * torch.cos(head.norm(h @ head.projection.T) @ head.rff_weight.T + head.rff_bias)
    torch.testing.assert_close(head.features(h), expected)


def test_a_float64_head_computes_in_float64() -> None:
    # trainer.precision 64-true (a robustness perturbation) turns every buffer to float64: no float32 step remains.
    torch.manual_seed(4)
    head = RandomFeatureGP(4, 2, num_features=12, ridge=1.0, projection_dim=3, normalize_input=True).double().train()
    head(torch.randn(30, 4, dtype=torch.float64))
    head.eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    phi = head.features(x)
    assert phi.dtype == torch.float64 and head(x).dtype == torch.float64
    inverse = torch.linalg.inv(head.precision)
    var = torch.einsum("bi,ij,bj->b", phi, inverse, phi)
    torch.testing.assert_close(head.predictive_variance(phi), var, rtol=1e-12, atol=1e-14)
