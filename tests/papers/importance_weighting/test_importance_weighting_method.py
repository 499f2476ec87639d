"""The importance-weighting module: its stacked members, their weighted losses and L2 penalties (each against a
separately computed reference), the per-member dropout masks, the angle metric, the pool fractions it logs, and
bad input as one clear error."""

from __future__ import annotations

import copy
import math

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from repro.cli import main
from repro.data.binary import BinarySubsetDataModule
from repro.errors import ConfigValueError
from repro.papers.importance_weighting.method import POWERS_OF_4, ImportanceWeighting
from repro.papers.importance_weighting.metrics import angle_degrees, decision_vector, spread
from repro.papers.importance_weighting.models import ConvNet, LinearModel, MLPNet, SmallResNet
from repro.training.pools import log_spaced_epochs


def mlp(num_classes, in_shape, **kw):
    return MLPNet(num_classes, in_shape, width=8, depth=2, **kw)


def sgd(params):
    return torch.optim.SGD(params, lr=0.1)


def test_members_are_seed_by_weight_decay_by_ratio():
    model = ImportanceWeighting(mlp, in_shape=(4,), ratios=[0.25, 4.0], weight_decays=[0.0, 0.01], stack_seeds=[7, 8])
    assert model.members == [{"seed": s, "weight_decay": wd, "ratio": r}
                             for s in (7, 8) for wd in (0.0, 0.01) for r in (0.25, 4.0)]
    assert model.class_weights.tolist() == [[1.0, r] for _ in range(4) for r in (0.25, 4.0)]
    # members that share a seed share their initial network; different seeds do not
    w = model.backbone.params()["head.weight"]
    assert torch.equal(w[0], w[3]) and not torch.equal(w[0], w[4])
    single = ImportanceWeighting(mlp, in_shape=(4,), ratios=[16.0])
    assert not single.stacked and single.class_weights.tolist() == [[1.0, 16.0]]
    assert POWERS_OF_4[0] == 1 / 256 and POWERS_OF_4[-1] == 256 and len(POWERS_OF_4) == 9


def _separate_step(model, x, y, weights, reduction, weight_decay):
    """One plain-SGD step of a single network on Σ w ℓ / Z written out here, with torch's own weight decay."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=weight_decay)
    nll = F.cross_entropy(model(x), y, reduction="none")
    w = weights[y]
    loss = (w * nll).sum() / (len(y) if reduction == "n" else w.sum())
    opt.zero_grad()
    loss.backward()
    opt.step()


@pytest.mark.parametrize("reduction", ["n", "weight_sum"])
def test_stacked_members_step_like_separate_weighted_networks(reduction):
    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    model = ImportanceWeighting(mlp, in_shape=(4,), ratios=[0.25, 16.0], weight_decays=[0.0, 0.05], stack_seeds=[3],
                                reduction=reduction)
    refs = [model.backbone.member(i) for i in range(4)]
    opt = sgd(model.parameters())
    for _ in range(3):
        loss = model.training_loss({"x": x, "y": y})
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        for ref, m in zip(refs, model.members, strict=True):
            _separate_step(ref, x, y, torch.tensor([1.0, m["ratio"]]), reduction, m["weight_decay"])
    for i, ref in enumerate(refs):
        for (name, a), b in zip(model.backbone.member(i).named_parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=f"member {i} {name}")


def test_stacked_members_draw_their_own_dropout_masks():
    torch.manual_seed(0)
    # same seed and equal weights: the members' initial networks are identical
    model = ImportanceWeighting(lambda c, s: mlp(c, s, dropout=0.5), in_shape=(4,), ratios=[1.0, 2.0, 4.0],
                                stack_seeds=[1])
    x = torch.randn(32, 4)
    out = model(x)
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    model.eval()
    out = model(x)
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out[1], out[2])


def test_angle_is_zero_for_identical_vectors_and_right_otherwise():
    u = torch.tensor([[1.0, 2.0, -3.0], [0.5, 0.5, 0.0]])
    assert angle_degrees(u, u).tolist() == [0.0, 0.0]
    assert angle_degrees(u, 3 * u).tolist() == pytest.approx([0.0, 0.0], abs=1e-5)
    assert float(angle_degrees(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))) == pytest.approx(90.0)
    assert float(angle_degrees(torch.tensor([1.0, 1.0]), torch.tensor([-1.0, -1.0]))) == pytest.approx(180.0)
    assert float(angle_degrees(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))) == pytest.approx(45.0)
    assert math.isnan(float(angle_degrees(torch.zeros(2), torch.tensor([1.0, 0.0]))))


def test_decision_vector_and_spread_by_hand():
    w = torch.tensor([[1.0, 2.0], [4.0, -1.0]])  # logits 0 and 1
    b = torch.tensor([0.5, 2.0])
    assert decision_vector(w, b).tolist() == [3.0, -3.0, 1.5]  # w1 − w0, b1 − b0
    assert decision_vector(w, b, up=0).tolist() == [-3.0, 3.0, -1.5]
    assert spread({0.25: 0.1, 1.0: 0.5, 4.0: 0.8}) == pytest.approx(0.7)


def test_angles_are_logged_against_the_ratio_one_member():
    model = ImportanceWeighting(LinearModel, in_shape=(2,), ratios=[0.25, 1.0, 4.0], stack_seeds=[0, 1],
                                log_angles=True)
    assert model.unweighted_member_index().tolist() == [1, 1, 1, 4, 4, 4]
    with torch.no_grad():
        model.backbone.params()["linear.weight"].copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]]).expand(6, 2, 2))
        model.backbone.params()["linear.bias"].zero_()
        model.backbone.params()["linear.weight"][0, 1] = torch.tensor([1.0, 1.0])
    v = model.decision_vectors()
    angles = angle_degrees(v, v[model.unweighted_member_index()])
    assert angles.tolist() == pytest.approx([45.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def test_log_spaced_epochs_by_hand():
    assert log_spaced_epochs(100, per_decade=5, first=3, tail=2) == [1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 99, 100]
    assert log_spaced_epochs(5, tail=20) == [1, 2, 3, 4, 5]


def test_pool_fractions_are_logged_in_eval_mode(tmp_path):
    pl.seed_everything(0)
    model = ImportanceWeighting(lambda c, s: mlp(c, s, batch_norm=True), in_shape=(64,), ratios=[1 / 16, 16.0],
                                stack_seeds=[0, 1], reduction="n", normalize_weights=True, optimizer=sgd,
                                eval_tail=1)
    dm = BinarySubsetDataModule("digits", classes=[3, 5], mean=[0.5], std=[0.5], batch_size=16, noise_pool_size=50)
    logger = pl.loggers.CSVLogger(tmp_path)
    trainer = pl.Trainer(max_epochs=3, logger=logger, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, check_val_every_n_epoch=3, log_every_n_steps=1)
    trainer.fit(model, datamodule=dm)
    counts = dm.class_counts.double()
    mean_weight = (counts * torch.tensor([1.0, 1 / 16]).double()).sum() / counts.sum()  # ratio 1/16: (1, 1/16)
    assert float(model.class_weights[0, 1] / model.class_weights[0, 0]) == pytest.approx(1 / 16, rel=1e-6)
    assert float(model.class_weights[0, 0]) == pytest.approx(float(1 / mean_weight), rel=1e-5)
    logger.save()
    import csv
    rows = list(csv.DictReader(open(next(tmp_path.rglob("metrics.csv")))))
    logged = [r for r in rows if r.get("pools/epoch")]
    assert [float(r["pools/epoch"]) for r in logged] == [1.0, 2.0, 3.0]
    last = logged[-1]
    # the last logged fractions are the trained model's eval-mode predictions (BN on its running statistics)
    model.eval()
    with torch.no_grad():
        pred = model(dm.pools["ood"]).argmax(-1)
    for i in range(4):
        assert float(last[f"member{i}/pools/ood_frac"]) == pytest.approx(float((pred[i] == 1).float().mean()))
        assert 0 <= float(last[f"member{i}/pools/train_accuracy"]) <= 1
    assert {"member0/weights/up", "member3/weights/other"} <= set(rows[0])


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"ratios": [0.0, 1.0]}, "model.init_args.ratios"),
    ({"ratios": [-4.0]}, "model.init_args.ratios"),
    ({"weight_decays": [-1e-3]}, "weight_decays"),
    ({"reduction": "mean"}, "reduction"),
    ({"log_angles": True, "ratios": [4.0]}, "add ratio 1.0"),
    ({"log_angles": True, "ratios": [1.0, 4.0]}, "LinearModel"),
    ({"up_class": 2}, "up_class"),
    ({"num_classes": 10}, "two classes"),
])
def test_bad_input_is_one_clear_error(kwargs, needle):
    with pytest.raises(ConfigValueError, match=needle):
        ImportanceWeighting(mlp, in_shape=(4,), **kwargs)


def test_bad_ratio_from_the_command_line_stops_before_training(tmp_path, capsys):
    code = main(["reproduce", "importance_weighting", "--scale", "quick", "--out", str(tmp_path), "--no-progress",
                 "--set", "model.init_args.ratios=[0.0,1.0]"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("repro: error:") == 1 and "Traceback" not in err
    assert "model.init_args.ratios" in err
    assert not list(tmp_path.rglob("result.json"))


def test_the_papers_networks_have_the_reproductions_shapes():
    cnn = ConvNet(2, (3, 32, 32))
    assert cnn.dense[0].in_features == 2048  # 128 · 4 · 4 without padding
    assert cnn(torch.randn(2, 3, 32, 32)).shape == (2, 2)
    assert sum(isinstance(m, torch.nn.Dropout) for m in ConvNet(2, (3, 32, 32), dropout=0.5).modules()) == 2
    for bn in (True, False):
        net = SmallResNet(2, (3, 32, 32), batch_norm=bn)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 2)
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == bn
    lin = LinearModel(2, (2,))
    assert lin.linear.weight.abs().sum() == 0 and lin(torch.randn(3, 2)).abs().sum() == 0
    with pytest.raises(ConfigValueError, match="dropout"):
        MLPNet(2, (4,), dropout=1.0)
    net = copy.deepcopy(MLPNet(2, (4,), batch_norm=True, dropout=0.1))
    assert [type(m).__name__ for m in net.features][:5] == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout"]


def test_pool_fractions_of_a_smoke_run_read_only_the_first_chunk():
    """Under fast_dev_run the pools are cut to their first chunk: the fraction equals the one computed by hand on
    those inputs, while a full measurement reads the whole pool."""
    from repro.training.pools import PoolFractions

    pl.seed_everything(0)
    model = ImportanceWeighting(mlp, in_shape=(64,), ratios=[1 / 16, 16.0], stack_seeds=[0], optimizer=sgd)
    dm = BinarySubsetDataModule("digits", classes=[3, 5], mean=[0.5], std=[0.5], batch_size=16, noise_pool_size=50)
    dm.setup("fit")
    model.eval()
    with torch.no_grad():
        pred = model(dm.pools["noise"]).argmax(-1)  # (members, 50)
    smoke = PoolFractions(batch_size=7).measure(dm, model, max_chunks=1)
    whole = PoolFractions(batch_size=7).measure(dm, model)
    for i in range(2):
        assert float(smoke["pools/noise_frac"][i]) == pytest.approx(float((pred[i, :7] == 1).float().mean()))
        assert float(whole["pools/noise_frac"][i]) == pytest.approx(float((pred[i] == 1).float().mean()))
    train_y = dm.splits["train"]["y"][:7]
    with torch.no_grad():
        train_pred = model(dm.normalize(dm.splits["train"]["x"][:7])).argmax(-1)
    assert torch.allclose(smoke["pools/train_accuracy"], (train_pred == train_y).float().mean(-1))
