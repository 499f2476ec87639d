"""Backbones sharing the signature ``(num_classes, in_shape, *, ...)``; ``forward`` returns logits."""

from repro.models.cnn import FiveLayerCNN
from repro.models.mlp import MLP
from repro.models.resnet import PreActResNet18
from repro.models.timm_model import TimmModel

__all__ = ["MLP", "FiveLayerCNN", "PreActResNet18", "TimmModel"]
