"""TorchvisionResNet: torchvision's ResNets with a new head, ImageNet weights from the hub cache or a clear error;
never a real download (a fake weights file in a temporary TORCH_HOME)."""

from __future__ import annotations

import socket

import pytest
import torch
import torchvision

from repro.errors import ConfigValueError, ReproError
from repro.models.torchvision_resnet import TorchvisionResNet


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty hub cache and a network that refuses every connection, as on a machine without network."""
    def refuse(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_random_init_gives_a_new_head_of_the_datas_classes():
    model = TorchvisionResNet(14, (3, 224, 224), arch="resnet18", weights=None)
    assert model.head.out_features == 14 and model(torch.zeros(2, 3, 64, 64)).shape == (2, 14)


def test_imagenet_weights_come_from_the_hub_cache_and_the_head_is_replaced(offline):
    reference = torchvision.models.resnet18(weights=None)
    with torch.no_grad():
        for i, p in enumerate(reference.parameters()):
            p.fill_(0.001 * i)
    offline.mkdir(parents=True)
    torch.save(reference.state_dict(), offline / "resnet18-f37072fd.pth")  # the file IMAGENET1K_V1 names
    model = TorchvisionResNet(10, (3, 32, 32), arch="resnet18", weights="IMAGENET1K_V1")
    ours = model.net.state_dict()
    for key, value in reference.state_dict().items():
        if not key.startswith("fc."):
            torch.testing.assert_close(ours[key], value)
    assert model.head.weight.shape == (10, 512) and not torch.allclose(model.head.weight, reference.fc.weight[:10])


def test_without_the_file_and_network_one_error_names_the_file_and_the_way_out(offline):
    with pytest.raises(ReproError) as err:
        TorchvisionResNet(14, (3, 224, 224), arch="resnet50", weights="IMAGENET1K_V1")
    message = str(err.value)
    assert "resnet50-0676ba61.pth" in message and str(offline) in message and "weights=null" in message


@pytest.mark.parametrize(("kwargs", "match"), [({"arch": "vgg16"}, "arch"),
                                               ({"weights": "IMAGENET9K"}, "IMAGENET1K_V1"),
                                               ({"in_shape": (1, 28, 28)}, "3 channels")])
def test_bad_settings_are_clear_config_errors(kwargs, match):
    args = {"num_classes": 14, "in_shape": (3, 224, 224), "arch": "resnet18", "weights": None, **kwargs}
    with pytest.raises(ConfigValueError, match=match):
        TorchvisionResNet(args.pop("num_classes"), args.pop("in_shape"), **args)
