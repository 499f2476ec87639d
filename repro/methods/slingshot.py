"""Grokking (Power et al. 2022) and the Slingshot Mechanism (Thilak et al. 2022, arXiv:2206.04817).

A token model trained on a modular-arithmetic table (``repro.data.modular``) with Adam/AdamW (lr 1e-3,
β = (0.9, 0.98), ε, weight decay, 10-step linear warm-up) or SGD/Adagrad for the "no slingshot"
comparison, step-based (``trainer.max_steps``, validation every ``trainer.val_check_interval`` steps)::

    repro fit --config configs/slingshot/quick.yaml

Adam's update θ ← θ − η·m̂/(√v̂ + ε) keeps its size near η while gradients vanish (when √v̂ ≪ ε does
not hold), so late in training the last-layer norm grows until the loss spikes — one "Slingshot". A
large ε removes the cycles (Thilak et al. §3.1, Fig. 4).

``stack_seeds: [0, 1, 2]`` trains one model per seed as one stacked model (``repro.stacking``); member i is
initialised exactly as a run with ``seed_everything: stack_seeds[i]`` and logs its metrics as
``member{i}/<metric>``, with ``self.members[i] == {"seed": stack_seeds[i]}``. Without ``seeds`` the metrics have
no prefix. Metrics: ``fit/loss`` and ``fit/error`` on every step's batch (spikes last a few steps);
``val/{loss,error,acc}`` and ``train/{loss,error,acc}`` at every validation pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.func import functional_call

from repro.callbacks.dynamics import FeatureChange, LastLayerNorm, UpdateSharpness
from repro.errors import ConfigValueError, ReproError
from repro.methods.base import BackboneFactory, Classifier
from repro.stacking import StackedModules

Optimizer = Literal["adam", "adamw", "sgd", "adagrad"]


def build_optimizer(params, name: str, *, lr: float, betas: Sequence[float], eps: float, weight_decay: float,
                    momentum: float) -> torch.optim.Optimizer:
    """The optimizer a study names, with exactly the hyperparameters it states (no hidden defaults)."""
    if name == "adam":  # weight_decay here is L2 added to the gradient
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if name == "adamw":  # decoupled: θ ← θ − η·λ·θ
        return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=weight_decay)
    raise ConfigValueError(f"model.init_args.optimizer={name!r} is unknown; use adam, adamw, sgd or adagrad")


def linear_warmup(steps: int):
    """lr multiplier (t+1)/steps for the first ``steps`` updates, then 1 (openai/grok)."""
    return lambda t: min(1.0, (t + 1) / steps) if steps > 0 else 1.0


class Slingshot(Classifier):
    """Answer-token cross-entropy on modular arithmetic, one model or a stack of seeds.

    Args:
        backbone: a token model (``repro.models.transformer.Transformer`` or ``OperandMLP``).
        optimizer: ``adam``, ``adamw``, ``sgd`` or ``adagrad``.
        lr, betas, eps, weight_decay, momentum: its hyperparameters (``betas``/``eps`` for Adam(W),
            ``eps`` for Adagrad, ``momentum`` for SGD).
        warmup_steps: linear learning-rate warm-up over this many updates.
        stack_seeds: train one stacked model per seed (``None``: one model, seeded by ``seed_everything``).
        norm_every, feature_change_every, sharpness_every: log the last-layer norm, the feature change and
            the update sharpness every this many steps (``None``: not at all); see ``repro.callbacks.dynamics``.
    """

    def __init__(self, backbone: BackboneFactory, *, num_classes: int = 103, in_shape: Sequence[int] = (4,),
                 optimizer: Optimizer = "adam", lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.98),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, warmup_steps: int = 10,
                 stack_seeds: list[int] | None = None, norm_every: int = 1, feature_change_every: int | None = 10,
                 sharpness_every: int | None = None, nan_check_every: int = 50) -> None:
        super().__init__(backbone, num_classes=num_classes, in_shape=in_shape, nan_check_every=nan_check_every)
        if lr <= 0 or eps < 0 or weight_decay < 0 or warmup_steps < 0:
            raise ConfigValueError(f"model.init_args: lr={lr} must be > 0 and eps={eps}, weight_decay={weight_decay}, "
                                   f"warmup_steps={warmup_steps} >= 0")
        build_optimizer([torch.zeros(1, requires_grad=True)], optimizer, lr=lr, betas=betas, eps=eps,
                        weight_decay=weight_decay, momentum=momentum)  # validates the name and values now
        self.opt_name, self.lr, self.betas, self.eps = optimizer, lr, tuple(betas), eps
        self.weight_decay, self.momentum, self.warmup_steps = weight_decay, momentum, warmup_steps
        self.stacked = stack_seeds is not None
        self.seeds = list(stack_seeds or [])
        if self.stacked:
            if not self.seeds or len(set(self.seeds)) != len(self.seeds):
                raise ConfigValueError(f"model.init_args.stack_seeds={stack_seeds} must be a non-empty list of "
                                       "distinct seeds")
            members = []
            for seed in self.seeds:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    members.append(backbone(num_classes, self.in_shape))
            self.backbone = StackedModules(members)
        if sharpness_every and not self.stacked and hasattr(self.backbone, "prepare_for_vmap"):
            self.backbone.prepare_for_vmap()  # fused attention has no forward-mode AD (the Hessian-vector product)
        self.norm_every, self.sharpness_every = norm_every, sharpness_every
        self.feature_change_every = feature_change_every
        self._eval: dict[str, torch.Tensor] = {}
        self.log_step = 0

    def configure_callbacks(self) -> list[pl.Callback]:
        callbacks: list[pl.Callback] = []
        if self.norm_every:
            callbacks.append(LastLayerNorm(self.norm_every))
        if self.feature_change_every:
            callbacks.append(FeatureChange(self.feature_change_every))
        if self.sharpness_every:
            callbacks.append(UpdateSharpness(self.sharpness_every))
        return callbacks

    # -- members ------------------------------------------------------------------------------------------
    @property
    def members(self) -> list[dict]:
        """One dict per stacked member, ``[{"seed": 0}, ...]`` (the study runner's rows); empty for one model."""
        return [{"seed": s} for s in self.seeds]

    @property
    def num_members(self) -> int:
        return len(self.seeds) if self.stacked else 1

    def metric_names(self, name: str) -> list[str]:
        return [f"member{i}/{name}" for i in range(self.num_members)] if self.stacked else [name]

    def log_members(self, values: dict[str, torch.Tensor]) -> None:
        """Write per-member values (each a (M,) tensor) under their member names, at this batch's step.

        They go straight to the loggers, in one device→host copy: ``self.log`` costs ~1 ms a call (the
        step itself is a few ms on a CPU), and it would repeat a value logged only at some steps at every
        later step of the endless epoch.
        """
        if self.trainer is None or not self.trainer.is_global_zero or not values:
            return
        flat = torch.stack([v.detach().float() for v in values.values()]).tolist()
        out = {n: x for name, row in zip(values, flat, strict=True)
               for n, x in zip(self.metric_names(name), row, strict=True)}
        for logger in self.trainer.loggers:
            logger.log_metrics(out, step=self.log_step)

    def head_weights(self) -> torch.Tensor:
        """The output layer's weights W_out of every member, (M, V, d): the "last layer"."""
        if self.stacked:
            return self.backbone.params()["head.weight"]
        return self.backbone.head.weight.unsqueeze(0)

    def functional_params(self) -> dict[str, torch.Tensor]:
        return self.backbone.params() if self.stacked else dict(self.backbone.named_parameters())

    def functional_losses(self, params: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-member loss (M,) at the given parameters (for Hessian-vector products)."""
        if self.stacked:
            logits = self.backbone.call(params, batch["x"])
        else:
            logits = functional_call(self.backbone, params, (batch["x"],)).unsqueeze(0)
        return self.member_losses(logits, batch["y"])

    def member_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum over everything but the member axis: (M,)."""
        return t.flatten(1).sum(1) if self.stacked else t.sum().unsqueeze(0)

    # -- the model ----------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Answer logits of every member, (M, N, V) (and hidden features, each (M, N, d))."""
        out = self.backbone(x, return_features=return_features)
        if self.stacked:
            return out
        if return_features:
            return out[0].unsqueeze(0), tuple(f.unsqueeze(0) for f in out[1])
        return out.unsqueeze(0)

    @staticmethod
    def member_losses(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        m = logits.shape[0]
        losses = F.cross_entropy(logits.flatten(0, 1).float(), y.repeat(m), reduction="none").view(m, -1)
        return losses.mean(1) if reduction == "mean" else losses.sum(1)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        self.log_step = self.global_step  # the step this batch's metrics belong to (callbacks log after the update)
        logits = self(batch["x"])
        losses = self.member_losses(logits, batch["y"])
        # The sum: each member's gradient is its own loss's gradient (separate runs, one backward).
        loss = losses.sum()
        if self.nan_check_every and self.global_step % self.nan_check_every == 0 and not torch.isfinite(loss):
            raise ReproError(
                f"training loss became {loss.item()} at step {self.global_step}; the run diverged. Lower "
                "model.init_args.lr or use fp32 (trainer.precision=32-true). Finished runs are kept.")
        errors = (logits.argmax(-1) != batch["y"]).float().mean(1)
        # fit/loss of a single model, the members' summed loss (the objective) of a stack, goes through
        # Lightning (progress display, callbacks); the members' own values are logged beside it.
        self.log_members({"fit/loss": losses, "fit/error": errors} if self.stacked else {"fit/error": errors})
        self.log("fit/loss", loss, on_step=True, on_epoch=False, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        split = self._eval_split(dataloader_idx)
        logits = self(batch["x"])
        sums = torch.stack([self.member_losses(logits, batch["y"], "sum"),
                            (logits.argmax(-1) == batch["y"]).float().sum(1),
                            torch.full((logits.shape[0],), float(len(batch["y"])), device=logits.device)])
        self._eval[split] = self._eval.get(split, 0) + sums.detach()

    def on_validation_epoch_end(self) -> None:
        values = {}
        for split, (loss_sum, correct, n) in self._eval.items():
            acc = correct / n
            values.update({f"{split}/loss": loss_sum / n, f"{split}/acc": acc, f"{split}/error": 1 - acc})
        self._eval = {}
        out = {}
        for name, v in values.items():
            out.update(zip(self.metric_names(name), v.float().unbind(0), strict=True))
        self.log_dict(out, sync_dist=False)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        raise ReproError("the modular-arithmetic studies have no test split; use `repro validate`")

    def configure_optimizers(self):
        optimizer = build_optimizer(self.parameters(), self.opt_name, lr=self.lr, betas=self.betas, eps=self.eps,
                                    weight_decay=self.weight_decay, momentum=self.momentum)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_warmup(self.warmup_steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
