"""The GP head, WRN and two-moons MLP options that match SNGP's original code (edward2's RandomFeatureGaussianProcess,
uncertainty-baselines' WRN-28-10, the TF tutorial's residual MLP), each against a reference computed here."""

import math

import pytest
import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.gp_head import RandomFeatureGP, orthogonal_random_features
from repro.models.residual_mlp import ResidualMLP
from repro.models.wide_resnet import WideResNet


def test_kernel_scale_is_not_applied_after_the_layernorm() -> None:
    torch.manual_seed(0)
    head = RandomFeatureGP(6, 2, num_features=64, normalize_input=True, norm_eps=1e-3)
    h = torch.randn(5, 6) * 3
    mu, var = h.mean(-1, keepdim=True), h.var(-1, unbiased=False, keepdim=True)
    g = (h - mu) / torch.sqrt(var + 1e-3)  # γ = 1, β = 0 at init
    want = math.sqrt(2 / 64) * torch.cos(g @ head.rff_weight.T + head.rff_bias)
    torch.testing.assert_close(head.features(h), want)
    with pytest.raises(ConfigValueError, match="kernel_scale.*normalize_input"):
        RandomFeatureGP(6, 2, normalize_input=True, kernel_scale=2.0)


def test_kernel_scale_scales_the_raw_input_without_layernorm() -> None:
    torch.manual_seed(0)
    head = RandomFeatureGP(3, 2, num_features=16, kernel_scale=4.0, scale_features=False)
    h = torch.randn(4, 3)
    torch.testing.assert_close(head.features(h), torch.cos(h / 2 @ head.rff_weight.T + head.rff_bias))


def test_orthogonal_features_are_orthogonal_in_blocks_with_chi_norms() -> None:
    torch.manual_seed(0)
    w = orthogonal_random_features(40, 8)
    for block in w.split(8):
        unit = block / block.norm(dim=1, keepdim=True)
        torch.testing.assert_close(unit @ unit.T, torch.eye(len(block)), atol=1e-5, rtol=0)
    norms2 = orthogonal_random_features(20000, 8).norm(dim=1) ** 2  # χ²(8): mean 8, variance 16
    assert abs(norms2.mean().item() - 8) < 0.15 and abs(norms2.var().item() - 16) < 1.0


@pytest.mark.parametrize("rff_init", ["gaussian", "orf"])
def test_rff_stddev_sets_the_length_scale(rff_init: str) -> None:
    """Φ(g)ᵀΦ(g') → exp(−σ_W²‖g − g'‖²/2): length-scale 1/σ_W = 20 for the recipe's 0.05."""
    torch.manual_seed(0)
    head = RandomFeatureGP(4, 2, num_features=20000, rff_init=rff_init, rff_stddev=0.05)
    g = torch.randn(6, 4) * 15
    phi = head.features(g)
    want = torch.exp(-0.05 ** 2 * torch.cdist(g, g) ** 2 / 2)
    torch.testing.assert_close(phi @ phi.T, want, atol=0.03, rtol=0)


def test_no_output_bias_and_projection_std() -> None:
    head = RandomFeatureGP(640, 10, num_features=32, output_bias=False, projection_dim=128, projection_std=0.05,
                           normalize_input=True)
    assert head.output.bias is None
    assert abs(head.projection.std().item() - 0.05) < 0.001
    phi = head.features(torch.randn(3, 640))
    torch.testing.assert_close(head.train()(torch.randn(3, 640)).shape, torch.Size([3, 10]))
    torch.testing.assert_close(head.output(phi), phi @ head.output.weight.T)


def test_wrn_every_conv_dropout_has_the_original_28_layers_and_raw_shortcut() -> None:
    m = WideResNet(10, (3, 8, 8), depth=28, width=2, dropout=0.1, dropout_layout="every_conv", shortcut_from="raw")
    assert sum(isinstance(d, nn.Dropout2d) for d in m.modules()) == 28  # 1 + 12·2 + 3
    default = WideResNet(10, (3, 8, 8), depth=28, width=2, dropout=0.1)
    assert sum(isinstance(d, nn.Dropout2d) for d in default.modules()) == 12  # other papers' WRN unchanged
    block = m.blocks[4]  # the first block of group 2: a 1×1 projection shortcut
    x = torch.randn(2, 32, 8, 8)
    block.eval()
    want = block.conv2(torch.relu(block.bn2(block.conv1(torch.relu(block.bn1(x)))))) + block.shortcut(x)
    torch.testing.assert_close(block(x), want)
    with pytest.raises(ConfigValueError, match="dropout_layout"):
        WideResNet(10, (3, 8, 8), depth=10, dropout_layout="everywhere")


def test_two_moons_projection_glorot_uniform_zero_bias() -> None:
    torch.manual_seed(0)
    m = ResidualMLP(2, (2,), width=128, input_init="glorot")
    bound = math.sqrt(6 / (2 + 128))
    assert m.input.weight.abs().max() <= bound and m.input.weight.abs().max() > 0.9 * bound
    assert torch.count_nonzero(m.input.bias) == 0 and not m.input.weight.requires_grad
