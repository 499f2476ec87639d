"""The randomized evaluation, the score statistics, the UAP and the stopping rule, each against a reference
written here (rank-sum AUC, empirical-CDF KS) or a constructed model whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from repro.data.core import TensorDataModule
from repro.data.slabs import block_data, unrotate
from repro.errors import ReproError
from repro.models.mlp import MLP
from repro.papers.simplicity_bias.method import SimplicityBias
from repro.papers.simplicity_bias.randomized import energy_share, randomize, score_stats, universal_perturbation


def auc_by_ranks(s, y):
    """P(s_pos > s_neg) + P(tie)/2 over all pairs."""
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def ks_by_ecdf(a, b):
    grid = np.sort(np.concatenate([a, b]))
    return float(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                        - np.searchsorted(np.sort(b), grid, "right") / len(b)).max())


def test_score_stats_match_rank_auc_sign_accuracy_and_ecdf_ks():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = rng.normal(size=500) + y
    ref = rng.normal(size=500) + 2 * y
    st = score_stats(s, y, reference=ref)
    assert st["auc"] == pytest.approx(auc_by_ranks(s, y))
    assert st["accuracy"] == pytest.approx(np.mean((s > 0) == (y == 1)))
    assert st["ks"] == pytest.approx(ks_by_ecdf(s[y == 1], ref[y == 1]))


def test_randomize_permutes_the_chosen_unrotated_coordinates_only():
    data = block_data("lms5", 0, 10, 4000)
    x, q = data.x_test, data.rotation
    gen = torch.Generator().manual_seed(0)
    raw, out = unrotate(x.double(), q), unrotate(randomize(x, q, [0], gen).double(), q)
    assert torch.allclose(out[:, 1:], raw[:, 1:], atol=1e-5)  # S^c untouched, row by row
    assert torch.allclose(out[:, 0].sort().values, raw[:, 0].sort().values, atol=1e-5)  # same marginal
    sign = 2 * data.y_test.double() - 1
    assert (sign * raw[:, 0] > 0).all() and abs(float((sign * out[:, 0] > 0).double().mean()) - 0.5) < 0.03
    many = unrotate(randomize(x, q, [1, 2, 3], gen).double(), q)  # one permutation shared by the columns
    moved = np.flatnonzero(~np.isclose(many[:, 1].numpy(), raw[:, 1].numpy(), atol=1e-5))
    src = [int(np.flatnonzero(np.isclose(raw[:, 1].numpy(), v, atol=1e-6))[0]) for v in many[moved[:20], 1].numpy()]
    assert torch.allclose(many[moved[:20], 2], raw[src, 2], atol=1e-5)


def test_energy_share_in_the_unrotated_basis():
    q = block_data("lms5", 0, 10, 10).rotation
    e = torch.zeros(2, 50, dtype=torch.float64)
    e[0, 0], e[1, 0], e[1, 1] = 1.0, 1.0, 1.0
    share = energy_share(e @ q, q, [0])
    assert share.tolist() == pytest.approx([1.0, 0.5])


def test_uap_on_a_linear_model_points_along_its_weights_with_norm_eps():
    w = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 1.0]])
    model = nn.Linear(3, 2, bias=False)
    model.weight.data = w
    x = torch.rand(512, 3) * 0.2 - 0.1
    y = torch.randint(0, 2, (512,))
    delta = universal_perturbation(lambda xa: model(xa), x, y, members=1, eps=0.5, lr=0.05, steps=5, epochs=2,
                                   batch_size=128, bounds=(-10.0, 10.0))
    direction = torch.tensor([3.0, 0.0, 1.0]) / 10 ** 0.5
    assert float(delta.norm()) == pytest.approx(0.5, rel=1e-4)
    # ascent on −y·score: the label-signed perturbation (2y − 1)·δ lowers the true class's margin, so δ ∝ −w
    assert float(delta[0] @ direction) == pytest.approx(-0.5, rel=1e-3)


def _fit(tmp_path, **kwargs):
    pl.seed_everything(0)
    dm = TensorDataModule("lms5", train_size=2000, batch_size=256)
    model = SimplicityBias(lambda c, s: MLP(c, s, width=32), num_classes=2, in_shape=(50,),
                           optimizer=lambda p: torch.optim.SGD(p, lr=0.1), **kwargs)
    trainer = pl.Trainer(max_epochs=300, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, check_val_every_n_epoch=1000, default_root_dir=tmp_path)
    trainer.fit(model, datamodule=dm)
    trainer.validate(model, datamodule=dm, verbose=False)
    return model, trainer


def test_training_stops_at_the_loss_threshold_and_logs_the_reliance_metrics(tmp_path):
    model, trainer = _fit(tmp_path, stop_loss=0.05, stack_seeds=[0, 1], ensemble_sizes=[2],
                          uap=dict(eps=0.5, lr=0.05, steps=3, epochs=1, batch_size=1000))
    m = trainer.callback_metrics
    assert all(model.stop_epoch) and trainer.current_epoch == max(model.stop_epoch) < 300
    assert float(m["member0/train/stopped"]) == 1.0
    assert float(m["member1/train/stop_epoch"]) == model.stop_epoch[1]
    for key in ("test/auc", "test/auc_s_rand", "test/auc_sc_rand", "test/ks_sc_rand", "test/uap_share_s",
                "test/ensemble2_accuracy"):
        assert 0.0 <= float(m[key]) <= 1.0
    assert float(m["test/auc"]) > 0.99


@pytest.mark.parametrize("kwargs, match", [
    (dict(stop_loss=0.0), "stop_loss"),
    (dict(uap={"eps": 1.0}), "uap needs exactly"),
    (dict(ensemble_sizes=[0], stack_seeds=[0, 1]), "ensemble_sizes"),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ReproError, match=match):
        SimplicityBias(lambda c, s: MLP(c, s), num_classes=2, in_shape=(50,), **kwargs)


def test_randomize_rows_permutes_one_stacked_image_block_across_examples():
    from repro.papers.simplicity_bias.randomized import randomize_rows

    x = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 3, 64, 32).clone()
    x[:, :, 32:] += 100  # the bottom block of example i holds 100 + i
    out = randomize_rows(x, slice(0, 32), torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :, 32:], x[:, :, 32:])  # the other block stays with its example
    tops = out[:, 0, 0, 0]
    assert sorted(tops.tolist()) == list(range(6)) and tops.tolist() != list(range(6))
    assert (out[:, :, :32] == tops.view(6, 1, 1, 1)).all()  # whole blocks move together
