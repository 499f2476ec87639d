"""Iterative magnitude pruning (repro/training/pruning.py): the global magnitude rule against a brute-force sort and
against torch.nn.utils.prune, the sparsity schedule, masks held through training and a mid-round resume, a fresh
optimizer and schedule every round, the retraining modes, per-member masks of a stacked model, bad settings."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn
from torch.nn.utils import prune

from repro.data.core import TensorDataModule
from repro.errors import ConfigValueError
from repro.models.mlp import MLP
from repro.training.classifier import Classifier
from repro.training.pruning import IterativePruning, global_magnitude_masks, prunable_weights, sparsity
from repro.training.stacking import StackedModules


def mlp(num_classes, in_shape):
    return MLP(num_classes, in_shape, width=16, depth=2)


class Pruned(Classifier):
    """The shared loop with IMP attached the way a paper's module does it."""

    def __init__(self, *args, imp: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.imp = imp

    def configure_callbacks(self):
        return [*super().configure_callbacks(), IterativePruning(**self.imp)]


def _fit(tmp_path, rounds=2, epochs=3, ckpt=None, callbacks=(), seed=0, optimizer=torch.optim.Adam, scheduler=None,
         **imp):
    pl.seed_everything(seed, verbose=False)
    model = Pruned(mlp, num_classes=10, in_shape=(64,), optimizer=optimizer, lr_scheduler=scheduler,
                   imp=dict(rounds=rounds, epochs_per_round=epochs, **imp))
    data = TensorDataModule("digits", batch_size=0, label_noise=0.4, eval_splits=("test", "train"))
    trainer = pl.Trainer(max_epochs=(rounds + 1) * epochs, check_val_every_n_epoch=epochs, logger=False,
                         enable_checkpointing=bool(callbacks), callbacks=list(callbacks), enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path), num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data, ckpt_path=ckpt)
    imp_cb = next(c for c in trainer.callbacks if isinstance(c, IterativePruning))
    return model, imp_cb, trainer


def _random_weights(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"a.weight": torch.randn(7, 5, generator=g), "b.weight": torch.randn(3, 11, generator=g) * 0.3,
            "c.weight": torch.randn(40, generator=g) * 3}


def test_global_pruning_removes_the_smallest_magnitudes_across_layers_brute_force():
    weights = _random_weights()
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    for _ in range(4):
        alive = sorted((abs(float(w.reshape(-1)[i])), n, i) for n, w in weights.items()
                       for i in range(w.numel()) if masks[n].reshape(-1)[i])
        k = round(0.2 * len(alive))
        expected_removed = {(n, i) for _, n, i in alive[:k]}
        new = global_magnitude_masks(weights, masks, 0.2)
        removed = {(n, i) for n in weights for i in range(weights[n].numel())
                   if masks[n].reshape(-1)[i] and not new[n].reshape(-1)[i]}
        assert removed == expected_removed
        assert all(not new[n].reshape(-1)[i] for n in weights for i in range(weights[n].numel())
                   if not masks[n].reshape(-1)[i]), "a pruned weight came back"
        masks = new
        for n, w in weights.items():  # the layers' magnitudes differ (×0.3, ×3): a per-layer rule would differ
            w.mul_(masks[n])


def test_the_count_and_choice_match_torch_global_unstructured():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(9, 13), nn.ReLU(), nn.Linear(13, 4))
    ours = copy.deepcopy(net)
    weights = prunable_weights(ours)
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    for _ in range(6):
        prune.global_unstructured([(net[0], "weight"), (net[2], "weight")], pruning_method=prune.L1Unstructured,
                                  amount=0.2)
        masks = global_magnitude_masks(weights, masks, 0.2)
        with torch.no_grad():
            for n, w in weights.items():
                w.mul_(masks[n])
        assert torch.equal(masks["0.weight"], net[0].weight_mask.bool())
        assert torch.equal(masks["2.weight"], net[2].weight_mask.bool())


def test_sparsity_after_r_rounds_is_one_minus_point_eight_to_the_r_up_to_rounding(tmp_path):
    weights = {"w": torch.randn(25856)}  # the quick MLP's prunable weight count
    masks = {"w": torch.ones(25856, dtype=torch.bool)}
    remaining = 25856
    for r in range(1, 19):
        masks = global_magnitude_masks(weights, masks, 0.2)
        weights["w"] = weights["w"] * masks["w"]
        remaining -= round(0.2 * remaining)
        pruned = 25856 - int(masks["w"].sum())
        assert int(masks["w"].sum()) == remaining  # each round removes round(0.2 · remaining)
        # integer counts: within 0.5 / (1 − 0.8) = 2.5 weights of N · (1 − 0.8^r)
        assert abs(pruned - 25856 * (1 - 0.8 ** r)) <= 2.5
        assert float(sparsity(masks)) == pytest.approx(pruned / 25856)


def test_pruned_weights_stay_zero_through_training_and_biases_are_never_pruned(tmp_path):
    seen = []

    class Probe(pl.Callback):
        def on_validation_end(self, trainer, pl_module):
            imp = next(c for c in trainer.callbacks if isinstance(c, IterativePruning))
            w = prunable_weights(pl_module.backbone)
            seen.append((imp.round, {n: (w[n][~imp.masks[n]] == 0).all().item() for n in w},
                         float(sparsity(imp.masks))))

    model, imp, _ = _fit(tmp_path, rounds=3, epochs=4, callbacks=[Probe()])
    assert [r for r, _, _ in seen] == [0, 1, 2, 3]
    assert all(all(zero.values()) for _, zero, _ in seen)
    assert [s for _, _, s in seen] == pytest.approx([0, 0.2, 0.36, 0.488], abs=1e-3)
    assert set(imp.masks) == {"features.1.weight", "features.3.weight", "head.weight"}
    assert all((p != 0).all() for n, p in model.backbone.named_parameters() if n.endswith("bias"))
    files = sorted(p.name for p in (tmp_path / "rounds").iterdir())
    assert files == ["best.ckpt", "dense.ckpt"]


def test_a_run_resumed_mid_round_keeps_its_masks_and_ends_where_an_uninterrupted_one_does(tmp_path):
    straight, imp_a, _ = _fit(tmp_path / "a", rounds=2, epochs=4)

    class StopAt(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            if trainer.current_epoch == 5:  # round 1, two epochs in
                trainer.should_stop = True

    ckpt = ModelCheckpoint(dirpath=tmp_path / "b", save_last=True, save_top_k=0, every_n_epochs=1,
                           save_on_train_epoch_end=True)
    _, imp_half, _ = _fit(tmp_path / "b", rounds=2, epochs=4, callbacks=[ckpt, StopAt()])
    assert imp_half.round == 1
    saved = torch.load(tmp_path / "b" / "last.ckpt", weights_only=False)
    state = next(v for k, v in saved["callbacks"].items() if "IterativePruning" in k)
    assert torch.equal(state["masks"]["head.weight"], imp_half.masks["head.weight"])
    resumed, imp_b, trainer = _fit(tmp_path / "c", rounds=2, epochs=4, ckpt=str(tmp_path / "b" / "last.ckpt"))
    assert trainer.current_epoch == 12 and imp_b.round == 2
    for n in imp_a.masks:
        assert torch.equal(imp_a.masks[n], imp_b.masks[n])
    for (n, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), n


def test_every_round_gets_a_fresh_optimizer_and_schedule(tmp_path):
    seen = []

    class Probe(pl.Callback):  # at the first batch: after every epoch-start hook, the pruning one included
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            opt = trainer.optimizers[0]
            seen.append((trainer.current_epoch, id(opt), len(opt.state), opt.param_groups[0]["lr"]))

    sched = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    _fit(tmp_path, rounds=2, epochs=3, callbacks=[Probe()], optimizer=lambda p: torch.optim.SGD(p, lr=0.1,
                                                                                                 momentum=0.9),
         scheduler=sched)
    lrs = {e: lr for e, _, _, lr in seen}
    assert [lrs[e] for e in range(9)] == pytest.approx([0.1, 0.05, 0.025] * 3)
    starts = [(e, i, n) for e, i, n, _ in seen if e % 3 == 0]
    assert len({i for _, i, _ in starts}) == 3 and all(n == 0 for e, _, n in starts), "momentum carried over"


def test_weight_rewinding_restarts_the_survivors_from_the_saved_weights(tmp_path):
    starts = {}

    class Probe(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch in (1, 3, 6):
                starts[trainer.current_epoch] = pl_module.backbone.head.weight.detach().clone()

    _, imp, _ = _fit(tmp_path, rounds=2, epochs=3, callbacks=[Probe()], retrain="weight_rewind", rewind_epoch=1)
    mask_now = imp.masks["head.weight"]
    assert torch.equal(starts[3][mask_now], starts[1][mask_now]) and (starts[6][~mask_now] == 0).all()
    assert torch.equal(imp.rewind["head.weight"], starts[1])


def test_finetune_trains_pruned_rounds_at_a_constant_small_rate(tmp_path):
    lrs = []

    class Probe(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            lrs.append((trainer.optimizers[0].param_groups[0]["lr"], len(trainer.lr_scheduler_configs)))

    sched = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    _fit(tmp_path, rounds=1, epochs=3, callbacks=[Probe()], optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
         scheduler=sched, retrain="finetune", finetune_lr=1e-3)
    assert lrs[:3] == [(0.1, 1), (0.05, 1), (0.025, 1)] and lrs[3:] == [(1e-3, 0)] * 3


def test_scratch_draws_new_weights_under_the_mask(tmp_path):
    weights = {}

    class Probe(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            if trainer.current_epoch == 2:
                weights["end0"] = pl_module.backbone.head.weight.detach().clone()

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch == 3:
                weights["start1"] = pl_module.backbone.head.weight.detach().clone()

    _, imp, _ = _fit(tmp_path, rounds=1, epochs=3, callbacks=[Probe()], retrain="scratch")
    kept = imp.masks["head.weight"]
    assert (weights["start1"][~kept] == 0).all()
    assert not torch.allclose(weights["start1"][kept], weights["end0"][kept])
    bound = 1 / 16 ** 0.5  # nn.Linear's default init range for fan_in 16
    assert weights["start1"].abs().max() <= bound


def test_a_stacked_model_prunes_each_member_globally_on_its_own():
    members = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        members.append(mlp(10, (64,)))
    stacked = StackedModules(members)
    weights = prunable_weights(stacked)
    assert {n: tuple(w.shape) for n, w in weights.items()} == {
        "features.1.weight": (3, 16, 64), "features.3.weight": (3, 16, 16), "head.weight": (3, 10, 16)}
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    masks = global_magnitude_masks(weights, masks, 0.2, members=3)
    for i, member in enumerate(members):
        alone = prunable_weights(member)
        own = global_magnitude_masks(alone, {n: torch.ones_like(w, dtype=torch.bool) for n, w in alone.items()}, 0.2)
        for n in own:
            assert torch.equal(masks[n][i], own[n])
    assert sparsity(masks, members=3).tolist() == pytest.approx([round(0.2 * 1440) / 1440] * 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(rate=1.5), "prune_rate"), (dict(rate=0.0), "prune_rate"), (dict(rate=1), "prune_rate"),
    (dict(rounds=-1), "rounds"), (dict(epochs_per_round=0), "epochs_per_round"), (dict(retrain="magic"), "retrain"),
    (dict(retrain="finetune"), "finetune_lr"), (dict(retrain="weight_rewind", rewind_epoch=9), "rewind_epoch"),
])
def test_bad_pruning_settings_are_one_clear_error(kwargs, match):
    with pytest.raises(ConfigValueError, match=match):
        IterativePruning(**{"rounds": 2, "epochs_per_round": 3, **kwargs})


def test_a_run_length_that_does_not_fit_the_rounds_is_a_clear_error(tmp_path):
    pl.seed_everything(0, verbose=False)
    model = Pruned(mlp, num_classes=10, in_shape=(64,), imp=dict(rounds=2, epochs_per_round=3))
    trainer = pl.Trainer(max_epochs=8, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         default_root_dir=str(tmp_path))
    with pytest.raises(ConfigValueError, match=r"trainer.max_epochs must be .* = 9"):
        trainer.fit(model, datamodule=TensorDataModule("digits", batch_size=0))
