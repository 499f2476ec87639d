"""Iterative magnitude pruning (IMP): rounds of training, each followed by pruning a fraction of the remaining
weights by their global magnitude, as one Lightning run.

Round 0 trains the dense network for ``epochs_per_round`` epochs; at the start of each later round the callback

1. removes ``round(rate · remaining)`` of the still-unpruned weights with the smallest ``|w|``, ranked globally
   over every ``Conv{1,2,3}d`` and ``Linear`` weight (biases and normalisation layers are never pruned; names in
   ``exclude`` are left dense). The count is PyTorch's ``torch.nn.utils.prune.global_unstructured`` rule
   (``round`` of the fraction of the unpruned entries), so after r rounds a fraction ≈ 1 − (1 − rate)^r is zero,
   up to integer rounding;
2. sets the starting weights of the round (``retrain``):

   - ``lr_rewind``: the current weights (LR rewinding: only the schedule restarts);
   - ``weight_rewind``: lottery-ticket rewinding. With ``rewind_step`` (OpenLTH's ``lottery`` runner): the
     weights before optimizer step ``rewind_step`` of round 0, and the round's first ``rewind_step`` batches take
     no step (:meth:`IterativePruning.skips`), so the round trains from the rewind point to its end on the same
     schedule, the learning rate where it was at that step. With ``rewind_epoch`` instead: the weights at the
     start of that epoch of round 0, the full schedule replayed from them;
   - ``finetune``: the current weights, trained at the constant learning rate ``finetune_lr`` (no schedule);
   - ``scratch``: a fresh random initialisation (``reset_parameters`` of every layer, seeded per round);

   and the pruned entries are zeroed;
3. builds a fresh optimizer and learning-rate schedule from the module's ``configure_optimizers`` (momentum and
   Adam moments reset).

Pruned weights are multiplied by their mask after every optimizer step, so they stay exactly zero. The masks,
the round, the rewind point and the best round so far are the callback's checkpoint state: a run interrupted
mid-round resumes there. A stacked model (``repro.training.stacking.StackedModules``) has one mask per member,
each pruned globally within its own member.

At every round end the callback logs ``imp/round`` and ``imp/sparsity`` with the validation metrics, and writes
``<run dir>/rounds/dense.ckpt`` (the weights after round 0) and ``rounds/best.ckpt`` (each member's weights at
its best round end by ``monitor``), both ``{"state_dict": {"backbone.<name>": tensor}, ...}`` like a Lightning
checkpoint, for another run to load (a distillation teacher).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from repro.atomic import atomic_path
from repro.errors import ConfigValueError
from repro.training.masks import global_magnitude_masks, prunable_weights, sparsity

__all__ = ["RETRAIN", "IterativePruning", "check_pruning", "global_magnitude_masks", "prunable_weights",
           "sparsity"]

RETRAIN = ("lr_rewind", "weight_rewind", "finetune", "scratch")


def check_pruning(rate: float, rounds: int, epochs_per_round: int, retrain: str, key: str = "model.init_args") -> None:
    """One clear error for each impossible pruning setting, naming its config key."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 1:
        raise ConfigValueError(f"{key}.prune_rate must be a fraction in (0, 1) of the remaining weights removed per "
                               f"round (0.2 removes 20%), got {rate!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ConfigValueError(f"{key}.rounds must be an integer >= 0 (pruning rounds after the dense one), "
                               f"got {rounds!r}")
    if isinstance(epochs_per_round, bool) or not isinstance(epochs_per_round, int) or epochs_per_round < 1:
        raise ConfigValueError(f"{key}.epochs_per_round must be an integer >= 1, got {epochs_per_round!r}")
    if retrain not in RETRAIN:
        raise ConfigValueError(f"{key}.retrain must be one of {', '.join(RETRAIN)}, got {retrain!r}")


class IterativePruning(pl.Callback):
    """IMP over one run of ``(rounds + 1) · epochs_per_round`` epochs (see the module docstring).

    Args:
        rounds: pruning rounds after the dense round 0.
        epochs_per_round: epochs of each round (the full schedule, replayed every round).
        rate: fraction of the remaining weights removed per round, in (0, 1).
        retrain: ``lr_rewind``, ``weight_rewind``, ``finetune`` or ``scratch``.
        rewind_epoch: with ``weight_rewind``, the round-0 epoch whose starting weights later rounds restart from
            (the full schedule replayed).
        rewind_step: with ``weight_rewind``, the round-0 optimizer step whose weights later rounds restart from,
            at that step of the schedule (the rounds' first ``rewind_step`` batches take no step); overrides
            ``rewind_epoch``.
        finetune_lr: with ``finetune``, the constant learning rate of rounds ≥ 1.
        exclude: parameter names left dense (e.g. ``head.weight``).
        monitor, mode: the round-end metric (and ``max``/``min``) that picks each member's best round.
    """

    def __init__(self, *, rounds: int, epochs_per_round: int, rate: float = 0.2, retrain: str = "lr_rewind",
                 rewind_epoch: int = 0, rewind_step: int | None = None, finetune_lr: float | None = None,
                 exclude: tuple[str, ...] = (), monitor: str = "test/accuracy", mode: str = "max") -> None:
        check_pruning(rate, rounds, epochs_per_round, retrain)
        if retrain == "finetune" and not finetune_lr:
            raise ConfigValueError("model.init_args.retrain=finetune needs model.init_args.finetune_lr (e.g. 0.001)")
        if retrain == "weight_rewind" and not 0 <= rewind_epoch < epochs_per_round:
            raise ConfigValueError(f"model.init_args.rewind_epoch must be in [0, epochs_per_round={epochs_per_round}),"
                                   f" got {rewind_epoch}")
        if rewind_step is not None and (retrain != "weight_rewind" or isinstance(rewind_step, bool)
                                        or not isinstance(rewind_step, int) or rewind_step < 0):
            raise ConfigValueError(f"model.init_args.rewind_step must be an integer >= 0 with retrain=weight_rewind "
                                   f"(the round-0 step lottery-ticket rewinding returns to), got {rewind_step!r} "
                                   f"with retrain={retrain}")
        if mode not in ("max", "min"):
            raise ConfigValueError(f"the pruning monitor's mode must be max or min, got {mode!r}")
        self.rounds, self.epochs_per_round, self.rate = rounds, epochs_per_round, float(rate)
        self.retrain, self.rewind_epoch, self.finetune_lr = retrain, rewind_epoch, finetune_lr
        self.rewind_step = rewind_step
        self.exclude, self.monitor, self.mode = tuple(exclude), monitor, mode
        self.round = 0  # prunings applied so far
        self.masks: dict[str, torch.Tensor] = {}
        self.rewind: dict[str, torch.Tensor] | None = None
        self.best: list[tuple[float, int]] = []  # per member: (value, round)
        self.best_state: dict[str, torch.Tensor] | None = None
        self._applied: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    # -- what the module's backbone looks like -------------------------------------------------------------
    @staticmethod
    def _members(pl_module) -> int | None:
        return pl_module.num_members if getattr(pl_module, "stacked", False) else None

    def _weights(self, pl_module) -> dict[str, torch.Tensor]:
        return prunable_weights(pl_module.backbone, self.exclude)

    @torch.no_grad()
    def apply_masks(self, pl_module) -> None:
        """Zero the pruned entries (after every optimizer step: their gradients are not zero)."""
        if self._applied is None:  # (weight, mask in its dtype) pairs, rebuilt whenever the masks change
            weights = self._weights(pl_module)
            self._applied = [(w, self.masks[n].to(w.device, w.dtype)) for n, w in weights.items()
                             if not bool(self.masks[n].all())]
        for w, m in self._applied:
            w.mul_(m)

    def round_of(self, epoch: int) -> int:
        return epoch // self.epochs_per_round

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def setup(self, trainer, pl_module, stage: str) -> None:
        wanted = (self.rounds + 1) * self.epochs_per_round
        if stage == "fit" and not trainer.fast_dev_run and trainer.max_epochs != wanted:
            raise ConfigValueError(f"trainer.max_epochs must be (rounds + 1) · epochs_per_round = ({self.rounds} + 1)"
                                   f" · {self.epochs_per_round} = {wanted} for iterative pruning, got "
                                   f"{trainer.max_epochs}")
        every = trainer.check_val_every_n_epoch
        if stage == "fit" and every and self.epochs_per_round % every:
            raise ConfigValueError(f"trainer.check_val_every_n_epoch={every} must divide epochs_per_round="
                                   f"{self.epochs_per_round}, so that every round's end is evaluated")

    def skips(self, trainer, batch_idx: int) -> bool:
        """Whether this batch trains nothing: in rounds >= 1 of rewinding to ``rewind_step``, the batches before the
        rewind point. The module's ``training_step`` returns None for them: Lightning then computes no gradient, so
        the optimizer's step changes no weight, momentum or moment (Lightning's ``global_step`` still counts it)."""
        if self.rewind_step is None or self.round_of(trainer.current_epoch) == 0:
            return False
        within = (trainer.current_epoch % self.epochs_per_round) * trainer.num_training_batches + batch_idx
        return within < self.rewind_step

    def on_train_start(self, trainer, pl_module) -> None:
        steps = self.epochs_per_round * trainer.num_training_batches
        whole = trainer.limit_train_batches == 1.0 and trainer.max_steps == -1 and not trainer.fast_dev_run
        if self.rewind_step is not None and self.rewind_step >= steps and whole:  # (not a one-step check's run)
            raise ConfigValueError(f"model.init_args.rewind_step={self.rewind_step} is past round 0's "
                                   f"{steps} optimizer steps ({self.epochs_per_round} epochs × "
                                   f"{trainer.num_training_batches} batches)")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if (self.rewind_step is not None and self.rewind is None and self.round_of(trainer.current_epoch) == 0
                and trainer.global_step == self.rewind_step):
            self.rewind = {n: w.detach().clone() for n, w in pl_module.backbone.state_dict().items()}

    def on_fit_start(self, trainer, pl_module) -> None:
        weights = self._weights(pl_module)
        if not self.masks:
            self.masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
        self.masks = {n: m.to(weights[n].device) for n, m in self.masks.items()}
        self._applied = None
        self.apply_masks(pl_module)

    @torch.no_grad()
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch
        if (self.retrain == "weight_rewind" and self.rewind_step is None and self.rewind is None
                and epoch == self.rewind_epoch):
            self.rewind = {n: w.detach().clone() for n, w in pl_module.backbone.state_dict().items()}
        target = self.round_of(epoch)
        if target <= self.round:
            return
        members = self._members(pl_module)
        while self.round < target:  # one pruning per round boundary crossed (one, unless resumed oddly)
            self.masks = global_magnitude_masks(self._weights(pl_module), self.masks, self.rate, members)
            self.round += 1
        self._applied = None
        self._restart_weights(pl_module)
        self.apply_masks(pl_module)
        trainer.strategy.setup_optimizers(trainer)  # a fresh optimizer and schedule: the round's full schedule
        if self.retrain == "finetune":
            for optimizer in trainer.optimizers:
                for group in optimizer.param_groups:
                    group["lr"] = self.finetune_lr
            trainer.strategy.lr_scheduler_configs = []

    def _restart_weights(self, pl_module) -> None:
        if self.retrain == "weight_rewind":
            if self.rewind is None:
                raise ConfigValueError(f"model.init_args.rewind_step={self.rewind_step} was not reached in round 0; "
                                       "give a step inside round 0")
            pl_module.backbone.load_state_dict(self.rewind)
        elif self.retrain == "scratch":
            _reinitialise(pl_module.backbone, seed=self.round)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.apply_masks(pl_module)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not self.masks:
            return
        members = self._members(pl_module)
        values = {"imp/round": torch.tensor(float(self.round)),
                  "imp/sparsity": sparsity(self.masks, members).float()}
        pl_module.log_dict(member_values(pl_module, values), sync_dist=False)

    def on_validation_end(self, trainer, pl_module) -> None:
        """At a round's end (metrics logged by now): each member's best round so far, and the round files."""
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING or trainer.fast_dev_run:
            return
        if (trainer.current_epoch + 1) % self.epochs_per_round:
            return
        members = self._members(pl_module)
        state = {n: v.detach().clone() for n, v in pl_module.backbone.state_dict().items()}
        if self.round == 0:
            self._write(trainer, "dense.ckpt", state, [0] * (members or 1), pl_module)
        names = [f"member{i}/{self.monitor}" for i in range(members)] if members else [self.monitor]
        if not self.best:
            self.best = [(math.nan, -1)] * len(names)
            self.best_state = {n: v.clone() for n, v in state.items()}
        improved = False
        for i, name in enumerate(names):
            value = trainer.callback_metrics.get(name)
            if value is None:
                continue
            value, old = float(value), self.best[i][0]
            if math.isnan(old) or (value > old if self.mode == "max" else value < old):
                self.best[i] = (value, self.round)
                improved = True
                for n, v in state.items():  # a stacked member's slice, or the whole tensor of one model
                    if members and v.dim() and v.shape[0] == members:
                        self.best_state[n][i] = v[i]
                    else:
                        self.best_state[n] = v.clone()
        if improved:
            self._write(trainer, "best.ckpt", self.best_state, [r for _, r in self.best], pl_module)

    def _write(self, trainer, name: str, state: dict[str, torch.Tensor], rounds: list[int], pl_module) -> None:
        if not trainer.is_global_zero:
            return
        path = Path(trainer.default_root_dir) / "rounds" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = {"state_dict": {f"backbone.{n}": v.cpu() for n, v in state.items()}, "rounds": rounds,
                "monitor": self.monitor, "values": [v for v, _ in self.best] if self.best else [],
                "sparsity": sparsity(self.masks, self._members(pl_module)).reshape(-1).tolist()}
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)

    # -- checkpoint state --------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"round": self.round, "masks": self.masks, "rewind": self.rewind, "best": self.best,
                "best_state": self.best_state}

    def load_state_dict(self, state_dict: dict) -> None:
        self.round = int(state_dict["round"])
        self.masks = dict(state_dict["masks"])
        self.rewind = state_dict.get("rewind")
        self.best = [tuple(b) for b in state_dict.get("best", [])]
        self.best_state = state_dict.get("best_state")
        self._applied = None


def member_values(pl_module, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Values to log: ``member<i>/<name>`` and the members' mean for a stack of (M,) tensors, else as they are."""
    if not getattr(pl_module, "stacked", False):
        return {k: v.reshape(()) if v.numel() == 1 else v for k, v in values.items()}
    out = {}
    for name, v in values.items():
        v = v.reshape(-1) if v.numel() > 1 else v.reshape(1).expand(pl_module.num_members)
        out.update({f"member{i}/{name}": v[i] for i in range(len(v))})
        out[name] = v.float().mean()
    return out


@torch.no_grad()
def _reinitialise(backbone: nn.Module, seed: int) -> None:
    """Fresh random weights (each layer's own ``reset_parameters``), the same for a given round on every resume."""
    from repro.data.seeds import draw_seed

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(draw_seed(None, f"imp_scratch_round{seed}"))
        if hasattr(backbone, "params") and hasattr(backbone, "member"):  # stacked: one fresh member at a time
            params = backbone.params()
            for i in range(backbone.num_members):
                member = backbone.member(i)
                _reset(member)
                for n, p in member.named_parameters():
                    params[n][i].copy_(p)
        else:
            _reset(backbone)


def _reset(module: nn.Module) -> None:
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()
