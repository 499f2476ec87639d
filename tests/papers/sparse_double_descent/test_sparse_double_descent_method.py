"""The per-round curve analysis (SDD triple, fall, stopping rules) against brute force and hand-made curves, the
claims failing where they must, the ResNet-18 backbone of the paper configs, and the paper's bad-input errors."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from repro.cli import main
from repro.models.resnet18_basic import BasicResNet18
from repro.papers.sparse_double_descent import claims
from repro.papers.sparse_double_descent.rounds import (
    Stop,
    crossing,
    early_stop,
    entropy_stop,
    fall_round,
    peak_position,
    sdd_triple,
)


def _brute_depth(acc) -> float:
    return max(min(acc[i] - acc[j], acc[k] - acc[j]) for i, j, k in itertools.combinations(range(len(acc)), 3))


def test_sdd_depth_matches_a_search_over_every_triple():
    rng = np.random.default_rng(0)
    for _ in range(200):
        acc = rng.uniform(40, 90, size=int(rng.integers(3, 12)))
        assert sdd_triple(acc, collapse_drop=1e9).depth == pytest.approx(_brute_depth(acc))


def test_the_collapse_is_cut_before_the_dip_search():
    acc = [70, 64, 75, 50, 40, 48]  # the 40 → 48 wiggle is in the collapse (more than 10 below the best, 75)
    t = sdd_triple(acc, collapse_drop=10)
    assert (t.depth, t.i, t.j, t.k) == (6, 0, 1, 2)
    assert sdd_triple(acc, collapse_drop=1e9).depth == 8  # without the cut: 48 − 40


def test_fall_round_and_the_stopping_rules_by_hand():
    assert fall_round([95, 99.5, 100, 99.2, 98.0, 90]) == 4
    assert fall_round([95, 97]) is None and fall_round([99, 100]) is None
    acc = [70, 70.5, 69, 72, 68]
    assert early_stop(acc, 1.0) == Stop(2, 1)  # 69 < 70.5 − 1: stop at r2, keep r1
    assert early_stop(acc, 2.0) == Stop(4, 3)
    assert early_stop([1, 2, 3], 1.0) == Stop(2, 2)  # never stops: keeps the best of all
    entropy = [0.5, 0.6, 0.7, 0.65, 0.4]  # peak r2 (r3 is 0.05 below its running max)
    assert entropy_stop(acc, entropy, 1.0) == Stop(4, 3)


def test_the_sub_round_crossing_and_peak_by_hand():
    assert crossing([95, 100, 100, 90, 70], 80) == pytest.approx(3.5)  # 90 at r3, 70 at r4: halfway
    assert crossing([95, 100, 99.5, 97], 99) == pytest.approx(2 + 0.5 / 2.5)
    assert crossing([70, 75], 80) is None and crossing([100, 100], 80) is None
    rounds = np.arange(8)
    assert peak_position(1 - (rounds - 3.3) ** 2) == pytest.approx(3.3)  # an exact parabola: its vertex
    # at the first round, only r0..r2: y = −0.15 x² + 0.05 x + 1, vertex 0.05 / 0.3
    assert peak_position([1.0, 0.9, 0.5, 0.1]) == pytest.approx(1 / 6)
    assert peak_position([0.5, 0.5, 0.5]) == 0  # flat: not concave, the argmax
    assert peak_position([0.0, 0.2, 0.3, 1.0]) == 3  # convex through its last three rounds
    assert peak_position([0.2, 1.0]) == 1  # under three rounds


def _row(tmp_path, name: str, test, train, entropy) -> dict:
    run = tmp_path / name
    run.mkdir()
    with open(run / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "step", "imp/round", "imp/sparsity", "test/accuracy", "train/accuracy", "entropy/mean"])
        for r, (a, b, h) in enumerate(zip(test, train, entropy, strict=True)):
            w.writerow([r, r, r, 1 - 0.8 ** r, a / 100, b / 100, h])
    method, seed = name.split("_")
    return {"method": method, "seed": int(seed), "run_dir": str(run)}


def test_the_claims_fail_on_curves_without_the_effect(tmp_path):
    flat_test = [70, 70.5, 70, 70.2, 69.8, 60]
    train = [100, 100, 100, 100, 95, 80]
    rows = [_row(tmp_path, "vanilla_0", flat_test, train, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
            _row(tmp_path, "dsd2_0", [65, 60, 58, 66, 70, 64], train, [0.5, 0.6, 0.7, 0.8, 0.6, 0.2])]
    vanilla, dsd2 = {"method": "vanilla"}, {"method": "dsd2"}
    assert not claims.sdd_exists(rows, where=vanilla).passed
    assert claims.sdd_exists(rows, where=dsd2).passed
    assert not claims.no_sdd(rows, where=dsd2).passed
    assert not claims.sweet_beats_dense(rows, where=vanilla).passed
    assert not claims.dip_while_interpolating(rows, where=vanilla).passed
    assert not claims.entropy_non_monotone(rows, where=vanilla).passed
    assert not claims.entropy_peak_near_fall(rows, where=dsd2, tolerance=0).passed  # peak r3, fall r4
    assert claims.entropy_peak_near_fall(rows, where=dsd2, tolerance=1).passed
    # sub-round: the least-squares parabola through r1..r5 (0.6, 0.7, 0.8, 0.6, 0.2) has its vertex at
    # 3 − 0.09 / (2 · 13 / 140) = 2.515; train crosses 99% at 3 + 1/5 = 3.2: lag −0.685
    sub = claims.entropy_peak_near_fall(rows, where=dsd2, tolerance=0.7, subround=True)
    assert sub.passed and sub.values["lag"][0] == pytest.approx(3 - 0.09 / (2 * 13 / 140) - 3.2)
    assert not claims.entropy_peak_near_fall(rows, where=dsd2, tolerance=0.6, subround=True).passed
    assert claims.dip_shallower(rows, a=vanilla, b=dsd2).passed  # vanilla's is the shallower one here
    assert not claims.dip_shallower(rows, a=dsd2, b=vanilla).passed
    assert not claims.best_not_below(rows, a=dsd2, b=vanilla).passed  # 70 vs 70.5
    assert not claims.early_stopping_pays_off(rows, a=dsd2, b=vanilla).passed  # dsd2 stops at r1 and keeps 65: loses 5


def test_resnet18_has_torchvisions_blocks_and_the_cifar_stem():
    import torchvision

    reference = sum(p.numel() for p in torchvision.models.resnet18(num_classes=10).parameters())
    stem_difference = 64 * 3 * 7 * 7 - 64 * 3 * 3 * 3  # a 3×3 stem conv instead of the 7×7 one
    net = BasicResNet18(10, (3, 32, 32))
    assert sum(p.numel() for p in net.parameters()) == reference - stem_difference
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 10)
    feats = {}

    def keep(name):
        def hook(_module, _inputs, output):
            feats[name] = output.shape
        return hook

    net.net.layer1.register_forward_hook(keep("no_pool"))
    net(x)
    pooled = BasicResNet18(10, (3, 32, 32), maxpool=True)
    pooled.net.layer1.register_forward_hook(keep("pool"))
    pooled(x)
    assert feats["no_pool"][-1] == 32 and feats["pool"][-1] == 16


def test_the_open_lth_initialisation():
    torch.manual_seed(0)
    net = BasicResNet18(10, (3, 32, 32), init="kaiming_fan_in")
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight.detach() for m in bns])
    assert 0 <= gammas.min() and gammas.max() <= 1 and gammas.std() > 0.2  # U(0, 1), not ones
    assert all(bool((m.bias == 0).all()) for m in bns)
    conv = net.net.layer3[0].conv2  # 256 in-channels × 3 × 3: fan_in std √(2 / 2304)
    assert conv.weight.std().item() == pytest.approx((2 / (256 * 9)) ** 0.5, rel=0.05)
    assert net.head.weight.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.1)
    tv = BasicResNet18(10, (3, 32, 32))
    assert all(bool((m.weight == 1).all()) for m in tv.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(Exception, match="init must be one of"):
        BasicResNet18(10, (3, 32, 32), init="xavier")


def test_without_cifar_and_network_the_paper_study_stops_with_one_error(tmp_path, capsys, monkeypatch, no_network):
    monkeypatch.setenv("REPRO_DATA", str(tmp_path / "empty"))
    code = main(["reproduce", "sparse_double_descent", "--scale", "paper", "--out", str(tmp_path / "out"),
                 "--no-progress", "--set", "data.init_args.download=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("repro: error:") == 1 and "cifar-10-batches-py" in err and "REPRO_DATA" in err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"


@pytest.mark.parametrize("rate", ["0", "1", "1.5", "-0.2"])
def test_a_pruning_rate_outside_zero_one_is_one_clear_error(tmp_path, capsys, rate):
    code = main(["reproduce", "sparse_double_descent", "--scale", "quick", "--out", str(tmp_path), "--no-progress",
                 "--set", f"model.init_args.prune_rate={rate}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("repro: error:") == 1 and "model.init_args.prune_rate" in err and "(0, 1)" in err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("result.json")), "nothing trained before the error"


# Each claim type fails on a constructed null input (no effect: a flat curve with the test set's sampling noise,
# two equal arms) and passes on a constructed effect, with three seeds.

def _flat(rng, n_rounds=17, accuracy=0.68, n_test=597):
    """A curve with no SDD: every round the same accuracy, plus the binomial noise of an ``n_test``-image test set."""
    return 100 * rng.binomial(n_test, accuracy, size=n_rounds) / n_test


def test_a_flat_curve_reaches_the_quick_studys_depths_as_often_as_its_comment_says():
    """configs/sparse_double_descent/quick.yaml: a flat curve at 68% on 597 images has a triple of ≥ 3 points in
    97% of seeds, of ≥ 6 in 27%; so 3 cannot tell an SDD from noise and 6 is the quick threshold."""
    rng = np.random.default_rng(0)
    depths = np.array([sdd_triple(_flat(rng)).depth for _ in range(3000)])
    assert (depths >= 3).mean() == pytest.approx(0.97, abs=0.02)
    assert (depths >= 6).mean() == pytest.approx(0.27, abs=0.03)


SDD = [68, 66, 64, 62, 60, 58, 61, 65, 70, 73, 72, 60, 50, 45, 40, 38, 36]  # a dip of 10, recovery to 73
TRAIN = [100] * 8 + [98, 90, 80, 70, 62, 60, 58, 55, 50]
RISE_FALL = [0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.68, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2]


def _arms(tmp_path, vanilla, dsd2, entropy=RISE_FALL, seeds=(0, 1, 2)):
    rng = np.random.default_rng(3)
    tmp_path.mkdir(exist_ok=True)
    rows = []
    for s in seeds:
        wiggle = rng.normal(0, 0.5, len(SDD))
        rows += [_row(tmp_path, f"vanilla_{s}", np.asarray(vanilla) + wiggle, TRAIN, entropy),
                 _row(tmp_path, f"dsd2_{s}", np.asarray(dsd2) + wiggle, TRAIN, entropy)]
    return rows


def test_the_vanilla_claims_fail_on_flat_noisy_curves_and_pass_on_an_sdd(tmp_path):
    rng = np.random.default_rng(5)
    flat = [_row(tmp_path, f"flat_{s}", _flat(rng), [100] * 17, [0.5] * 17) for s in range(3)]
    where = {"method": "flat"}
    assert not claims.sdd_exists(flat, where=where, min_depth=6).passed
    assert not claims.dip_while_interpolating(flat, where=where, min_drop=6).passed
    assert not claims.entropy_non_monotone(flat, where=where).passed
    rows = _arms(tmp_path, SDD, SDD)
    vanilla = {"method": "vanilla"}
    r = claims.sdd_exists(rows, where=vanilla, min_depth=6)
    assert r.passed and r.values["ci"][0] >= 6 and r.values["n"] == 3
    assert claims.dip_while_interpolating(rows, where=vanilla, min_drop=6).passed  # 68 − 58 at train 100%
    assert claims.entropy_non_monotone(rows, where=vanilla).passed


def test_the_comparisons_fail_on_equal_arms_and_pass_on_the_effect(tmp_path):
    equal = _arms(tmp_path / "equal", SDD, SDD)
    a, b = {"method": "dsd2"}, {"method": "vanilla"}
    assert not claims.dip_shallower(equal, a=a, b=b).passed
    same = claims.best_not_below(equal, a=a, b=b, margin=0)
    assert not same.passed and same.values["ci"] == [0.0, 0.0]  # equal arms: a gap of 0 is not "beats"
    assert not claims.early_stopping_pays_off(equal, a=a, b=b).passed
    dodged = [80, 80.5, 81, 80.8, 80.2, 80, 79.5, 79, 78, 77, 75, 70, 62, 55, 48, 44, 40]  # no dip, best early
    effect = _arms(tmp_path / "effect", SDD, dodged)
    assert claims.dip_shallower(effect, a=a, b=b).passed
    assert claims.best_not_below(effect, a=a, b=b, margin=0).passed
    r = claims.early_stopping_pays_off(effect, a=a, b=b)  # vanilla stops in the dip and keeps its dense round
    assert r.passed and r.values["ci"][0] >= 1


def test_the_two_readings_of_he_et_al_s_symmetric_noise_match_their_code():
    """original.py DEPARTURES, "label noise kind": ``symmetric`` is He et al.'s ``randomize_labels`` (base.py:61-67:
    a fraction ε gets randint(C), which may keep the label), ``uniform_incorrect`` their ``symmetric_noisy_labels``
    (base.py:79-85: P = (1 − ε) on the diagonal, ε / (C − 1) off it). Both written here from the quoted code."""
    from repro.data.noise import transition_matrix

    c, eps = 10, 0.2
    randomize = (1 - eps) * np.eye(c) + eps * np.full((c, c), 1 / c)  # keep w.p. 1 − ε, else uniform over all C
    symmetric = np.full((c, c), eps / (c - 1))
    np.fill_diagonal(symmetric, 1 - eps)
    assert np.allclose(transition_matrix(c, eps, "symmetric").numpy(), randomize)
    assert np.allclose(transition_matrix(c, eps, "uniform_incorrect").numpy(), symmetric)
    assert 1 - np.diag(randomize).mean() == pytest.approx(0.18)  # 18% wrong at 20%


def test_the_teacher_is_the_test_selected_round_as_the_original_allows():
    """original.py: DSD²'s teacher is a checkpoint picked by test accuracy; both paper configs say so."""
    from repro.papers.sparse_double_descent.original import ORIGINAL

    for study in ("paper.yaml", "paper_dsd2.yaml"):
        (value,) = [v for v in ORIGINAL[study] if v.key == "model.init_args.best_metric"]
        assert value.value == "test/accuracy" and "--path_to_teacher_model" in value.source


def test_lottery_ticket_rewinding_to_a_step_restarts_weights_and_schedule_there(tmp_path):
    # He et al.'s Fig. 1 (OpenLTH `lottery --rewinding_steps=1000it`): later rounds start from the weights before
    # round 0's step t, with the learning rate of step t, and train to the round's end (no steps before t)
    import pytorch_lightning as pl

    from repro.data.core import TensorDataModule
    from repro.models.mlp import MLP
    from repro.papers.sparse_double_descent.method import SparseDoubleDescent

    seen = []  # (epoch, batch, global step, lr, head weight) before each batch

    class Probe(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append((trainer.current_epoch, batch_idx, trainer.global_step,
                         trainer.optimizers[0].param_groups[0]["lr"], pl_module.backbone.head.weight.detach().clone()))

    pl.seed_everything(0, verbose=False)
    model = SparseDoubleDescent(lambda num_classes, in_shape: MLP(num_classes, in_shape, width=16, depth=2),
                                num_classes=10, in_shape=(64,), rounds=1, epochs_per_round=3, retrain="weight_rewind",
                                rewind_step=5, entropy=False, optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
                                lr_scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5))
    data = TensorDataModule("digits", batch_size=300, eval_splits=("test",))  # 1200 images: 4 batches an epoch
    trainer = pl.Trainer(max_epochs=6, check_val_every_n_epoch=3, logger=False, enable_checkpointing=False,
                         callbacks=[Probe()], enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=str(tmp_path), num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data)
    assert trainer.num_training_batches == 4
    at_t = next(s for s in seen if s[0] < 3 and s[2] == 5)  # round 0, before its step 5: epoch 1, batch 1
    assert at_t[:2] == (1, 1)
    imp = next(c for c in trainer.callbacks if type(c).__name__ == "IterativePruning")
    assert torch.equal(imp.rewind["head.weight"], at_t[4])
    mask = imp.masks["head.weight"]
    assert not mask.all()
    round1 = {(e, b): (lr, w) for e, b, _, lr, w in seen if e >= 3}
    for skipped in [(3, 0), (3, 1), (3, 2), (3, 3), (4, 0), (4, 1)]:  # its first 5 batches change nothing
        assert torch.equal(round1[skipped][1], at_t[4] * mask), skipped
    assert round1[(4, 1)][0] == pytest.approx(at_t[3]) == pytest.approx(0.05)  # step 5's learning rate
    assert not torch.equal(round1[(4, 2)][1], at_t[4] * mask)  # the 6th batch trains
    assert round1[(5, 0)][0] == pytest.approx(0.025)  # and the schedule goes on from there


def test_a_rewind_step_past_round_zero_is_refused_before_training(tmp_path):
    import pytorch_lightning as pl

    from repro.data.core import TensorDataModule
    from repro.errors import ConfigValueError
    from repro.models.mlp import MLP
    from repro.papers.sparse_double_descent.method import SparseDoubleDescent

    with pytest.raises(ConfigValueError, match="rewind_step must be an integer >= 0 with retrain=weight_rewind"):
        SparseDoubleDescent(lambda num_classes, in_shape: MLP(num_classes, in_shape, width=8, depth=1),
                            num_classes=10, in_shape=(64,), rounds=1, epochs_per_round=3, rewind_step=5)
    model = SparseDoubleDescent(lambda num_classes, in_shape: MLP(num_classes, in_shape, width=8, depth=1),
                                num_classes=10, in_shape=(64,), rounds=1, epochs_per_round=3, entropy=False,
                                retrain="weight_rewind", rewind_step=12)  # round 0 has 3 × 4 = 12 steps: 0..11
    trainer = pl.Trainer(max_epochs=6, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path), num_sanity_val_steps=0)
    with pytest.raises(ConfigValueError, match="rewind_step=12 is past round 0's 12 optimizer steps"):
        trainer.fit(model, datamodule=TensorDataModule("digits", batch_size=300, eval_splits=("test",)))
    assert trainer.global_step == 0
