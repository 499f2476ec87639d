"""Slingshot module, dynamics callbacks and detector: checked against hand-made references."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from repro.data.modular import ModularDataModule
from repro.errors import ConfigValueError
from repro.models.transformer import OperandMLP, Transformer
from repro.papers.slingshot.callbacks import FeatureChange, LastLayerNorm, UpdateSharpness
from repro.papers.slingshot.detector import detect_slingshots, first_step_at_least
from repro.papers.slingshot.method import Slingshot
from repro.training.optim import LinearWarmupLR


def _mlp(num_classes, in_shape):
    return OperandMLP(num_classes, in_shape, width=16, embed_width=8)


def _history(path: Path) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if v and k not in ("step", "epoch"):
                    out.setdefault(k, {})[int(float(row["step"]))] = float(v)
    return out


def _fit(tmp_path, name, *, seeds=None, seed=0, steps=12, backbone=_mlp, **kwargs) -> tuple[Slingshot, dict]:
    pl.seed_everything(seed)
    data = ModularDataModule("/", prime=11, train_fraction=0.5, batch_size=16, seed=0)  # one batch order for all
    model = Slingshot(backbone, num_classes=data.num_classes, stack_seeds=seeds, **kwargs)
    logger = pl.loggers.CSVLogger(tmp_path, name=name, version="")
    trainer = pl.Trainer(max_steps=steps, val_check_interval=4, check_val_every_n_epoch=None, log_every_n_steps=1,
                         logger=logger, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, num_sanity_val_steps=0, accelerator="cpu")
    trainer.fit(model, datamodule=data)
    return model, _history(Path(logger.log_dir) / "metrics.csv")


# -- detector --------------------------------------------------------------------------------------------------


def _cycles(n_steps=6000, spikes=(2000, 4200), seed=0):
    """A synthetic Slingshot history: loss falls to ~1e-7 while the norm grows 0.01/step; at each spike
    the loss jumps to ~1 for 30 steps and the norm then stays flat for 400 steps."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_steps)
    loss = np.maximum(2.0 * np.exp(-steps / 50), 1e-7) * np.exp(rng.normal(0, 0.05, n_steps))
    acc = (steps >= 300).astype(float)
    slope = np.full(n_steps, 0.01)
    for s in spikes:
        loss[s : s + 30] = np.linspace(1.0, 1e-3, 30)
        slope[s : s + 400] = 0.0
    norm = 5 + np.cumsum(slope)
    return steps, loss, acc, norm


def test_detector_finds_planted_spikes_and_their_signature():
    steps, loss, acc, norm = _cycles()
    found = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=norm, window=300)
    assert [s.step for s in found] == [2000, 4200]
    for s in found:
        assert s.end_step == s.step + 29 and s.peak_loss == pytest.approx(1.0)
        assert s.jump > 1e6
        assert s.slope_before == pytest.approx(0.01)
        assert s.slope_after == pytest.approx(0.0, abs=1e-12) and s.slope_ratio == pytest.approx(0.0, abs=1e-9)


def test_a_spike_is_a_cycle_only_after_norm_growth_and_before_a_plateau():
    steps, loss, acc, norm = _cycles()
    grow = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=norm, window=300)
    assert [s.cycle for s in grow] == [True, True] and grow[0].growth == pytest.approx(0.01 * 300 / norm[1699])
    flat = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=np.full(len(steps), 5.0), window=300)
    assert [s.step for s in flat] == [2000, 4200] and not any(s.cycle for s in flat)  # a spike alone is no cycle
    shrink = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=50 - 0.001 * steps, window=300)
    assert not any(s.cycle for s in shrink) and all(s.slope_before < 0 for s in shrink)
    keeps_growing = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=5 + 0.01 * steps, window=300)
    assert not any(s.cycle for s in keeps_growing)  # growth but no plateau
    late = detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=norm, window=2000)
    assert not late[1].judged and not late[1].cycle  # 4200 + 2000 leaves the 6000-step run: not checkable


def test_detector_is_silent_on_a_smooth_history_and_before_the_fit():
    steps, loss, acc, norm = _cycles(spikes=())
    assert detect_slingshots(steps, loss, train_acc=acc, norm_steps=steps, norm=norm) == []
    # The same planted spikes before training accuracy reaches 100% are ignored.
    steps, loss, acc, _ = _cycles(spikes=(2000,))
    assert detect_slingshots(steps, loss, train_acc=(steps >= 3000).astype(float)) == []
    # A 50× bump is not a slingshot at the card's 100× threshold; nor is a jump that stays below the floor.
    bump = np.full(1000, 1e-3)
    bump[600] = 5e-2
    assert detect_slingshots(np.arange(1000), bump) == []
    tiny = np.full(1000, 1e-9)
    tiny[600] = 1e-5
    assert detect_slingshots(np.arange(1000), tiny) == []


def test_nearby_flags_merge_into_one_spike():
    loss = np.full(2000, 1e-6)
    loss[1000], loss[1150], loss[1500] = 1.0, 1.0, 1.0
    found = detect_slingshots(np.arange(2000), loss, merge=200)
    assert [(s.step, s.end_step) for s in found] == [(1000, 1150), (1500, 1500)]


def test_time_to_generalize():
    assert first_step_at_least([0, 100, 200, 300], [0.1, 0.5, 0.99, 1.0], 0.99) == 200
    assert first_step_at_least([0, 100], [0.1, 0.5], 0.99) is None


# -- the module and its callbacks -----------------------------------------------------------------------------


def test_warmup_is_linear_over_ten_updates():
    f = LinearWarmupLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), warmup_steps=10).factor
    assert [f(t) for t in (0, 4, 9, 10, 500)] == [0.1, 0.5, 1.0, 1.0, 1.0]


def test_optimizer_and_warmup_come_from_the_config(tmp_path):
    """The quick study's YAML gives AdamW exactly its stated values and a per-step warm-up (no hidden defaults)."""
    from repro.lightning_cli import ReproCLI
    from repro.studies.study import Study

    study = Study.load(Path(__file__).resolve().parents[3] / "configs" / "slingshot" / "quick.yaml")
    spec = next(r for r in study.runs() if r.overrides["setting"] == "adamw_wd1")
    spec.config["run"] = {"out_dir": str(tmp_path)}
    cli = ReproCLI(args=spec.config, run=False)
    config = cli.model.configure_optimizers()
    opt, group = config["optimizer"], config["optimizer"].param_groups[0]
    assert type(opt) is torch.optim.AdamW
    assert (group["initial_lr"], tuple(group["betas"]), group["eps"], group["weight_decay"]) == (1e-3, (0.9, 0.98),
                                                                                                 1e-8, 1.0)
    assert group["lr"] == pytest.approx(1e-4)  # the first of ten warm-up updates
    assert config["lr_scheduler"]["interval"] == "step"
    sgd = next(r for r in study.runs() if r.overrides["setting"] == "sgd")
    sgd.config["run"] = {"out_dir": str(tmp_path)}
    opt = ReproCLI(args=sgd.config, run=False).model.configure_optimizers()["optimizer"]
    assert type(opt) is torch.optim.SGD and opt.param_groups[0]["initial_lr"] == 0.5
    assert opt.param_groups[0]["weight_decay"] == 0.0 and opt.param_groups[0]["momentum"] == 0.0


def test_repeated_stack_seeds_are_a_config_error():
    with pytest.raises(ConfigValueError, match="distinct"):
        Slingshot(_mlp, num_classes=17, stack_seeds=[1, 1])


class _Recorder(pl.Callback):
    """Reads the output layer straight from the backbone's parameters after each update."""

    def __init__(self):
        self.norms = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.norms[trainer.global_step - 1] = pl_module.backbone.head.weight.detach().norm().item()


def test_norm_callback_logs_the_real_output_weights(tmp_path):
    pl.seed_everything(0)
    data = ModularDataModule("/", prime=11, train_fraction=0.5, batch_size=16, seed=0)  # one batch order for all
    model = Slingshot(_mlp, num_classes=data.num_classes, optimizer=lambda p: torch.optim.Adam(p, lr=0.05),
                      feature_change_every=None)
    recorder = _Recorder()
    logger = pl.loggers.CSVLogger(tmp_path, name="n", version="")
    pl.Trainer(max_steps=8, log_every_n_steps=1, logger=logger, callbacks=[recorder], enable_progress_bar=False,
               enable_model_summary=False, enable_checkpointing=False, limit_val_batches=0,
               accelerator="cpu").fit(model, datamodule=data)
    logged = _history(Path(logger.log_dir) / "metrics.csv")["weights/last_layer_norm"]
    assert sorted(logged) == list(range(8))
    for step, value in logged.items():
        assert value == pytest.approx(recorder.norms[step], rel=1e-6)
    assert len(set(logged.values())) == 8  # it moves with training (lr 0.05): not a stale or constant value
    assert any(isinstance(c, LastLayerNorm) for c in model.configure_callbacks())


def test_stacked_seeds_log_the_same_per_seed_losses_as_separate_runs(tmp_path):
    _, stacked = _fit(tmp_path, "stacked", seeds=[0, 1], feature_change_every=4)
    assert set(stacked) >= {f"member{i}/{m}" for i in (0, 1) for m in
                            ("fit/loss", "fit/error", "val/accuracy", "train/loss", "weights/last_layer_norm",
                             "features/change_l1")}
    for i, seed in enumerate([0, 1]):
        _, single = _fit(tmp_path, f"seed{seed}", seed=seed, feature_change_every=4)
        for metric in ("fit/loss", "weights/last_layer_norm", "val/loss", "features/change_l1"):
            got, want = stacked[f"member{i}/{metric}"], single[metric]
            assert sorted(got) == sorted(want), metric
            np.testing.assert_allclose([got[s] for s in sorted(got)], [want[s] for s in sorted(want)],
                                       rtol=2e-4, atol=1e-6, err_msg=metric)
    assert sorted(stacked["member0/features/change_l1"]) == [0, 4, 8]  # every 4th step only, never repeated
    assert stacked["member0/fit/loss"][0] != stacked["member1/fit/loss"][0]


def test_stacked_transformer_members_and_metadata(tmp_path):
    model, hist = _fit(tmp_path, "tf", seeds=[5, 6, 7], steps=3,
                       backbone=lambda c, s: Transformer(c, s, width=16, heads=2))
    assert model.members == [{"seed": 5}, {"seed": 6}, {"seed": 7}]
    assert model.head_weights().shape == (3, model.num_classes, 16)
    assert {f"member{i}/fit/loss" for i in range(3)} <= set(hist) and "fit/loss" in hist


def test_feature_change_is_relative_change_across_one_update():
    torch.manual_seed(0)
    data = ModularDataModule("+", prime=7, train_fraction=0.5, batch_size=0)
    data.setup()
    model = Slingshot(_mlp, num_classes=data.num_classes, stack_seeds=[0, 1])
    probe = data.splits["train"]["x"]
    before = model.features(probe)[0].detach().clone()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    after = model.features(probe)[0]
    cb = FeatureChange(every=1)
    cb._before = (before,)
    logged = {}
    model.log_members = logged.update
    cb.on_train_batch_end(SimpleNamespace(datamodule=data), model, None, None, 0)  # the probe: the datamodule's
    want = (after - before).flatten(1).norm(dim=1) / before.flatten(1).norm(dim=1)
    torch.testing.assert_close(logged["features/change_l1"], want)


def test_update_sharpness_equals_the_quadratic_form_of_the_hessian():
    torch.manual_seed(0)
    data = ModularDataModule("+", prime=5, train_fraction=0.6, batch_size=0)
    data.setup()
    model = Slingshot(lambda c, s: OperandMLP(c, s, width=4, embed_width=2), num_classes=data.num_classes)
    batch = {k: v for k, v in data.splits["train"].items()}
    params = {k: v.detach().clone() for k, v in model.functional_params().items()}
    names = list(params)
    flat0 = torch.cat([params[k].flatten() for k in names])
    u = torch.randn_like(flat0) * 1e-2

    def loss_of(flat):
        chunks, i = {}, 0
        for k in names:
            n = params[k].numel()
            chunks[k] = flat[i : i + n].view_as(params[k])
            i += n
        return model.functional_losses(chunks, batch).sum()

    hessian = torch.autograd.functional.hessian(loss_of, flat0)
    want = (u @ hessian @ u) / (u @ u)
    cb = UpdateSharpness(every=1)
    cb._state = (params, batch)
    with torch.no_grad():
        i = 0
        for _k, p in model.functional_params().items():
            p.add_(u[i : i + p.numel()].view_as(p))
            i += p.numel()
    logged = {}
    model.log_members = logged.update
    cb.on_train_batch_end(None, model, None, None, 0)
    torch.testing.assert_close(logged["sharpness/update"], want.reshape(1), rtol=1e-4, atol=1e-6)
    assert abs(float(want)) > 1e-4


def test_stacked_sharpness_is_each_members_own():
    data = ModularDataModule("/", prime=7, train_fraction=0.5, batch_size=0)
    data.setup()
    batch = dict(data.splits["train"])

    def factory(c, s):
        return Transformer(c, s, width=16, heads=2)

    def sharpness(model, noise_seed):
        cb = UpdateSharpness(every=1)
        cb._state = ({k: v.detach().clone() for k, v in model.functional_params().items()}, batch)
        gen = torch.Generator().manual_seed(noise_seed)
        with torch.no_grad():
            for p in model.functional_params().values():
                shape = p.shape[1:] if model.stacked else p.shape  # one draw per member shape, broadcast
                p.add_(torch.randn(shape, generator=gen) * 1e-2)
        logged = {}
        model.log_members = logged.update
        cb.on_train_batch_end(None, model, None, None, 0)
        return logged["sharpness/update"]

    stacked = Slingshot(factory, num_classes=data.num_classes, stack_seeds=[3, 4], sharpness_every=1)
    singles = []
    for seed in (3, 4):
        torch.manual_seed(seed)
        singles.append(Slingshot(factory, num_classes=data.num_classes, sharpness_every=1))
    got = sharpness(stacked, noise_seed=0)  # the same update u for both members
    want = torch.cat([sharpness(single, noise_seed=0) for single in singles])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
    assert not torch.allclose(got[0], got[1])


def test_a_resumed_run_continues_exactly(tmp_path):
    """Stop at step 5 (mid-epoch of the batch order), resume from the checkpoint: the same losses as one run."""

    def fit(name, steps, ckpt=None):
        pl.seed_everything(0)
        data = ModularDataModule("/", prime=11, train_fraction=0.5, batch_size=16)  # 3 batches per epoch
        model = Slingshot(_mlp, num_classes=data.num_classes, stack_seeds=[0, 1], feature_change_every=None)
        logger = pl.loggers.CSVLogger(tmp_path, name=name, version="")
        saver = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / name / "ckpt", save_last=True, save_top_k=0,
                                             every_n_train_steps=5)
        pl.Trainer(max_steps=steps, limit_val_batches=0, log_every_n_steps=1, logger=logger, callbacks=[saver],
                   enable_progress_bar=False, enable_model_summary=False, accelerator="cpu").fit(
            model, datamodule=data, ckpt_path=ckpt)
        return _history(Path(logger.log_dir) / "metrics.csv")["member1/fit/loss"]

    whole = fit("whole", 10)
    first = fit("part", 5)
    second = fit("resumed", 10, ckpt=str(tmp_path / "part" / "ckpt" / "last.ckpt"))
    assert sorted(first) == [0, 1, 2, 3, 4] and sorted(second) == [5, 6, 7, 8, 9]
    np.testing.assert_allclose([{**first, **second}[s] for s in range(10)], [whole[s] for s in range(10)], rtol=1e-6)


def test_a_spike_from_an_exact_zero_loss_is_an_infinite_jump():
    loss = np.full(1000, 1e-7)
    loss[400:700] = 0.0  # float32 softmax saturation
    loss[700] = 2.0
    (spike,) = detect_slingshots(np.arange(1000), loss)
    assert spike.step == 700 and spike.pre_min == 0.0 and spike.jump == float("inf")
