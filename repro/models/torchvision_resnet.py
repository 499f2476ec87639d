"""torchvision's ResNets behind the shared backbone signature, optionally ImageNet-initialised.

``TorchvisionResNet(num_classes, in_shape, arch="resnet50", weights="IMAGENET1K_V1")`` builds
``torchvision.models.<arch>`` with the named weights of torchvision's weights API (fetched once into the torch hub
cache, ``$TORCH_HOME/hub/checkpoints``) and replaces its 1000-way ``fc`` by a freshly initialised
``num_classes``-way one. ``weights: null`` trains from a random initialisation. Without the file and without
network access the build stops with one error naming the file, its address and where to put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.error import URLError

import torch
from torch import nn

from repro.errors import ConfigValueError, ReproError

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


def pretrained_state(arch: str, weights: str) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's ``weights`` for ``arch`` (from the hub cache, downloaded when absent)."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(arch)
    if weights not in enum.__members__:
        raise ConfigValueError(f"model.init_args.backbone.init_args.weights={weights!r}: {arch} has the weights "
                               f"{list(enum.__members__)} (or null for a random initialisation)")
    entry = enum[weights]
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(entry.url).name
    try:
        return entry.get_state_dict(progress=False, check_hash=True)
    except (URLError, OSError, RuntimeError) as err:
        raise ReproError(
            f"the {arch} ImageNet weights ({weights}) are not in the torch hub cache ({cache}) and could not be "
            f"downloaded from {entry.url}: {type(err).__name__}: {err}. Download that file into {cache.parent} "
            "(or set TORCH_HOME to a folder whose hub/checkpoints has it), or train from scratch with "
            "model.init_args.backbone.init_args.weights=null") from err


class TorchvisionResNet(nn.Module):
    """A torchvision ResNet with a ``num_classes``-way head; ImageNet weights by name (``weights``) or none."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, arch: str = "resnet50",
                 weights: str | None = "IMAGENET1K_V1") -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ConfigValueError(f"model.init_args.backbone.init_args.arch={arch!r}: use one of {list(ARCHS)}")
        if in_shape[0] != 3:
            raise ConfigValueError(f"{arch} takes RGB images (3 channels); the data gives in_shape {tuple(in_shape)}")
        import torchvision.models as tvm

        self.net = getattr(tvm, arch)(weights=None)
        if weights is not None:
            self.net.load_state_dict(pretrained_state(arch, weights))
        self.net.fc = nn.Linear(self.net.fc.in_features, num_classes)  # torchvision's default Linear init

    @property
    def head(self) -> nn.Module:
        return self.net.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
