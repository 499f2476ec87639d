"""Soft-bound spectral normalization (SNGP, Liu et al. 2020 §3.1) against SVD and the explicit conv operator."""

import copy

import pytest
import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.spectral import apply_spectral_norm, spectral_normalize


def _conv_matrix(conv: nn.Conv2d, input_shape: tuple[int, int, int]) -> torch.Tensor:
    """The conv as an explicit (out_numel × in_numel) matrix, by applying it to every basis vector."""
    n = int(torch.tensor(input_shape).prod())
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *input_shape)
    w = conv.weight.detach().double()
    out = torch.nn.functional.conv2d(basis, w, None, conv.stride, conv.padding, conv.dilation, conv.groups)
    return out.reshape(n, -1).T


@pytest.mark.parametrize("coeff", [0.5, 2.0])
def test_linear_largest_singular_value_bounded_by_c(coeff: float) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(30, 20)
    with torch.no_grad():
        layer.weight.mul_(3)  # well above both bounds
    raw_sigma = torch.linalg.matrix_norm(layer.weight.detach(), 2)
    spectral_normalize(layer, coeff=coeff, n_power_iterations=1)
    layer.train()
    for _ in range(20):
        layer(torch.randn(4, 30))
    sigma = torch.linalg.matrix_norm(layer.weight.detach(), 2)
    assert raw_sigma > coeff
    assert sigma <= coeff + 1e-3
    assert sigma == pytest.approx(coeff, rel=1e-3)  # rescaled to the bound, not below


def test_linear_unchanged_when_below_bound() -> None:
    torch.manual_seed(1)
    layer = nn.Linear(10, 8)
    before = layer.weight.detach().clone()
    assert torch.linalg.matrix_norm(before, 2) < 5.0
    spectral_normalize(layer, coeff=5.0)
    layer(torch.randn(2, 10))
    torch.testing.assert_close(layer.weight.detach(), before)


def test_conv_operator_norm_bounded_and_differs_from_kernel_norm() -> None:
    torch.manual_seed(2)
    shape = (3, 6, 6)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    with torch.no_grad():
        conv.weight.mul_(10)
    raw_op = torch.linalg.matrix_norm(_conv_matrix(conv, shape), 2)
    apply_spectral_norm(conv, coeff=1.5, example_input=torch.randn(2, *shape))
    conv.train()
    for _ in range(30):
        conv(torch.randn(1, *shape))
    op = torch.linalg.matrix_norm(_conv_matrix(conv, shape), 2)
    assert raw_op > 1.5
    assert op <= 1.5 + 1e-3
    assert op == pytest.approx(1.5, rel=1e-3)


def test_conv_below_bound_unchanged_and_estimate_matches_operator() -> None:
    torch.manual_seed(3)
    shape = (2, 5, 5)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    before = conv.weight.detach().clone()
    true_op = torch.linalg.matrix_norm(_conv_matrix(conv, shape), 2)
    apply_spectral_norm(conv, coeff=float(true_op) * 2, example_input=torch.randn(1, *shape))
    for _ in range(30):  # power iteration converges to σ from below
        conv(torch.randn(1, *shape))
    torch.testing.assert_close(conv.weight.detach(), before)
    sigma = float(conv.parametrizations.weight[0].sigma)
    assert sigma == pytest.approx(float(true_op), rel=1e-3)


def test_helper_covers_every_layer_and_deepcopies() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    apply_spectral_norm(model, coeff=0.9, example_input=torch.randn(1, 1, 8, 8), skip=())
    normalized = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert all(hasattr(m, "parametrizations") for m in normalized) and len(normalized) == 2
    clone = copy.deepcopy(model)
    x = torch.randn(3, 1, 8, 8)
    model.eval()
    clone.eval()
    torch.testing.assert_close(model(x), clone(x))


def test_gradient_flows_through_normalized_weight() -> None:
    layer = spectral_normalize(nn.Linear(6, 6), coeff=0.1)
    layer(torch.randn(3, 6)).sum().backward()
    assert layer.parametrizations.weight.original.grad is not None


@pytest.mark.parametrize("coeff", [0.0, -1.0])
def test_bad_bound_raises(coeff: float) -> None:
    with pytest.raises(ConfigValueError, match="coeff"):
        spectral_normalize(nn.Linear(3, 3), coeff=coeff)
