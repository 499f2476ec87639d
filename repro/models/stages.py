"""Named stages of a backbone: the points where a method may read or replace a hidden representation.

A backbone declares its stages, in forward order, as ``self.stages = {name: submodule path}``: the output of the
submodule at that dotted path *is* the stage's representation (e.g. a ResNet's ``{"stage1": "layer1", ...}``, an
MLP's ``{"hidden1": "features.2", "bottleneck": "features.5", ...}``). ``input`` is reserved for the network's input.
Methods reach a stage through forward hooks on that submodule (:func:`declared_stages` finds them), so no backbone is
copied or rewritten to expose its hidden layers.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from repro.errors import ConfigValueError

__all__ = ["INPUT", "check_stages", "declared_stages"]

INPUT = "input"  # the network's input: stage 0


def declared_stages(backbone: nn.Module) -> dict[str, nn.Module]:
    """The backbone's declared stages, name → the submodule whose output is that stage (forward order)."""
    declared = getattr(backbone, "stages", None)
    name = type(backbone).__name__
    if not isinstance(declared, dict) or not declared:
        raise ConfigValueError(
            f"{name} declares no stages: a method that mixes or reads hidden representations needs the backbone to "
            "set `self.stages = {name: submodule path}` (see repro/models/stages.py); the repro.models MLP, "
            "PreActResNet18/34 and WideResNet declare theirs")
    if INPUT in declared:
        raise ConfigValueError(f"{name}.stages must not name a stage {INPUT!r}: that name is the network's input")
    return resolve_submodules(backbone, declared, f"{name}.stages")


def resolve_submodules(backbone, declared: dict, where: str) -> dict:
    """``{label: submodule}`` for a backbone's declared ``{label: dotted submodule path}`` (mixing stages, probe
    points); a path that names no submodule is one clear error naming ``where``."""
    found = {}
    for label, path in declared.items():
        try:
            found[label] = backbone.get_submodule(path)
        except AttributeError as err:
            raise ConfigValueError(f"{where}[{label!r}] = {path!r} is not a submodule of "
                                   f"{type(backbone).__name__}") from err
    return found


def check_stages(backbone: nn.Module, names: Iterable[str], key: str) -> list[str]:
    """``names`` as a list, each ``input`` or one of the backbone's declared stages; else an error naming ``key``."""
    names = list(names)
    hidden = [n for n in names if n != INPUT]
    if len(set(names)) != len(names):
        raise ConfigValueError(f"{key} lists a stage twice: {names}")
    if not hidden:
        return names
    stages = declared_stages(backbone)
    unknown = [n for n in hidden if n not in stages]
    if unknown:
        raise ConfigValueError(f"{key}: {type(backbone).__name__} has no stage {unknown[0]!r}; its stages are "
                               f"{INPUT!r} (the input) and {', '.join(repr(s) for s in stages)}")
    return names
