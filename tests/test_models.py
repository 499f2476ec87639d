import pytest
import torch
from torch import nn

from repro.models import MLP, FiveLayerCNN, PreActResNet18, TimmModel
from repro.models.resnet import PreActBlock

torch.set_num_threads(1)


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_resnet18_k64_parameter_count_matches_paper_code():
    assert n_params(PreActResNet18(10, (3, 32, 32), width=64)) == 11_171_146


def test_resnet18_params_grow_quadratically_in_width():
    ratio = n_params(PreActResNet18(10, (3, 32, 32), width=32)) / n_params(
        PreActResNet18(10, (3, 32, 32), width=16)
    )
    assert abs(ratio - 4) / 4 < 0.10


def test_mcnn_c64_parameter_count_matches_paper_code():
    assert n_params(FiveLayerCNN(10, (3, 32, 32), width=64)) == 1_558_026


@pytest.mark.parametrize("cls", [PreActResNet18, FiveLayerCNN])
def test_image_backbones_shapes_and_head(cls):
    m = cls(10, (3, 32, 32), width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    feats = m.forward_features(x)
    assert feats.shape == (2, 32) and isinstance(m.head, nn.Linear)
    assert m(x).shape == (2, 10)
    torch.testing.assert_close(m.head(feats), m(x))


def test_mlp_shapes_and_depth():
    m = MLP(7, (64,), width=16, depth=3)
    x = torch.randn(2, 64)
    assert m(x).shape == (2, 7) and m.forward_features(x).shape == (2, 16)
    assert sum(isinstance(layer, nn.Linear) for layer in m.modules()) == 4  # 3 hidden + head
    assert MLP(3, (2, 5, 5), width=8)(torch.randn(2, 2, 5, 5)).shape == (2, 3)  # flattens (C, H, W)


def test_resnet_accepts_one_channel_28x28():
    m = PreActResNet18(10, (1, 28, 28), width=2)
    assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    "build",
    [
        lambda: PreActResNet18(10, (3, 32, 32), width=0),
        lambda: FiveLayerCNN(10, (3, 32, 32), width=0),
        lambda: MLP(10, (8,), width=0),
        lambda: MLP(10, (8,), width=4, depth=0),
    ],
)
def test_nonpositive_width_or_depth_raises(build):
    with pytest.raises(ValueError, match=r"(width|depth) must be an integer >= 1.*init_args"):
        build()


def test_resnet_projection_shortcuts_only_where_shape_changes():
    # Reference: resnet18k.py adds a 1x1 conv shortcut iff stride != 1 or in_planes != planes. At k=1 the
    # stage widths are 1, 2, 4, 8, so exactly the first block of stages 2-4 needs one.
    m = PreActResNet18(10, (3, 32, 32), width=1)
    blocks = [b for b in m.modules() if isinstance(b, PreActBlock)]
    assert len(blocks) == 8
    with_shortcut = [i for i, b in enumerate(blocks) if b.shortcut is not None]
    assert with_shortcut == [2, 4, 6]
    for i in with_shortcut:
        sc = blocks[i].shortcut
        assert (
            isinstance(sc, nn.Conv2d) and sc.kernel_size == (1, 1) and sc.stride == (2, 2) and sc.bias is None
        )
    # No BN or bias anywhere in the convolutions (pre-activation design).
    assert all(c.bias is None for c in m.modules() if isinstance(c, nn.Conv2d))


def test_resnet_identity_shortcut_adds_raw_input():
    # With zeroed convs, an identity block must return x itself (not relu(bn(x))).
    block = PreActBlock(3, 3).eval()
    nn.init.zeros_(block.conv2.weight)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(block(x), x)


def test_resnet_projection_shortcut_sees_preactivated_input():
    # resnet18k.py applies the 1x1 projection to relu(bn1(x)), not to x.
    block = PreActBlock(2, 4, stride=2).eval()
    nn.init.zeros_(block.conv2.weight)
    x = torch.randn(2, 2, 6, 6)
    torch.testing.assert_close(block(x), block.shortcut(torch.relu(block.bn1(x))))
    assert not torch.allclose(block(x), block.shortcut(x))


def test_timm_model_builds_with_num_classes_and_swappable_head():
    m = TimmModel(5, (3, 16, 16), name="resnet18").eval()
    x = torch.randn(2, 3, 16, 16)
    assert m(x).shape == (2, 5)
    assert isinstance(m.head, nn.Linear) and m.head.out_features == 5
    assert m.forward_features(x).shape == (2, m.head.in_features)
    m.head = nn.Linear(m.head.in_features, 3)
    assert m(x).shape == (2, 3) and list(m._modules) == ["model"]


def test_timm_model_unknown_name_raises():
    with pytest.raises(ValueError, match="list_models"):
        TimmModel(5, (3, 16, 16), name="definitely_not_a_model")
