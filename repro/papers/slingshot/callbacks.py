"""Training-dynamics callbacks of the Slingshot studies (Thilak et al. 2022, Fig. 2 and 3).

They work on any module that offers ``head_weights()`` (M, V, d), ``features(x)`` (each (M, N, d)),
``functional_params()``, ``functional_losses(params, batch)``, ``member_sum(t)`` and
``log_members({name: (M,) tensor})`` — :class:`repro.papers.slingshot.method.Slingshot`, stacked or not.
Per-step values are logged at every step they are computed (spikes last a few steps: no epoch means).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.func import grad, jvp


class LastLayerNorm(pl.Callback):
    """``weights/last_layer_norm``: N_t = ‖W_out‖_F of the output layer after every ``every``-th update."""

    def __init__(self, every: int = 1) -> None:
        self.every = every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            w = pl_module.head_weights().detach()
            pl_module.log_members({"weights/last_layer_norm": w.flatten(1).norm(dim=1)})


class FeatureChange(pl.Callback):
    """``features/change_l{l}``: r_t^l = ‖h^l_{t+1} − h^l_t‖ / ‖h^l_t‖ on a fixed probe batch (the first
    ``probe_size`` training examples), measured across one update every ``every`` steps."""

    def __init__(self, every: int = 10, probe_size: int = 256) -> None:
        self.every, self.probe_size = every, probe_size
        self._before: tuple[torch.Tensor, ...] | None = None

    def _features(self, trainer, pl_module) -> tuple[torch.Tensor, ...]:
        x = trainer.datamodule.splits["train"]["x"][: self.probe_size]
        with torch.no_grad():
            return pl_module.features(x)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = self._features(trainer, pl_module) if trainer.global_step % self.every == 0 else None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._before is None:
            return
        after = self._features(trainer, pl_module)
        pl_module.log_members({
            f"features/change_l{i + 1}": (a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1).clamp_min(1e-30)
            for i, (a, b) in enumerate(zip(after, self._before, strict=True))
        })
        self._before = None


class UpdateSharpness(pl.Callback):
    """``sharpness/update``: s_t = u_tᵀ H_t u_t / ‖u_t‖², u_t = θ_{t+1} − θ_t, H_t the Hessian of the batch
    loss at θ_t, by one Hessian-vector product (forward-over-reverse) every ``every`` steps."""

    def __init__(self, every: int = 100) -> None:
        self.every = every
        self._state: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._state = None
        if trainer.global_step % self.every == 0:
            params = {k: v.detach().clone() for k, v in pl_module.functional_params().items()}
            self._state = (params, {k: v for k, v in batch.items()})

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._state is None:
            return
        before, batch = self._state
        self._state = None
        after = {k: v.detach() for k, v in pl_module.functional_params().items()}
        u = {k: after[k] - before[k] for k in before}

        def total_loss(p):
            return pl_module.functional_losses(p, batch).sum()

        with torch.enable_grad():
            _, hu = jvp(grad(total_loss), (before,), (u,))
        # The members' losses are independent, so H is block-diagonal and each block gives its own uᵀHu.
        uhu = sum(pl_module.member_sum(u[k] * hu[k]) for k in u)
        uu = sum(pl_module.member_sum(u[k] * u[k]) for k in u)
        pl_module.log_members({"sharpness/update": uhu / uu.clamp_min(1e-30)})
