"""Wide ResNet: WRN-28-10's parameter count (≈ 36.5M, Zagoruyko & Komodakis 2016), a formula check, shapes, errors."""

import pytest
import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.wide_resnet import WideResNet


def _count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _formula(depth: int, k: int, classes: int, c_in: int = 3) -> int:
    """Parameters of WRN-depth-k counted by hand: convs (no bias), BN (2 per channel), 1×1 shortcuts, head."""
    n, ch = (depth - 4) // 6, [16, 16 * k, 32 * k, 64 * k]
    total = 9 * c_in * 16
    for g in range(3):
        for i in range(n):
            a, b = (ch[g] if i == 0 else ch[g + 1]), ch[g + 1]
            total += 2 * a + 2 * b + 9 * a * b + 9 * b * b + (a * b if a != b or (i == 0 and g > 0) else 0)
    return total + 2 * ch[3] + ch[3] * classes + classes


def test_wrn_28_10_has_36_5m_parameters() -> None:
    m = WideResNet(10, (3, 32, 32))
    assert _count(m) == _formula(28, 10, 10)
    assert abs(_count(m) - 36.5e6) < 0.05e6


@pytest.mark.parametrize(("depth", "width"), [(10, 1), (16, 2)])
def test_small_wrn_shapes_and_formula(depth: int, width: int) -> None:
    m = WideResNet(7, (3, 16, 16), depth=depth, width=width, dropout=0.3)
    assert _count(m) == _formula(depth, width, 7)
    x = torch.randn(2, 3, 16, 16)
    assert m.forward_features(x).shape == (2, 64 * width)
    assert m(x).shape == (2, 7)
    assert any(isinstance(d, nn.Dropout2d) for d in m.modules())  # filter-wise dropout by default


def test_dropout_is_configurable() -> None:
    assert not any(isinstance(d, nn.Dropout | nn.Dropout2d) for d in WideResNet(2, (3, 8, 8), depth=10).modules())
    m = WideResNet(2, (3, 8, 8), depth=10, dropout=0.5, filterwise=False)
    assert any(type(d) is nn.Dropout for d in m.modules())


@pytest.mark.parametrize(("kwargs", "key"), [({"depth": 27}, "depth"), ({"width": 0}, "width"),
                                            ({"dropout": 1.0}, "dropout")])
def test_bad_config_raises(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigValueError, match=key):
        WideResNet(10, (3, 32, 32), **kwargs)
