"""ReLU-state entropy: how undecided a network's units are about firing, over a fixed set of inputs.

For every ``nn.ReLU`` call in the network (a module called twice counts as two layers, ``<name>#2``) and every
position i of its input z (each element of C×H×W, or each unit of a Linear layer), the firing probability
p_i = #{images with z_i > 0} / N is counted over ALL training images, without augmentation and in eval mode.
Its binary entropy in bits,

    H_i = −p_i log₂ max(p_i, ε) − (1 − p_i) log₂ max(1 − p_i, ε),   ε = 1e-5,

is 0 for a unit that always or never fires and 1 for one that fires half the time. A layer's entropy is the
mean of H_i over its positions; the network's is the unweighted mean over layers (``entropy/mean``), and also the
mean weighted by each layer's channel count (``entropy/channel_weighted``).

The inputs are hooked before the ReLU runs (a forward pre-hook), so in-place ReLUs are measured correctly. A
stacked model is measured one member at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from repro.data.fixed_inputs import split_inputs
from repro.training.pruning import member_values

__all__ = ["ReLUEntropy", "binary_entropy_bits", "relu_state_entropy"]

CLAMP = 1e-5


def binary_entropy_bits(p: torch.Tensor, clamp: float = CLAMP) -> torch.Tensor:
    """H(p) in bits, element-wise, with the log arguments clamped at ``clamp`` (so p = 0 or 1 give 0)."""
    p = p.double()
    q = 1 - p
    return -p * torch.log2(p.clamp(min=clamp)) - q * torch.log2(q.clamp(min=clamp))


@torch.no_grad()
def relu_state_entropy(module: nn.Module, batches: Iterable[torch.Tensor]) -> dict[str, tuple[float, int]]:
    """Per ReLU layer: (mean binary entropy in bits of its units' firing over every input, channel count).
    ``module`` runs in eval mode (restored after)."""
    relus = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(f"{type(module).__name__} has no nn.ReLU module to measure (functional relu calls cannot "
                         "be hooked)")
    fired: dict[str, torch.Tensor] = {}
    channels: dict[str, int] = {}
    calls: dict[str, int] = {}
    seen = [0]

    def hook(name):
        def count(_module, args):
            calls[name] += 1
            key = name if calls[name] == 1 else f"{name}#{calls[name]}"
            z = args[0]
            positive = (z > 0).sum(0, dtype=torch.int64)
            fired[key] = fired[key] + positive if key in fired else positive
            channels[key] = z.shape[1] if z.dim() > 1 else 1
        return count

    handles = [m.register_forward_pre_hook(hook(n)) for n, m in relus]
    was_training = module.training
    module.eval()
    try:
        for x in batches:
            for n, _ in relus:
                calls[n] = 0
            module(x)
            seen[0] += len(x)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return {k: (float(binary_entropy_bits(v.double() / seen[0]).mean()), channels[k]) for k, v in fired.items()}


def network_entropy(layers: dict[str, tuple[float, int]]) -> dict[str, float]:
    """``entropy/mean`` (over layers), ``entropy/channel_weighted`` and ``entropy/<layer>`` from per-layer values."""
    values = [h for h, _ in layers.values()]
    weights = [c for _, c in layers.values()]
    out = {"entropy/mean": sum(values) / len(values),
           "entropy/channel_weighted": sum(h * c for h, c in zip(values, weights, strict=True)) / sum(weights)}
    out.update({f"entropy/{name}": h for name, (h, _) in layers.items()})
    return out


class ReLUEntropy(pl.Callback):
    """Logs the ReLU-state entropy of the training images with the validation metrics, at the validation passes
    that end an ``every_n_epochs`` block (e.g. every pruning round's end) and at a validation outside training.

    Args:
        every_n_epochs: measure after epochs e with (e + 1) % every_n_epochs == 0 (1: every validation).
        split: the datamodule split whose images are used (all of them).
        batch_size: images per forward pass.
    """

    def __init__(self, every_n_epochs: int = 1, split: str = "train", batch_size: int = 2048) -> None:
        self.every_n_epochs, self.split, self.batch_size = max(int(every_n_epochs), 1), split, batch_size

    def due(self, trainer) -> bool:
        if trainer.sanity_checking or trainer.fast_dev_run:
            return False
        if trainer.state.fn != TrainerFn.FITTING:
            return True
        return (trainer.current_epoch + 1) % self.every_n_epochs == 0

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not self.due(trainer):
            return
        backbone = pl_module.backbone
        param = next(backbone.parameters())
        # a stacked member is copied into its architecture template, which keeps the dtype it was built in
        members = ([backbone.member(i).to(param.dtype) for i in range(backbone.num_members)] if pl_module.stacked
                   else [backbone])
        per_member = []
        for member in members:
            batches = split_inputs(trainer.datamodule, self.split, batch_size=self.batch_size,
                                   device=param.device, dtype=param.dtype)
            per_member.append(network_entropy(relu_state_entropy(member, batches)))
        values = {k: torch.tensor([m[k] for m in per_member]) for k in per_member[0]}
        pl_module.log_dict(member_values(pl_module, values), sync_dist=False)
