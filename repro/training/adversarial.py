"""Single-step adversarial examples: the fast gradient sign method (Goodfellow et al. 2015).

x_adv = x + ε·sign(∇_x ℓ(f(x), y)), optionally clipped to [lo, hi]. ε is in the units of the model's input (after
any normalisation the data applies); gradients are taken outside inference mode, so it runs inside an evaluation
loop too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["fgsm"]


def fgsm(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor, epsilon: float, *,
         loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
         clip: tuple[float, float] | None = None) -> torch.Tensor:
    """x + ε·sign(∇_x loss(model(x), y)) (detached), clipped to ``clip`` when given."""
    with torch.inference_mode(False), torch.enable_grad():
        x_ = x.detach().clone().requires_grad_(True)  # a normal tensor even if x was made in inference mode
        (grad,) = torch.autograd.grad(loss(model(x_), y.clone()), x_)
    adv = x.detach().clone() + epsilon * grad.sign()
    return adv.clamp(*clip) if clip is not None else adv
