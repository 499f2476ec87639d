"""OOD evaluation of SNGP's module and its baselines, against brute-force references (scikit-learn's AUROC/AP)."""

import functools

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, roc_auc_score

from repro.data.ood import OODDataModule
from repro.errors import ConfigValueError
from repro.models.mlp import MLP
from repro.models.residual_mlp import ResidualMLP
from repro.papers.sngp.method import SNGP


def _fit_and_validate(method: str, tmp_path, **kwargs):
    pl.seed_everything(0)
    dm = OODDataModule("digits", in_classes=[0, 1, 2, 3, 4], eval_splits=("test",), batch_size=64)
    model = SNGP(functools.partial(ResidualMLP, width=32, depth=2, dropout=0.2), method=method, num_classes=5,
                 in_shape=(64,), gp={"num_features": 64, "kernel_scale": 4.0} if method == "sngp" else None,
                 optimizer=functools.partial(torch.optim.Adam, lr=1e-2), **kwargs)
    trainer = pl.Trainer(max_epochs=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=tmp_path)
    trainer.fit(model, datamodule=dm)
    trainer.validate(model, datamodule=dm, verbose=False)
    return model, dm, {k: float(v) for k, v in trainer.callback_metrics.items()}


@pytest.mark.parametrize("method", ["deterministic", "sngp", "ensemble", "mc_dropout"])
def test_logged_ood_and_calibration_metrics_match_brute_force(method: str, tmp_path) -> None:
    model, dm, logged = _fit_and_validate(method, tmp_path, mc_dropout_samples=3 if method == "mc_dropout" else 0,
                                          ensemble_size=3)
    model.eval()
    if method == "mc_dropout":  # its masks are random: check consistency, not equality
        assert 0.5 < logged["ood_held_out/auroc"] <= 1 and "ood_held_out/auroc_ds" not in logged
        return
    with torch.no_grad():
        z_in, z_out = model(dm.splits["test"]["x"]), model(dm.splits["ood_held_out"]["x"])
    y = dm.splits["test"]["y"]
    assert logged["test/accuracy"] > 0.8  # trained: the scores are not ties of an untrained model
    target = [0] * len(z_in) + [1] * len(z_out)
    score = torch.cat([1 - z_in.softmax(-1).amax(-1), 1 - z_out.softmax(-1).amax(-1)]).numpy()
    assert logged["ood_held_out/auroc"] == pytest.approx(roc_auc_score(target, score), abs=1e-5)
    assert logged["ood_held_out/aupr"] == pytest.approx(average_precision_score(target, score), abs=1e-5)
    assert logged["test/accuracy"] == pytest.approx(float((z_in.argmax(-1) == y).float().mean()), abs=1e-6)
    assert logged["test/nll"] == pytest.approx(float(F.cross_entropy(z_in, y)), abs=1e-5)
    assert logged["ood_held_out/confidence"] == pytest.approx(float(z_out.softmax(-1).amax(-1).mean()), abs=1e-6)
    if method == "ensemble":  # log-probabilities of an average: the Dempster–Shafer score would be constant
        assert "ood_held_out/auroc_ds" not in logged
    else:
        ds = torch.cat([5 / (5 + z.exp().sum(-1)) for z in (z_in, z_out)]).numpy()
        assert logged["ood_held_out/auroc_ds"] == pytest.approx(roc_auc_score(target, ds), abs=1e-5)


def test_ensemble_trains_members_independently_and_averages_softmax() -> None:
    torch.manual_seed(0)
    model = SNGP(functools.partial(MLP, width=8), method="ensemble", ensemble_size=3, num_classes=4, in_shape=(6,))
    members = model.backbone.members
    assert len(members) == 3 and not torch.equal(members[0].head.weight, members[1].head.weight)
    x, y = torch.randn(5, 6), torch.randint(0, 4, (5,))
    model.train()
    logits = model(x)
    assert logits.shape == (3, 5, 4)
    expected = sum(F.cross_entropy(m(x), y) for m in members)
    torch.testing.assert_close(model.loss(logits, {"y": y}), expected)
    model.eval()
    mean_probs = torch.stack([m(x).softmax(-1) for m in members]).mean(0)
    torch.testing.assert_close(model(x).exp(), mean_probs)


def test_method_switches_components_off() -> None:
    kwargs = dict(num_classes=2, in_shape=(2,), spectral_bound=0.9, gp={"num_features": 16}, mc_dropout_samples=4)
    backbone = functools.partial(ResidualMLP, width=8, depth=1)
    det = SNGP(backbone, method="deterministic", **kwargs)
    assert det.gp is None and det.mc_dropout_samples == 0 and not hasattr(det.backbone.layers[0], "parametrizations")
    mc = SNGP(backbone, method="mc_dropout", **kwargs)
    assert mc.gp is None and mc.mc_dropout_samples == 4 and not mc.outputs_logits
    sngp = SNGP(backbone, method="sngp", **kwargs)  # MC dropout belongs to the mc_dropout baseline only
    assert sngp.gp is not None and hasattr(sngp.backbone.layers[0], "parametrizations") and sngp.outputs_logits
    assert sngp.mc_dropout_samples == 0


@pytest.mark.parametrize(("kwargs", "match"), [({"method": "bayes"}, "method"),
                                                ({"method": "mc_dropout", "mc_dropout_samples": 0}, "mc_dropout"),
                                                ({"method": "ensemble", "ensemble_size": 0}, "ensemble_size")])
def test_bad_method_config_raises(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigValueError, match=match):
        SNGP(functools.partial(ResidualMLP, width=8, depth=1), num_classes=2, in_shape=(2,), **kwargs)


def test_test_loop_logs_the_same_ood_metrics_as_validation(tmp_path) -> None:
    model, dm, logged = _fit_and_validate("sngp", tmp_path)
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path)
    tested = {k: float(v) for k, v in trainer.test(model, datamodule=dm, verbose=False)[0].items()}
    for key in ("test/accuracy", "test/ece", "test/nll", "ood_held_out/auroc", "ood_held_out/aupr_ds"):
        assert tested[key] == pytest.approx(logged[key], abs=1e-6), key
