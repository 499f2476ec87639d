"""Any timm architecture behind the shared backbone signature ``(num_classes, in_shape, *, ...)``."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from repro.errors import ConfigValueError


class TimmModel(nn.Module):
    """Wraps ``timm.create_model(name, num_classes=..., in_chans=in_shape[0], pretrained=...)``.

    ``head`` is the model's classifier (``get_classifier()``); assigning a module to ``head`` replaces
    it inside the timm model, so head-swapping code works the same as for the native backbones.
    """

    def __init__(
        self,
        num_classes: int,
        in_shape: Sequence[int],
        *,
        name: str,
        pretrained: bool = False,
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        import timm  # lazy: importing timm costs seconds, and most runs use the native backbones

        if not timm.is_model(name):
            close = difflib.get_close_matches(name, timm.list_models(), n=3)
            hint = f" Close matches: {close}." if close else ""
            pattern = f"*{name.split('.')[0][:6]}*"
            raise ConfigValueError(
                f"unknown timm model {name!r} (model.init_args.backbone.init_args.name).{hint} "
                f"List available names with timm.list_models({pattern!r})."
            )
        self.model = timm.create_model(
            name, num_classes=num_classes, in_chans=in_shape[0], pretrained=pretrained, **(model_kwargs or {})
        )

    def _head_path(self) -> str:
        classifier = self.model.get_classifier()
        for path, module in self.model.named_modules():
            if module is classifier:
                return path
        raise AttributeError(f"cannot locate the classifier of {type(self.model).__name__}")

    @property
    def head(self) -> nn.Module:
        return self.model.get_classifier()

    def __setattr__(self, name: str, value: Any) -> None:
        # nn.Module.__setattr__ would register a stray "head" submodule and bypass the property,
        # so redirect the assignment into the timm model where its forward will use it.
        if name == "head" and "model" in self._modules:
            self.model.set_submodule(self._head_path(), value)
        else:
            super().__setattr__(name, value)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled pre-logit features, shape (N, num_features)."""
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
